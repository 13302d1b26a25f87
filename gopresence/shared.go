package gopresence

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/sip"
)

// Several Kamailio nodes on one database: the stock parameters that mean "the database holds
// the state" (subs_db_mode=3, DB_ONLY, with publ_cache=0) make the engine keep nothing between
// requests. Each change of a presentity runs under its lock in the database (db.Shared):
//
//	lockURI:  the shard's lock, a transaction holding the presentity's database lock, and its
//	          rows loaded into the shard (every event: watcher info reads the other events);
//	the change: the same rules as in memory, writing its ops into the transaction;
//	finish:   the local CSeqs and versions of the NOTIFYs built are written, then the commit;
//	          the shard is emptied. NOTIFYs leave only after the commit.
//
// So whichever node a request reaches, it decides on the committed state; two nodes never
// change one presentity at once; each change is notified once, by the node that made it; a
// dialog's CSeq grows across nodes (read and raised under the lock); an expired row is removed
// by the one node whose timer locks it first, which alone sends its NOTIFY. Without the shared
// mode, lockURI is the shard's lock and finish releases it: memory holds the state.

// sharedLockWait bounds the wait for a presentity's lock when nothing else does (timers, RPC).
const sharedLockWait = 10 * time.Second

// sharedMode: the stock parameters that leave the state to the database.
func (c Config) sharedMode() bool { return c.SubsDBMode == 3 && c.PublCache == 0 }

// openShared checks that the backend can be shared when the configuration asks for it.
func (e *Engine) openShared() error {
	if !e.cfg.sharedMode() {
		return nil
	}
	s, ok := e.store.(db.Shared)
	if !ok {
		return fmt.Errorf("subs_db_mode=3 with publ_cache=0 (state in the database, several nodes): db_url %q: %w", e.cfg.DBURL, db.ErrNotShared)
	}
	e.shared = s
	// ETags and RUIDs name the engine by its start second and pid; nodes on other hosts (or in
	// containers, where pids repeat) may share both, so a random number stands for the pid
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return err
	}
	e.pid = int(binary.BigEndian.Uint32(r[:]) >> 1)
	return nil
}

// lockURI takes presentity uri's state for one change (see above). dl is the request's
// deadline (zero: none).
func (e *Engine) lockURI(uri string, dl time.Time) (*shard, error) {
	sh := e.shards.ofURI(uri)
	sh.mu.Lock()
	if e.shared == nil {
		return sh, nil
	}
	if dl.IsZero() {
		dl = time.Now().Add(sharedLockWait)
	}
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	tx, err := e.shared.Lock(ctx, uri)
	if err != nil {
		cancel()
		sh.mu.Unlock()
		return nil, err
	}
	sh.tx, sh.cancel = tx, cancel
	if err := e.load(sh, uri); err != nil {
		e.unlock(sh, false)
		return nil, err
	}
	return sh, nil
}

// applyInTx writes ops into the shard's transaction; the first error is kept for the end of
// the change (a conflict makes the whole change run again).
func (sh *shard) applyInTx(ops []db.Op) error {
	if len(ops) == 0 {
		return nil
	}
	err := sh.tx.Apply(ops)
	if err != nil && sh.txErr == nil {
		sh.txErr = err
	}
	return err
}

// load puts a locked presentity's rows into its (empty) shard.
func (e *Engine) load(sh *shard, uri string) error {
	u, err := sip.ParseURI(uri)
	if err != nil {
		return fmt.Errorf("presentity %q: %w", uri, err)
	}
	rows, err := sh.tx.Load(uri, u.User, u.Host)
	if err != nil {
		return err
	}
	e.hold(rows, 0)
	return nil
}

