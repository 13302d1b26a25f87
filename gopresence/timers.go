package gopresence

import (
	"github.com/gopresence/gopresence/gopresence/events"
	"strconv"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/sip"
	"github.com/gopresence/gopresence/gopresence/wire"
	"github.com/gopresence/gopresence/internal/safego"
)

// StartTimers runs the periodic work stock does on its timers (reference §7.2):
// clean_period → expired publications (watchers notified of the resulting state);
// db_update_period → expired subscriptions (NOTIFY terminated;reason=timeout) and write-back
// of subscription bookkeeping (local CSeq, version). Period <= 0 disables, as in stock.
func (e *Engine) StartTimers() {
	e.every(e.cfg.CleanPeriod, e.expirePublications)
	e.every(int(bodyPackEvery/time.Second), e.packIdleBodies)
	e.every(e.cfg.DBUpdatePeriod, func() {
		e.expireSubscriptions()
		e.writeBack()
	})
}

func (e *Engine) every(seconds int, f func()) {
	if seconds <= 0 {
		return
	}
	// a panic in one run is logged and the loop goes on: the next tick runs f again. The
	// timers hold a shard's lock through a deferred unlock, so a panic never leaves it held.
	safego.Go(e.logLine, "timer", func() {
		t := time.NewTicker(time.Duration(seconds) * time.Second)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
				safego.Do(e.logLine, "timer", f)
			}
		}
	})
}

// sendEngineNotifies hands NOTIFYs not caused by a request to the engine's C thread.
func (e *Engine) sendEngineNotifies(ns []notifyReq) {
	if len(ns) == 0 || e.engineNotify == nil {
		return
	}
	const perFrame = 256
	for len(ns) > 0 {
		n := min(perFrame, len(ns))
		b := wire.NewBuilder(wire.TEngineNotify, 0)
		for i := range ns[:n] {
			ns[i].encode(b)
		}
		e.engineNotify(b.Bytes())
		ns = ns[n:]
	}
}

func (e *Engine) expirePublications() {
	e.expireEach(e.expireShardPublications, func(now int64) ([]string, error) {
		due, err := e.shared.DuePublications(now)
		uris := make([]string, len(due))
		for i, u := range due {
			uris[i] = sip.AOR(u[0], u[1])
		}
		return uris, err
	})
}

// expireEach runs expire on every shard in turn (the shared mode: on every presentity due
// says has expired rows, each under its lock) and sends the NOTIFYs it returns once the
// change is committed.
func (e *Engine) expireEach(expire func(sh *shard, now int64) []notifyReq, due func(now int64) ([]string, error)) {
	now := e.now().Unix()
	if e.shared == nil {
		for _, sh := range e.shards.s {
			e.sendEngineNotifies(e.expireLocked(sh, now, expire))
		}
		return
	}
	uris, err := due(now)
	if err != nil {
		e.logf("err", "reading expired rows: %v", err)
		return
	}
	for _, uri := range uris {
		sh, err := e.lockURI(uri, time.Time{})
		if err != nil {
			e.logf("err", "expiring rows of %s: %v", uri, err)
			continue
		}
		out := e.expireLocked(sh, now, expire)
		if err := e.unlock(sh, true); err != nil {
			e.logf("err", "expiring rows of %s: %v", uri, err)
			continue
		}
		e.sendEngineNotifies(out)
	}
}

