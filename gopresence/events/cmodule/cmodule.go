// Package cmodule serves the events that Kamailio C modules register through bind_presence's
// add_event: their names, content types and default expiry come from the module (the C side
// hands them to the engine at start), their callbacks run in C. See events.ModuleEvent.
package cmodule

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// Event is one C module's event.
type Event struct {
	name, contentType string
	expires           uint32
	aggregates        bool
	winfo             bool // a watcher-info event ("presence.winfo"): its state is the engine's
	keepETag          bool // etag_not_new: a refresh or modify keeps the publication's entity-tag
	authorizes        bool // req_auth: the module's rules decide each watcher
}

// Parse reads the engine configuration's description of one event, as module/event_list.c
// writes it: name, content type, default expires, "agg" or "-", "winfo" or "publ" (stock's
// WINFO_TYPE / PUBL_TYPE), "keep" or "new" (etag_not_new), and "auth" or "open" (req_auth),
// separated by tabs.
func Parse(line string) (Event, error) {
	f := strings.Split(line, "\t")
	if len(f) != 7 || f[0] == "" || f[1] == "" || (f[4] != "winfo" && f[4] != "publ") ||
		(f[5] != "keep" && f[5] != "new") || (f[6] != "auth" && f[6] != "open") {
		return Event{}, fmt.Errorf("module event %q: want name, content type, expires, agg, type, etag, auth", line)
	}
	exp, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		return Event{}, fmt.Errorf("module event %q: default expires: %w", f[0], err)
	}
	return Event{name: f[0], contentType: f[1], expires: uint32(exp), aggregates: f[3] == "agg",
		winfo: f[4] == "winfo", keepETag: f[5] == "keep", authorizes: f[6] == "auth"}, nil
}

func (e Event) Name() string           { return e.name }
func (e Event) ContentType() string    { return e.contentType }
func (e Event) DefaultExpires() uint32 { return e.expires }
func (e Event) Aggregates() bool       { return e.aggregates && !e.winfo }

// KeepsETag: the module set etag_not_new (presence_xml's dialog;sla): a refresh or a modify
// answers with the publication's entity-tag unchanged (stock presentity.c:1126).
func (e Event) KeepsETag() bool { return e.keepETag }

// Authorizes: the module's rules decide each watcher (req_auth); a new subscription must come
// with their verdict.
func (e Event) Authorizes() bool { return e.authorizes }

// Watches names the event whose watchers a watcher-info event lists ("presence" for
// "presence.winfo"); "" for other events.
func (e Event) Watches() string {
	if !e.winfo {
		return ""
	}
	return strings.TrimSuffix(e.name, ".winfo")
}

// Validate accepts every body: the C module's own check (evs_publ_handl) ran in the worker.
func (Event) Validate([]byte) error { return nil }

// NotifyBody: without agg_nbody stock sends the newest stored body (notify.c get_p_notify_body);
// a publication being removed is no longer the state. With agg_nbody, the bodies go to the C
// side as Parts.
func (e Event) NotifyBody(pubs []events.Publication, offline string) []byte {
	if e.aggregates {
		return Parts(pubs, offline)
	}
	for i := len(pubs) - 1; i >= 0; i-- {
		if pubs[i].ETag != offline {
			return pubs[i].Body
		}
	}
	return nil
}

// Parts encodes the stored bodies, oldest first, for agg_nbody (wire NBodyParts: NBodyPart
// fields and NOffIndex, the index of the publication being removed). nil when there are none:
// stock calls no agg_nbody without a stored body, and the NOTIFY goes without one.
func Parts(pubs []events.Publication, offline string) []byte {
	if len(pubs) == 0 {
		return nil
	}
	var out []byte
	off := -1
	for i, p := range pubs {
		out = wire.AppendField(out, wire.NBodyPart, p.Body)
		if p.ETag == offline && offline != "" {
			off = i
		}
	}
	if off >= 0 {
		out = wire.AppendField(out, wire.NOffIndex, strconv.Itoa(off))
	}
	return out
}
