package gopresence

import (
	"fmt"
	"github.com/gopresence/gopresence/gopresence/events"
	"strconv"
	"strings"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/sip"
	"github.com/gopresence/gopresence/gopresence/wire"
	"github.com/gopresence/gopresence/gopresence/xmlsafe"
)

// pidPriorityBase: stock's priority is seconds since this date (PRES_PRIORITY_TBASE), so a
// newer publication has a higher priority.
const pidPriorityBase = 1420070400

// handlePublish implements RFC 3903 §6 (the ESC's processing of PUBLISH).
func (e *Engine) handlePublish(f *wire.Frame) *answer {
	if a := malformed(f, "publish"); a != nil {
		return a
	}
	pkg, _, a := eventOf(f)
	if a != nil {
		return a
	}
	ruri, err := sip.ParseURI(f.Str(wire.RURI))
	if err != nil || ruri.Host == "" {
		return badRequest("publish: bad Request-URI " + strconv.Quote(f.Str(wire.RURI)))
	}
	expires, a := e.expiresOf(f, pkg)
	if a != nil {
		return a
	}
	body, _ := f.Get(wire.Body)
	ifMatch, conditional := f.Get(wire.IfMatch)
	etag := strings.TrimSpace(string(ifMatch))
	if !conditional && len(body) == 0 && !f.Has(wire.SetETag) {
		// RFC 3903 §6 step 3: an initial PUBLISH must carry state.
		return reply(400, "Invalid request", "publish: initial PUBLISH without body")
	}
	sender := f.Str(wire.ScriptParam)
	if sender != "" {
		if len(sender) > 254 {
			return badRequest("publish: sender URI longer than 254 characters")
		}
		if _, err := sip.ParseURI(sender); err != nil {
			return badRequest("publish: bad sender URI " + strconv.Quote(sender))
		}
	}
	if len(body) > xmlsafe.MaxBytes {
		return reply(413, "Request Entity Too Large", "publish: body of "+strconv.Itoa(len(body))+" bytes")
	}
	if len(body) > 0 {
		if ct := f.Str(wire.ContentType); ct != "" && !sameMediaType(ct, pkg.ContentType()) {
			a := reply(415, "Unsupported media type", "publish: Content-Type "+ct+" for event "+pkg.Name())
			a.header("Accept", pkg.ContentType())
			return a
		}
		if err := pkg.Validate(body); err != nil {
			a := reply(415, "Unsupported media type", "publish: "+err.Error())
			a.header("Accept", pkg.ContentType())
			return a
		}
	}

	key := presentityKey{uri: ruri.AOR(), event: pkg.Name()}
	return e.locked(key.uri, deadline(f), "publish", func(sh *shard) *answer {
		return e.publishLocked(sh, f, pkg, ruri, key, expires, body, etag, conditional, sender)
	})
}

