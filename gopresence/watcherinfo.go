package gopresence

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"strconv"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/sip"
)

// Watcher information (RFC 3857, format RFC 3858) for an event a C module registered as
// "<event>.winfo" (presence_xml's presence.winfo): the document is the engine's, built from the
// subscriptions it holds, as stock's notify.c builds it (create_winfo_xml): a full list when a
// winfo subscription starts or refreshes and when a watcher leaves, one watcher (partial) when
// a watcher subscribes or refreshes; the version counts the winfo subscription's NOTIFYs.

// watchedEvent is the event whose watchers a watcher-info package lists ("" if pkg is none).
func watchedEvent(pkg events.Package) string {
	if me, ok := pkg.(events.ModuleEvent); ok {
		return me.Watches()
	}
	return ""
}

var statusNames = map[int]string{StatusActive: "active", StatusPending: "pending",
	StatusTerminated: "terminated", StatusWaiting: "waiting"}

// winfoBody is the next NOTIFY body of winfo subscription w (its version is the one the NOTIFY
// about to be built will carry): partial with only changed, or full. Caller holds sh.mu.
func (e *Engine) winfoBody(sh *shard, w *subscription, watched string, changed *subscription, now int64) []byte {
	var b bytes.Buffer
	state := "full"
	if changed != nil {
		state = "partial"
	}
	b.WriteString(`<?xml version="1.0"?>` + "\n")
	b.WriteString(`<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="` +
		strconv.FormatInt(w.Version+1, 10) + `" state="` + state + `">` + "\n")
	b.WriteString(`  <watcher-list resource="` + xmlEscape(w.PresentityURI) + `" package="` + xmlEscape(watched) + `">` + "\n")
	listed := map[string]bool{}
	item := func(id, status, uri string) {
		b.WriteString(`    <watcher id="` + xmlEscape(id) + `" event="subscribe" status="` + status + `">` +
			xmlEscape(uri) + "</watcher>\n")
	}
	if changed != nil {
		item(changed.CallID, statusNames[changed.Status], sip.AOR(changed.WatcherUsername, changed.WatcherDomain))
	} else {
		key := presentityKey{uri: w.PresentityURI, event: watched}
		for _, s := range sh.subs[key] {
			if s.Expires <= now {
				continue
			}
			uri := sip.AOR(s.WatcherUsername, s.WatcherDomain)
			listed[uri] = true
			item(s.CallID, statusNames[s.Status], uri)
		}
		// pending verdicts without a subscription are watchers waiting for a decision
		// (stock add_waiting_watchers; the id is made from the URI there too)
		for _, a := range sh.auth[key] {
			uri := sip.AOR(a.WatcherUsername, a.WatcherDomain)
			if a.Status == StatusPending && !listed[uri] {
				item(base64.StdEncoding.EncodeToString([]byte(uri)), "waiting", uri)
			}
		}
	}
	b.WriteString("  </watcher-list>\n</watcherinfo>\n")
	return b.Bytes()
}

// winfoNotifies tells every watcher-info subscriber of key's presentity that s subscribed or
// refreshed (partial) or that a watcher left (s nil: full). Caller holds sh.mu (the shard of
// the presentity holds all its events).
func (e *Engine) winfoNotifies(sh *shard, key presentityKey, s *subscription, now int64) []notifyReq {
	var out []notifyReq
	for _, w := range sh.subs[presentityKey{uri: key.uri, event: key.event + ".winfo"}] {
		if watchedEvent(w.pkg()) != key.event || w.Status != StatusActive || w.Expires <= now {
			continue
		}
		body := e.winfoBody(sh, w, key.event, s, now)
		out = append(out, e.buildNotify(w, notifyState{status: StatusActive, expires: w.Expires - now}, body))
	}
	return out
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
