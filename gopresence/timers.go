package gopresence

import (
	"github.com/gopresence/gopresence/gopresence/events"
	"strconv"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/wire"
	"github.com/gopresence/gopresence/internal/safego"
)

// StartTimers runs the periodic work stock does on its timers (reference §7.2):
// clean_period → expired publications (watchers notified of the resulting state);
// db_update_period → expired subscriptions (NOTIFY terminated;reason=timeout) and write-back
// of subscription bookkeeping (local CSeq, version). Period <= 0 disables, as in stock.
func (e *Engine) StartTimers() {
	e.every(e.cfg.CleanPeriod, e.expirePublications)
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

func (e *Engine) expirePublications() { e.expireEachShard(e.expireShardPublications) }

// expireEachShard runs expire on every shard in turn and sends the NOTIFYs it returns.
func (e *Engine) expireEachShard(expire func(sh *shard, now int64) []notifyReq) {
	now := e.now().Unix()
	for _, sh := range e.shards.s {
		e.sendEngineNotifies(expire(sh, now))
	}
}

// expireShardPublications removes a shard's expired publications; the NOTIFYs go out after
// its lock is released.
func (e *Engine) expireShardPublications(sh *shard, now int64) (out []notifyReq) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for key, pr := range sh.pres {
		for i := 0; i < len(pr.pubs); {
			pub := pr.pubs[i]
			if pub.Expires <= 0 || pub.Expires > now {
				i++
				continue
			}
			if err := e.storePublication(time.Time{}, db.Op{Kind: db.DeletePresentity, RUID: pub.RUID}); err != nil {
				e.logf("err", "expiring publication %s of %s: %v", pub.ETag, key.uri, err)
				i++
				continue
			}
			_, ofModule := events.Lookup(key.event, nil).(events.ModuleEvent)
			if e.cfg.ForceDelete == 0 && !ofModule {
				// ours render it closed (stock sends no body here: fixed)
				out = append(out, e.notifyWatchers(sh, key, pr, pub.ETag, "", now)...)
			}
			pr.pubs = append(pr.pubs[:i], pr.pubs[i+1:]...)
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

func (e *Engine) expireSubscriptions() { e.expireEachShard(e.expireShardSubscriptions) }

// expireShardSubscriptions ends a shard's expired subscriptions (NOTIFY terminated;timeout).
func (e *Engine) expireShardSubscriptions(sh *shard, now int64) (out []notifyReq) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
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
	if err := e.storeSubscription(time.Time{}, ops...); err != nil {
		e.logf("err", "removing expired subscriptions: %v", err)
	}
	return out
}

// writeBack stores the local CSeq and version of subscriptions that sent NOTIFYs, so that
// after a restart NOTIFY CSeqs keep growing (RFC 3261 §12.2.1.1).
func (e *Engine) writeBack() {
	if !e.subscriptionsStored() {
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
	s := e.dialogs.get(dk)
	if s == nil {
		return
	}
	sh := e.shards.of(s.key())
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s.gone {
		return
	}
	if err := e.storeSubscription(time.Time{}, db.Op{Kind: db.DeleteWatcher, Dialog: dk}); err != nil {
		e.logf("err", "removing subscription %s after NOTIFY %d: %v", dk.CallID, code, err)
		return
	}
	e.delSub(sh, s)
	e.logf("info", "NOTIFY in dialog %s got %d: subscription removed", dk.CallID, code)
}