// expireLocked runs expire on a locked shard; a panic rolls the shared mode's change back.
func (e *Engine) expireLocked(sh *shard, now int64, expire func(sh *shard, now int64) []notifyReq) []notifyReq {
	if sh.tx != nil {
		ok := false
		defer func() {
			if !ok {
				e.unlock(sh, false)
			}
		}()
		out := expire(sh, now)
		ok = true
		return out
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return expire(sh, now)
}

// expireShardPublications removes a shard's expired publications; the NOTIFYs go out after
// its lock is released. Caller holds sh.mu.
func (e *Engine) expireShardPublications(sh *shard, now int64) (out []notifyReq) {
	for key, pr := range sh.pres {
		for i := 0; i < len(pr.pubs); {
			pub := &pr.pubs[i]
			if pub.expires <= 0 || pub.expires > now {
				i++
				continue
			}
			if err := e.storePublication(sh, time.Time{}, db.Op{Kind: db.DeletePresentity, RUID: pub.ruid()}); err != nil {
				e.logf("err", "expiring publication %s of %s: %v", pub.etag(), key.uri, err)
				i++
				continue
			}
			_, ofModule := events.Lookup(key.event, nil).(events.ModuleEvent)
			if e.cfg.ForceDelete == 0 && !ofModule {
				// ours render it closed (stock sends no body here: fixed)
				out = append(out, e.notifyWatchers(sh, key, pr, pub.etag(), "", now)...)
			}
			pr.remove(i)
			if e.cfg.ForceDelete == 0 && ofModule {
				// a C module's bodies without the expired one, as stock's query skips expired
				// rows (none left: a NOTIFY without body)
				out = append(out, e.notifyWatchers(sh, key, pr, "", "", now)...)
			}
		}
		if len(pr.pubs) == 0 {
			delete(sh.pres, key)
		}
	}
	return out
}

func (e *Engine) expireSubscriptions() {
	e.expireEach(e.expireShardSubscriptions, func(now int64) ([]string, error) { return e.shared.DueSubscriptions(now) })
}

// expireShardSubscriptions ends a shard's expired subscriptions (NOTIFY terminated;timeout).
// Caller holds sh.mu.
func (e *Engine) expireShardSubscriptions(sh *shard, now int64) (out []notifyReq) {
	var ops []db.Op
	for _, subs := range sh.subs {
		for _, s := range append([]*subscription(nil), subs...) { // delSub edits the list
			if s.Expires > now {
				continue
			}
			out = append(out, e.buildNotify(s, notifyState{status: StatusTerminated, reason: "timeout"}, e.bodyFor(sh, s)))
			ops = append(ops, db.Op{Kind: db.DeleteWatcher, Dialog: s.dialog()})
			e.delSub(sh, s)
		}
	}
	if err := e.storeSubscription(sh, time.Time{}, ops...); err != nil {
		e.logf("err", "removing expired subscriptions: %v", err)
	}
	return out
}

// writeBack stores the local CSeq and version of subscriptions that sent NOTIFYs, so that
// after a restart NOTIFY CSeqs keep growing (RFC 3261 §12.2.1.1). The shared mode writes them
// with each change (unlock).
func (e *Engine) writeBack() {
	if !e.subscriptionsStored() || e.shared != nil {
		return
	}
	var ops []db.Op
	for _, sh := range e.shards.s {
		ops = append(ops, dirtySubscriptions(sh)...)
	}
	if err := <-e.writer.Enqueue(ops...); err != nil {
		e.logf("err", "writing back %d subscriptions: %v", len(ops), err)
	}
}

// dirtySubscriptions takes the rows of a shard's subscriptions that changed since written.
func dirtySubscriptions(sh *shard) (ops []db.Op) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return dirtyOps(sh)
}

// dirtyOps is dirtySubscriptions for a caller that holds sh.mu.
func dirtyOps(sh *shard) (ops []db.Op) {
	for _, subs := range sh.subs {
		for _, s := range subs {
			if s.dirty {
				w := s.Watcher
				ops = append(ops, db.Op{Kind: db.UpdateWatcher, Watcher: &w})
				s.dirty = false
			}
		}
	}
	return ops
}

// handleNotifyResult applies a NOTIFY's final reply (stock p_tm_callback): 404 or 481 end the
// subscription, 408 too when timeout_rm_subs is set; other failures keep it.
func (e *Engine) handleNotifyResult(f *wire.Frame) {
	code, err := strconv.Atoi(f.Str(wire.ReplyCode))
	if err != nil {
		e.logf("err", "NOTIFY result without a valid code")
		return
	}
	scriptDeletes := f.Str(wire.DeleteSubscription) == "1" // xavp_cfg's delete_subscription
	if code < 300 && !scriptDeletes {
		return
	}
	dk := db.DialogKey{CallID: f.Str(wire.NCallID), ToTag: f.Str(wire.NLocalTag), FromTag: f.Str(wire.NRemoteTag)}
	if !(code == 404 || code == 481 || (code == 408 && e.cfg.TimeoutRmSubs != 0) || scriptDeletes) {
		e.logf("info", "NOTIFY in dialog %s got %d: subscription kept", dk.CallID, code)
		return
	}
	sh, s, err := e.lockDialog(dk, time.Time{})
	if err != nil {
		e.logf("err", "removing subscription %s after NOTIFY %d: %v", dk.CallID, code, err)
		return
	}
	if s == nil {
		return
	}
	if err := e.storeSubscription(sh, time.Time{}, db.Op{Kind: db.DeleteWatcher, Dialog: dk}); err != nil {
		e.unlock(sh, false)
		e.logf("err", "removing subscription %s after NOTIFY %d: %v", dk.CallID, code, err)
		return
	}
	e.delSub(sh, s)
	if err := e.unlock(sh, true); err != nil {
		e.logf("err", "removing subscription %s after NOTIFY %d: %v", dk.CallID, code, err)
		return
	}
	e.logf("info", "NOTIFY in dialog %s got %d: subscription removed", dk.CallID, code)
}