// unlock ends a change: commit says whether it stands. The shared mode writes the CSeqs of the
// NOTIFYs built under the lock before committing, and empties the shard either way. The error
// is the commit's: then nothing of the change happened.
func (e *Engine) unlock(sh *shard, commit bool) (err error) {
	defer sh.mu.Unlock()
	tx := sh.tx
	if tx == nil {
		return nil
	}
	defer func() {
		sh.tx, sh.txErr = nil, nil
		sh.cancel()
		e.drop(sh)
	}()
	if !commit {
		return tx.Rollback()
	}
	if ops := dirtyOps(sh); len(ops) > 0 {
		if err := tx.Apply(ops); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// drop empties a shard of the shared mode: the next change loads what is committed then.
func (e *Engine) drop(sh *shard) {
	for _, subs := range sh.subs {
		for _, s := range subs {
			e.dialogs.del(s)
			s.gone = true
		}
	}
	clear(sh.pres)
	clear(sh.subs)
	clear(sh.auth)
}

// locked runs one request's change of presentity uri under its lock: a 2xx answer commits
// (when the commit fails, the answer is an error and no NOTIFY leaves), any other answer, or
// a panic, rolls back. A change the database rolled back for a conflict with another node's
// is made again (retryConflicts).
func (e *Engine) locked(uri string, dl time.Time, what string, change func(sh *shard) *answer) *answer {
	return e.retryConflicts(dl, what+" "+uri, func() (*answer, error) {
		return e.lockedOnce(uri, dl, what, change)
	})
}

// retryConflicts runs one change (once) until it is not rolled back for a conflict with
// another node's (db.ErrConflict: a deadlock victim, a Galera certification failure), each
// run on the state committed since. On Galera two nodes changing one presentity at once
// conflict at every commit of the other (row locks are each node's own), so a change is run
// up to conflictTries times, after a random pause (the conflicting nodes would otherwise meet
// again in step) whose bound doubles with each run (conflictPauseFor: under load, while
// every transaction of the presentity takes longer, pauses of a few ms made the nodes meet
// ten times in a row), while its deadline allows; then it gets 503.
func (e *Engine) retryConflicts(dl time.Time, name string, once func() (*answer, error)) *answer {
	for try := 1; ; try++ {
		a, err := once()
		if err == nil {
			return a
		}
		if !errors.Is(err, db.ErrConflict) {
			return e.commitFailed(name, err)
		}
		pause := time.Duration(mrand.Int64N(int64(conflictPauseFor(try))))
		if try == conflictTries || !dl.IsZero() && time.Now().Add(pause).After(dl) {
			e.logf("err", "%s: %v: still conflicting after %d runs", name, err, try)
			return conflictAnswer(name) // logged once, above (commitFailed would log it again)
		}
		e.conflictRetries.Add(1)
		e.logf("info", "%s: %v: made again", name, err)
		time.Sleep(pause)
	}
}

// conflictTries bounds the runs of one change that conflicts with other nodes' changes;
// conflictPause bounds the pause before the second run, and doubles for each later one up to
// conflictPauseMax (the pauses of ten runs add up to 1.3 s at most, 0.6 s on average: within
// the worker's 2 s wait).
const (
	conflictTries    = 10
	conflictPause    = 5 * time.Millisecond
	conflictPauseMax = 320 * time.Millisecond
)

// conflictPauseFor is the bound of the random pause after the try-th run conflicted.
func conflictPauseFor(try int) time.Duration {
	return min(conflictPause<<min(try-1, 16), conflictPauseMax)
}

func (e *Engine) lockedOnce(uri string, dl time.Time, what string, change func(sh *shard) *answer) (*answer, error) {
	sh, err := e.lockURI(uri, dl)
	if err != nil {
		return nil, fmt.Errorf("locking: %w", err)
	}
	ended := false
	defer func() {
		if !ended {
			e.unlock(sh, false)
		}
	}()
	a := change(sh)
	ended = true
	return e.endChangeErr(sh, a, dl)
}

// endChange releases a change's lock: a 2xx answer commits, any other rolls back. When the
// commit fails, or the deadline has passed before it, the answer is an error instead.
func (e *Engine) endChange(sh *shard, a *answer, dl time.Time, what, name string) *answer {
	a, err := e.endChangeErr(sh, a, dl)
	if err != nil {
		return e.commitFailed(what+" "+name, err)
	}
	return a
}

func (e *Engine) endChangeErr(sh *shard, a *answer, dl time.Time) (*answer, error) {
	if err := sh.txErr; err != nil && errors.Is(err, db.ErrConflict) {
		e.unlock(sh, false) // the database rolled it back: the change is made again
		return nil, err
	}
	if a.conflict { // a conflict the change saw other than in its writes (commitFailed)
		e.unlock(sh, false)
		return nil, db.ErrConflict
	}
	commit := a.code < 300
	if commit && sh.tx != nil && !dl.IsZero() && time.Now().After(dl) {
		// the worker has answered 500: the change must not happen (as db.Writer's deadline)
		e.unlock(sh, false)
		return nil, db.ErrDeadline
	}
	if err := e.unlock(sh, commit); err != nil {
		return nil, fmt.Errorf("committing: %w", err)
	}
	return a, nil
}

// hold puts rows read from the database into the state (restore: every live row; the shared
// mode: one presentity's). cseqMargin is added to each subscription's local CSeq.
func (e *Engine) hold(rows db.Rows, cseqMargin int64) (subs int) {
	for i := range rows.Presentities {
		p := &rows.Presentities[i]
		k := presentityKey{uri: sip.AOR(p.Username, p.Domain), event: p.Event}
		sh := e.shards.of(k)
		pr := sh.pres[k]
		if pr == nil {
			pr = &presentity{}
			sh.pres[k] = pr
		}
		pr.pubs = append(pr.pubs, newPublication(p))
	}
	for i := range rows.Watchers {
		w := rows.Watchers[i]
		pkg := events.Lookup(w.Event, nil)
		if pkg == nil {
			e.logf("warn", "subscription %s for unknown event %q skipped", w.CallID, w.Event)
			continue
		}
		s := newSubscription(w, pkg.Name())
		if cseqMargin != 0 {
			s.LocalCSeq += cseqMargin
			s.dirty = true
		}
		e.addSub(e.shards.of(s.key()), s)
		subs++
	}
	for i := range rows.Authorizations {
		a := &rows.Authorizations[i]
		key := presentityKey{uri: a.PresentityURI, event: a.Event}
		e.setAuth(e.shards.of(key), key, watcherID(a.WatcherUsername, a.WatcherDomain), a)
	}
	return subs
}

// lockDialog finds subscription dialog dk and takes its presentity's state; nil when there is
// no such subscription (then nothing is held).
func (e *Engine) lockDialog(dk db.DialogKey, dl time.Time) (*shard, *subscription, error) {
	var uri string
	if e.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedLockWait)
		if !dl.IsZero() {
			ctx, cancel = context.WithDeadline(context.Background(), dl)
		}
		u, err := e.shared.DialogURI(ctx, dk)
		cancel()
		if err != nil || u == "" {
			return nil, nil, err
		}
		uri = u
	} else {
		s := e.dialogs.get(dk)
		if s == nil {
			return nil, nil, nil
		}
		uri = s.PresentityURI
	}
	sh, err := e.lockURI(uri, dl)
	if err != nil {
		return nil, nil, err
	}
	s := e.dialogs.get(dk)
	if s == nil || s.gone || s.PresentityURI != uri {
		e.unlock(sh, false)
		return nil, nil, nil
	}
	return sh, s, nil
}