// publishLocked applies a checked PUBLISH to the presentity's state. Caller holds sh.mu.
func (e *Engine) publishLocked(sh *shard, f *wire.Frame, pkg events.Package, ruri sip.URI, key presentityKey,
	expires uint32, body []byte, etag string, conditional bool, sender string) *answer {
	now := e.now().Unix()
	pr := sh.pres[key]

	// update_presentity (pua_json, kazoo): the calling module names the publication, and
	// republishing under that name replaces it (stock's replace=1), keeping the name
	fixed := f.Str(wire.SetETag)
	if fixed != "" {
		etag, conditional = fixed, pr != nil && pr.find(fixed) >= 0
	}
	if !conditional {
		if fixed == "" {
			etag = e.newETag(0)
		}
		if expires == 0 {
			// A new publication that expires at once holds no state (stock stores it until
			// the next cleanup and notifies: a quirk we do not copy).
			return e.publishOK(0, etag)
		}
		pub := &db.Presentity{
			Username: ruri.User, Domain: ruri.Host, Event: pkg.Name(), ETag: etag,
			Expires: now + int64(expires), ReceivedTime: now, Body: body, Sender: sender,
			Priority: priorityOf(f, now),
			RUID:     fmt.Sprintf("pres-%x-%x-%x", e.startTime, e.pid, e.nextID()),
		}
		if err := e.storePublication(sh, deadline(f), db.Op{Kind: db.InsertPresentity, Presentity: pub}); err != nil {
			return e.commitFailed("publish: storing "+key.uri, err)
		}
		if pr == nil {
			pr = &presentity{}
			sh.pres[key] = pr
		}
		pr.pubs = append(pr.pubs, newPublication(pub))
		a := e.publishOK(expires, etag)
		a.notifs = e.fanOut(e.notifyWatchers(sh, key, pr, "", sender, now))
		return a
	}

	idx := -1
	if pr != nil {
		idx = pr.find(etag)
	}
	if idx < 0 {
		// RFC 3903 §6 step 4: any entity-tag we do not hold gets 412 (stock 5.6.3 answers 500
		// when the tag has no dot: fixed).
		return conditionalFailed("publish: no publication " + strconv.Quote(etag) + " for " + key.uri)
	}
	pub := &pr.pubs[idx]
	if expires == 0 {
		if err := e.storePublication(sh, deadline(f), db.Op{Kind: db.DeletePresentity, RUID: pub.ruid()}); err != nil {
			return e.commitFailed("publish: removing "+key.uri, err)
		}
		a := e.publishOK(0, etag)
		a.notifs = e.fanOut(e.notifyWatchers(sh, key, pr, etag, sender, now)) // rendered offline
		pr.remove(idx)
		if len(pr.pubs) == 0 {
			delete(sh.pres, key)
		}
		return a
	}
	upd := *pub.row(key.event)
	upd.ETag = e.newETag(etagGeneration(etag) + 1)
	if me, ok := pkg.(events.ModuleEvent); fixed != "" || (ok && me.KeepsETag()) {
		upd.ETag = etag // named by the caller, or the module keeps entity-tags (etag_not_new)
	}
	upd.Expires = now + int64(expires)
	upd.ReceivedTime = now
	upd.Priority = priorityOf(f, now)
	if len(body) > 0 {
		upd.Body = body
	}
	if sender != "" {
		upd.Sender = sender
	}
	if err := e.storePublication(sh, deadline(f), db.Op{Kind: db.UpdatePresentity, Presentity: &upd}); err != nil {
		return e.commitFailed("publish: updating "+key.uri, err)
	}
	pr.replace(idx, newPublication(&upd))
	a := e.publishOK(expires, upd.ETag)
	if len(body) > 0 { // a refresh without body changes no state: no NOTIFY (RFC 3903 §4.2)
		a.notifs = e.fanOut(e.notifyWatchers(sh, key, pr, "", sender, now))
	}
	return a
}

// fanOutSplit: above this many NOTIFYs for one change, the engine's C thread sends half of
// them while the worker sends the rest, so a large watcher list goes out twice as fast on two
// cores (not in the shared mode: they would leave before the change is committed). Each dialog's NOTIFYs still carry growing CSeqs, so a watcher keeps the newest state.
const fanOutSplit = 64

func (e *Engine) fanOut(ns []notifyReq) []notifyReq {
	if len(ns) <= fanOutSplit || e.engineNotify == nil || e.shared != nil {
		// (the shared mode sends nothing before the commit: all go with the answer)
		return ns
	}
	half := len(ns) / 2
	e.sendEngineNotifies(ns[half:])
	return ns[:half]
}

// sameURI compares a subscriber's Contact with a sender URI as stock does: byte-equal, or
// case-insensitive with sip_uri_match=1.
func (e *Engine) sameURI(a, b string) bool {
	if e.cfg.SipURIMatch == 1 {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// etagGeneration is the number after the last dot of one of our ETags (0 if none).
func etagGeneration(etag string) int {
	i := strings.LastIndexByte(etag, '.')
	n, err := strconv.Atoi(etag[i+1:])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// publishOK: 200 with Expires (minus expires_offset, so clients refresh early) and SIP-ETag.
func (e *Engine) publishOK(expires uint32, etag string) *answer {
	a := reply(200, "OK", "")
	shown := int64(expires)
	if shown > 0 {
		shown -= int64(e.cfg.ExpiresOffset)
		if shown < 1 {
			shown = 1
		}
	}
	a.header("Expires", strconv.FormatInt(shown, 10))
	a.header("SIP-ETag", etag)
	return a
}

// notifyWatchers builds a NOTIFY for every active subscription of key, except those whose
// Contact is the sender (handle_publish(sender_uri)). Caller holds sh.mu.
func (e *Engine) notifyWatchers(sh *shard, key presentityKey, pr *presentity, offline, sender string, now int64) []notifyReq {
	subs := sh.subs[key]
	if len(subs) == 0 {
		return nil
	}
	var body []byte
	var pkgBodyDone bool
	out := make([]notifyReq, 0, len(subs))
	for _, s := range subs {
		if s.Status != StatusActive || s.Expires <= now {
			continue
		}
		if sender != "" && e.sameURI(s.Contact, sender) {
			continue
		}
		if !pkgBodyDone {
			body = s.pkg().NotifyBody(pr.publications(), offline)
			pkgBodyDone = true
		}
		out = append(out, e.buildNotify(s, notifyState{status: StatusActive, expires: s.Expires - now}, body))
	}
	return out
}
