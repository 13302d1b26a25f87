package gopresence

// The engine's numbers for `kamcmd presence.status` and Kamailio's statistics (module/stats.c
// asks with the `_status` command): held state by event and subscription state, the database
// writer's queue and the time its transactions take.

import (
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gopresence/gopresence/db"
)

// timedBackend measures every transaction of the backend it wraps (the writer's only path to
// the database), so the engine can say how long its database takes.
type timedBackend struct {
	db.Backend
	last, total, count atomic.Int64 // microseconds, transactions
}

func (t *timedBackend) Apply(ops []db.Op) error {
	t0 := time.Now()
	err := t.Backend.Apply(ops)
	us := time.Since(t0).Microseconds()
	t.last.Store(us)
	t.total.Add(us)
	t.count.Add(1)
	return err
}

// rpcStatus is one row of name=value integers: presentities, publications, subscriptions in
// total, by state (subscriptions_<state>) and by event (subscriptions_event_<event>), the ops
// waiting for a commit, the database's last and mean transaction time in microseconds, and the
// changes made again after a conflict.
func (e *Engine) rpcStatus() *answer {
	var pres, pubs, subs int
	byState := map[string]int{}
	byEvent := map[string]int{}
	for _, sh := range e.shards.s {
		sh.mu.Lock()
		pres += len(sh.pres)
		for _, p := range sh.pres {
			pubs += len(p.pubs)
		}
		for k, list := range sh.subs {
			subs += len(list)
			byEvent[k.event] += len(list)
			for _, s := range list {
				byState[statusNames[s.Status]]++
			}
		}
		sh.mu.Unlock()
	}
	num := func(name string, v int64) rpcField { return rpcField{name, strconv.FormatInt(v, 10), true} }
	row := []rpcField{num("up", 1), num("uptime", e.now().Unix()-e.startTime),
		num("presentities", int64(pres)), num("publications", int64(pubs)),
		num("subscriptions", int64(subs))}
	for _, st := range []int{StatusActive, StatusPending, StatusTerminated, StatusWaiting} {
		row = append(row, num("subscriptions_"+statusNames[st], int64(byState[statusNames[st]])))
	}
	evs := make([]string, 0, len(byEvent))
	for ev := range byEvent {
		evs = append(evs, ev)
	}
	sort.Strings(evs)
	for _, ev := range evs {
		row = append(row, num("subscriptions_event_"+ev, int64(byEvent[ev])))
	}
	row = append(row, num("db_queue", int64(e.writer.Queued())))
	if t := e.dbTime; t != nil {
		mean := int64(0)
		if n := t.count.Load(); n > 0 {
			mean = t.total.Load() / n
		}
		row = append(row, num("db_last_us", t.last.Load()), num("db_mean_us", mean),
			num("db_transactions", t.count.Load()))
	}
	// the shared mode's changes made again after a conflict with another node's (shared.go):
	// frequent on Galera under concurrent load, rare on one server
	row = append(row, num("conflicts_retried", e.conflictRetries.Load()))
	a := reply(200, "OK", "")
	a.rows = [][]rpcField{row}
	return a
}
