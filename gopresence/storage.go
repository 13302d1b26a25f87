package gopresence

import (
	"time"

	"github.com/gopresence/gopresence/db"
)

// When a change reaches the database. The engine answers from memory, so the database is for
// restarts (the shared mode, shared.go, is the exception: there the database holds the state): a change that waits for its commit before the reply
// pays a whole SQLite transaction per request, one that is written behind shares it with every
// change of the next db_commit_delay milliseconds.
//
//   - publications: written behind after db_commit_delay ms; 0 writes each before its reply.
//   - subscriptions follow subs_db_mode as in stock: 2 (default, WRITE_BACK) like publications,
//     1 (WRITE_THROUGH) and 3 (DB_ONLY) before the reply, 0 (NO_DB) never.
//
// What a crash of the engine can lose: at most db_commit_delay ms of acknowledged changes
// (stock's WRITE_BACK loses up to db_update_period seconds of subscription changes). A clean
// stop writes everything. Whatever the mode, a request whose worker gave up is never applied:
// write-behind is bounded (db.Writer.MaxQueued), past the bound requests wait for the commit.

func (e *Engine) commitDelay() time.Duration {
	return time.Duration(e.cfg.DBCommitDelay) * time.Millisecond
}

// storePublication writes presentity changes of sh's presentity; deadline is the request's
// (zero for timers). The shared mode writes into the presentity's transaction.
func (e *Engine) storePublication(sh *shard, deadline time.Time, ops ...db.Op) error {
	if sh.tx != nil {
		return sh.applyInTx(ops)
	}
	return <-e.writer.Post(deadline, e.commitDelay(), ops...)
}

// subscriptionsStored: subs_db_mode 0 keeps subscriptions in memory only.
func (e *Engine) subscriptionsStored() bool { return e.cfg.SubsDBMode != 0 }

// storeSubscription writes active_watchers (and watchers) changes of sh's presentity as
// subs_db_mode says.
func (e *Engine) storeSubscription(sh *shard, deadline time.Time, ops ...db.Op) error {
	if sh.tx != nil {
		return sh.applyInTx(ops)
	}
	switch e.cfg.SubsDBMode {
	case 0:
		return nil
	case 2:
		return <-e.writer.Post(deadline, e.commitDelay(), ops...)
	default:
		return <-e.writer.EnqueueBy(deadline, ops...)
	}
}

// logLostWrites: a written-behind change the database refused (nobody waits to be told).
// Memory keeps the state and serves it; the database lacks it until the next change.
func (e *Engine) logLostWrites(err error, ops []db.Op) {
	for _, op := range ops {
		e.logf("err", "database write of %s failed: %v (state kept in memory)", op, err)
	}
}
