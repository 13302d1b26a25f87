package gopresence

import (
	"fmt"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/sip"
)

// Hard state (RFC 4827 pidf-manipulation, stock update_hard_presentity): a document the
// operator keeps for a presentity (presence_xml's xcap table), applied by
// pres_refresh_watchers / presence.refreshWatchers type 2 as a publication named by the file
// name that never expires (expires -1, as stock stores it), aggregated with the presentity's
// other publications. Applying it again replaces it; applying it when the document is gone
// removes it. Either way every active watcher gets the new state.

// setHardState sets (doc) or removes (nil) the publication named name of key and notifies the
// watchers. Caller holds sh.mu.
func (e *Engine) setHardState(sh *shard, key presentityKey, name string, doc []byte) *answer {
	pkg := events.Lookup(key.event, nil)
	if len(doc) > 0 {
		if err := pkg.Validate(doc); err != nil {
			return reply(500, "Execution failed", "hard state "+name+" of "+key.uri+": "+err.Error())
		}
	}
	u, err := sip.ParseURI(key.uri)
	if err != nil {
		return reply(500, "Bad presentity URI", "")
	}
	now := e.now().Unix()
	pr := sh.pres[key]
	idx := -1
	if pr != nil {
		idx = pr.find(name)
	}
	switch {
	case len(doc) == 0 && idx < 0:
		// nothing held, nothing to remove: the watchers are refreshed all the same
	case len(doc) == 0:
		if err := e.storePublication(sh, time.Time{}, db.Op{Kind: db.DeletePresentity, RUID: pr.pubs[idx].ruid()}); err != nil {
			return e.commitFailed("hard state: removing "+name+" of "+key.uri, err)
		}
		pr.remove(idx)
	case idx >= 0:
		upd := *pr.pubs[idx].row(key.event)
		upd.Body, upd.ReceivedTime, upd.Priority, upd.Expires = doc, now, now-pidPriorityBase, -1
		if err := e.storePublication(sh, time.Time{}, db.Op{Kind: db.UpdatePresentity, Presentity: &upd}); err != nil {
			return e.commitFailed("hard state: updating "+name+" of "+key.uri, err)
		}
		pr.replace(idx, newPublication(&upd))
	default:
		pub := &db.Presentity{Username: u.User, Domain: u.Host, Event: key.event, ETag: name,
			Expires: -1, ReceivedTime: now, Body: doc, Priority: now - pidPriorityBase,
			RUID: fmt.Sprintf("pres-%x-%x-%x", e.startTime, e.pid, e.nextID())}
		if err := e.storePublication(sh, time.Time{}, db.Op{Kind: db.InsertPresentity, Presentity: pub}); err != nil {
			return e.commitFailed("hard state: storing "+name+" of "+key.uri, err)
		}
		if pr == nil {
			pr = &presentity{}
			sh.pres[key] = pr
		}
		pr.pubs = append(pr.pubs, newPublication(pub))
	}
	if pr == nil {
		pr = &presentity{}
	}
	a := reply(200, "OK", "")
	a.notifs = e.notifyWatchers(sh, key, pr, "", "", now)
	if len(pr.pubs) == 0 {
		delete(sh.pres, key)
	}
	return a
}
