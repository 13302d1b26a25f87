package gopresence

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/memdb"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// The shared mode (shared.go): several engines on one database, as several Kamailio nodes on
// one MySQL. Each test runs two (or three) engines on one database of every storage backend.

const sharedParams = "subs_db_mode=3\npubl_cache=0"

// forEachSharedBackend runs a test on every storage backend and on MySQL/MariaDB when there is
// one (mysql_test.go).
func forEachSharedBackend(t *testing.T, test func(t *testing.T, b testBackend)) {
	forEachBackend(t, test)
	if b := mysqlBackend(t); b != nil {
		t.Run(b.name, func(t *testing.T) { test(t, *b) })
	}
}

// nodes starts n engines on one new database in the shared mode, their clocks in step.
func nodes(t *testing.T, b testBackend, n int) ([]*Engine, func(d time.Duration)) {
	t.Helper()
	url := b.newURL(t)
	var es []*Engine
	var clocks []*clock
	for range n {
		e, c := newTestEngine(t, url, sharedParams)
		es = append(es, e)
		clocks = append(clocks, c)
	}
	return es, func(d time.Duration) {
		for _, c := range clocks {
			c.t = c.t.Add(d)
		}
	}
}

func cseqOf(t *testing.T, n map[wire.Tag]string) int {
	t.Helper()
	c, err := strconv.Atoi(n[wire.NCSeq])
	if err != nil {
		t.Fatalf("NOTIFY without CSeq: %v", n)
	}
	return c
}

// A watcher subscribed through one node hears of a PUBLISH on the other; refreshes and the
// un-SUBSCRIBE through the other node are honoured; the dialog's CSeq grows by one per NOTIFY
// whichever node sends it; neither node keeps state between requests.
func TestSharedAcrossNodes(t *testing.T) {
	forEachSharedBackend(t, func(t *testing.T, b testBackend) {
		es, _ := nodes(t, b, 2)
		a, bnode := es[0], es[1]
		r := do(t, bnode, wire.TSubscribe, subscribe("w1", "", "600", 1))
		if r.code != 200 || len(r.notifs) != 1 {
			t.Fatalf("subscribe on B: %+v", r)
		}
		tag, first := r.toTag, cseqOf(t, r.notifs[0])
		r = do(t, a, wire.TPublish, publish("", "60", pidf1))
		if r.code != 200 || len(r.notifs) != 1 || r.notifs[0][wire.NBody] == "" {
			t.Fatalf("publish on A: %d, %d NOTIFYs", r.code, len(r.notifs))
		}
		if c := cseqOf(t, r.notifs[0]); c != first+1 {
			t.Fatalf("A's NOTIFY CSeq %d after B's %d", c, first)
		}
		etag := r.headers["SIP-ETag"]
		// the publication is found by the node that did not take it
		r = do(t, bnode, wire.TPublish, publish(etag, "60", pidf2))
		if r.code != 200 || len(r.notifs) != 1 || cseqOf(t, r.notifs[0]) != first+2 {
			t.Fatalf("modify on B: %d, %d NOTIFYs", r.code, len(r.notifs))
		}
		if got := r.notifs[0][wire.NBody]; !strings.Contains(got, "two") {
			t.Fatalf("B's NOTIFY after its modify: %q", got)
		}
		r = do(t, a, wire.TSubscribe, subscribe("w1", tag, "300", 2))
		if r.code != 200 || len(r.notifs) != 1 || cseqOf(t, r.notifs[0]) != first+3 || !strings.Contains(r.notifs[0][wire.NBody], "two") {
			t.Fatalf("refresh on A: %+v", r)
		}
		if r = do(t, a, wire.TSubscribe, subscribe("w1", tag, "300", 2)); r.code != 500 {
			t.Fatalf("stale CSeq on A after the refresh: %d", r.code)
		}
		r = do(t, bnode, wire.TSubscribe, subscribe("w1", tag, "0", 3))
		if r.code != 200 || len(r.notifs) != 1 || cseqOf(t, r.notifs[0]) != first+4 ||
			subscriptionState(r.notifs[0]) != "terminated;reason=timeout" {
			t.Fatalf("un-SUBSCRIBE on B: %+v", r)
		}
		if r = do(t, a, wire.TSubscribe, subscribe("w1", tag, "300", 4)); r.code != 481 {
			t.Fatalf("refresh of the ended dialog on A: %d", r.code)
		}
		for _, e := range es {
			if s := e.Stats(); s != (Stats{}) {
				t.Fatalf("a node kept state between requests: %+v", s)
			}
		}
	})
}

// A node started after the others serves what they committed.
func TestSharedLateNode(t *testing.T) {
	forEachSharedBackend(t, func(t *testing.T, b testBackend) {
		url := b.newURL(t)
		a, _ := newTestEngine(t, url, sharedParams)
		if r := do(t, a, wire.TPublish, publish("", "60", pidf1)); r.code != 200 {
			t.Fatalf("publish: %d", r.code)
		}
		late, _ := newTestEngine(t, url, sharedParams)
		r := do(t, late, wire.TSubscribe, subscribe("w1", "", "600", 1))
		if r.code != 200 || len(r.notifs) != 1 || !strings.Contains(r.notifs[0][wire.NBody], "one") {
			t.Fatalf("subscribe on the late node: %+v", r)
		}
	})
}

// Every node runs the expiry timers; each expired subscription gets one terminating NOTIFY
// and each expired publication one NOTIFY to its watchers, from whichever node was first.
func TestSharedExpiryOnce(t *testing.T) {
	forEachSharedBackend(t, func(t *testing.T, b testBackend) {
		es, advance := nodes(t, b, 2)
		var sent [2]*[]*wire.Frame
		for i, e := range es {
			sent[i] = engineFrames(t, e)
		}
		const watchers = 5
		for i := range watchers {
			r := do(t, es[i%2], wire.TSubscribe, subscribe(fmt.Sprintf("w%d", i), "", strconv.Itoa(100+i), 1))
			if r.code != 200 {
				t.Fatalf("subscribe %d: %d", i, r.code)
			}
		}
		if r := do(t, es[0], wire.TPublish, publish("", "30", pidf1)); r.code != 200 || len(r.notifs) != watchers {
			t.Fatalf("publish: %d, %d NOTIFYs", r.code, len(r.notifs))
		}
		count := func() (n int) {
			for _, s := range sent {
				for _, f := range *s {
					for _, fl := range f.Fields {
						if fl.Tag == wire.NotifyBegin {
							n++
						}
					}
				}
			}
			return n
		}
		advance(30 * time.Second)
		var wg sync.WaitGroup
		for _, e := range es {
			wg.Add(1)
			go func() { defer wg.Done(); e.expirePublications() }()
		}
		wg.Wait()
		if n := count(); n != watchers {
			t.Fatalf("publication expiry: %d NOTIFYs for %d watchers", n, watchers)
		}
		advance(100 * time.Second)
		for _, e := range es {
			wg.Add(1)
			go func() { defer wg.Done(); e.expireSubscriptions() }()
		}
		wg.Wait()
		if n := count() - watchers; n != watchers {
			t.Fatalf("subscription expiry: %d terminating NOTIFYs for %d watchers", n, watchers)
		}
		for _, e := range es {
			pubs, subs := storedRows(t, e)
			if pubs != 0 || subs != 0 {
				t.Fatalf("rows left after expiry: %d publications, %d subscriptions", pubs, subs)
			}
		}
	})
}

// Concurrent PUBLISHes of one presentity through both nodes: each watcher's NOTIFY CSeqs are
// all distinct, and the NOTIFY with the highest carries the state committed last.
func TestSharedConcurrentPublishes(t *testing.T) {
	forEachSharedBackend(t, func(t *testing.T, b testBackend) {
		es, _ := nodes(t, b, 2)
		r := do(t, es[1], wire.TSubscribe, subscribe("w1", "", "600", 1))
		if r.code != 200 {
			t.Fatalf("subscribe: %d", r.code)
		}
		const each = 20
		var mu sync.Mutex
		bodyAt := map[int]string{}
		var wg sync.WaitGroup
		for i, e := range es {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					note := fmt.Sprintf("n%d-%d", i, j)
					body := `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@ex.com"><tuple id="t` +
						strconv.Itoa(i) + `"><status><basic>open</basic></status><note>` + note + `</note></tuple></presence>`
					r := do(t, e, wire.TPublish, publish("", "60", body))
					if r.code != 200 || len(r.notifs) != 1 {
						t.Errorf("publish %s: %d, %d NOTIFYs", note, r.code, len(r.notifs))
						return
					}
					mu.Lock()
					c := cseqOf(t, r.notifs[0])
					if _, dup := bodyAt[c]; dup {
						t.Errorf("CSeq %d sent twice", c)
					}
					bodyAt[c] = r.notifs[0][wire.NBody]
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(bodyAt) != 2*each {
			t.Fatalf("%d distinct CSeqs for %d PUBLISHes", len(bodyAt), 2*each)
		}
		// the last NOTIFY holds every publication: 40 tuples of the two nodes
		high := 0
		for c := range bodyAt {
			high = max(high, c)
		}
		r = do(t, es[0], wire.TSubscribe, subscribe("w1", r.toTag, "600", 2))
		if r.code != 200 || len(r.notifs) != 1 || cseqOf(t, r.notifs[0]) != high+1 {
			t.Fatalf("refresh after the burst: %+v (highest CSeq %d)", r, high)
		}
		if r.notifs[0][wire.NBody] != bodyAt[high] {
			t.Fatalf("the newest NOTIFY did not carry the committed state:\n%s\nrefresh shows:\n%s", bodyAt[high], r.notifs[0][wire.NBody])
		}
	})
}

// A change that outlives its request's deadline (the worker has answered 500) is rolled back:
// 503, nothing stored, nobody notified.
func TestSharedDeadlineRollsBack(t *testing.T) {
	url := memBackend.newURL(t)
	e, _ := newTestEngine(t, url, sharedParams)
	e.store.(*memdb.DB).FailWith(func(db.Op) error { time.Sleep(300 * time.Millisecond); return nil })
	m := publish("", "60", pidf1)
	m[wire.Deadline] = strconv.FormatInt(time.Now().Add(100*time.Millisecond).UnixMilli(), 10)
	if r := do(t, e, wire.TPublish, m); r.code != 503 || r.headers["Retry-After"] == "" {
		t.Fatalf("a change past its deadline: %d %v", r.code, r.headers)
	}
	e.store.(*memdb.DB).FailWith(nil)
	if pubs, _ := storedRows(t, e); pubs != 0 {
		t.Fatalf("%d publications stored by a request answered 503", pubs)
	}
}

// A change the database rolled back for a conflict with another node's (db.ErrConflict) is made
// again, and stored once; one that keeps conflicting gets 503.
func TestSharedConflictMadeAgain(t *testing.T) {
	url := memBackend.newURL(t)
	e, _ := newTestEngine(t, url, sharedParams)
	store := e.store.(*memdb.DB)
	conflicts := 1
	store.FailWith(func(db.Op) error {
		if conflicts > 0 {
			conflicts--
			return fmt.Errorf("%w: deadlock", db.ErrConflict)
		}
		return nil
	})
	if r := do(t, e, wire.TPublish, publish("", "60", pidf1)); r.code != 200 {
		t.Fatalf("after one conflict: %d", r.code)
	}
	if pubs, _ := storedRows(t, e); pubs != 1 {
		t.Fatalf("%d publications stored after a conflict and a retry", pubs)
	}
	conflicts = conflictTries
	if r := do(t, e, wire.TPublish, publish("", "60", pidf2)); r.code != 503 {
		t.Fatalf("a change that always conflicts: %d", r.code)
	}
	if pubs, _ := storedRows(t, e); pubs != 1 {
		t.Fatalf("%d publications stored after conflicting every time", pubs)
	}
}

// A panic inside a change rolls it back and leaves the presentity's lock free.
func TestSharedPanicRollsBack(t *testing.T) {
	url := memBackend.newURL(t)
	e, _ := newTestEngine(t, url, sharedParams)
	func() {
		defer func() { recover() }()
		e.locked("sip:alice@ex.com", time.Time{}, "test", func(sh *shard) *answer {
			e.storePublication(sh, time.Time{}, db.Op{Kind: db.InsertPresentity, Presentity: &db.Presentity{
				Username: "alice", Domain: "ex.com", Event: "presence", ETag: "y", Expires: 1 << 40, RUID: "r2"}})
			panic("bug")
		})
	}()
	if pubs, _ := storedRows(t, e); pubs != 0 {
		t.Fatalf("%d publications stored: the panicking change must be rolled back", pubs)
	}
	if r := do(t, e, wire.TPublish, publish("", "60", pidf1)); r.code != 200 {
		t.Fatalf("the lock after a panic: %d", r.code)
	}
}

// On Galera a change conflicts at every commit of another node's change of the presentity, so
// a change is made again up to conflictTries times (a request that conflicts nine times in a
// row still gets its 200, in-dialog SUBSCRIBEs too), but never past the request's deadline.
func TestRetryConflicts(t *testing.T) {
	e, _ := newTestEngine(t, memBackend.newURL(t), sharedParams)
	store := e.store.(*memdb.DB)
	var mu sync.Mutex
	conflicts := 0
	conflictNext := func(n int) {
		mu.Lock()
		conflicts = n
		mu.Unlock()
	}
	store.FailWith(func(db.Op) error {
		mu.Lock()
		defer mu.Unlock()
		if conflicts > 0 {
			conflicts--
			return fmt.Errorf("%w: certification failed", db.ErrConflict)
		}
		return nil
	})
	const times = 9 // Galera needs this many (tests/integration/galera_test.go); not conflictTries-1
	r := do(t, e, wire.TSubscribe, subscribe("w1", "", "600", 1))
	if r.code != 200 {
		t.Fatalf("subscribe: %d", r.code)
	}
	conflictNext(times)
	if r := do(t, e, wire.TPublish, publish("", "60", pidf1)); r.code != 200 || len(r.notifs) != 1 {
		t.Fatalf("a PUBLISH that conflicted %d times: %d, %d NOTIFYs", times, r.code, len(r.notifs))
	}
	conflictNext(times)
	if r := do(t, e, wire.TSubscribe, subscribe("w1", r.toTag, "300", 2)); r.code != 200 || len(r.notifs) != 1 {
		t.Fatalf("an in-dialog SUBSCRIBE that conflicted %d times: %d, %d NOTIFYs", times, r.code, len(r.notifs))
	}
	if n := e.conflictRetries.Load(); n != 2*times {
		t.Fatalf("%d changes made again, want %d", n, 2*times)
	}
	// the deadline: a change that conflicts after 30 ms each run, for a worker that stops
	// waiting in 150 ms, is not run conflictTries times (the answer no longer matters: the
	// worker has answered 500)
	runs := 0
	store.FailWith(func(db.Op) error {
		mu.Lock()
		runs++
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		return fmt.Errorf("%w: certification failed", db.ErrConflict)
	})
	p := publish("", "60", pidf2)
	p[wire.Deadline] = strconv.FormatInt(time.Now().Add(150*time.Millisecond).UnixMilli(), 10)
	if r := do(t, e, wire.TPublish, p); r.code < 500 {
		t.Fatalf("a PUBLISH that always conflicts: %d", r.code)
	}
	if runs >= conflictTries {
		t.Fatalf("the conflicting PUBLISH was run %d times, past its deadline", runs)
	}
	// giving up: conflictTries conflicts in a row → 503 with Retry-After 1, said in one err
	// line (each run that is made again is logged at info)
	logs := &captureLog{}
	e.log = logs
	store.FailWith(func(db.Op) error { return fmt.Errorf("%w: certification failed", db.ErrConflict) })
	if r := do(t, e, wire.TPublish, publish("", "60", pidf2)); r.code != 503 || r.headers["Retry-After"] != "1" {
		t.Fatalf("a PUBLISH that always conflicts, no deadline: %d, Retry-After %q", r.code, r.headers["Retry-After"])
	}
	var gaveUp []string
	for _, l := range logs.lines {
		if !strings.HasPrefix(l, "[info] ") {
			gaveUp = append(gaveUp, l)
		}
	}
	if len(gaveUp) != 1 || !strings.HasPrefix(gaveUp[0], "[err] ") || !strings.Contains(gaveUp[0], fmt.Sprintf("after %d runs", conflictTries)) ||
		!strings.HasPrefix(logs.lines[len(logs.lines)-1], "[err] ") {
		t.Fatalf("giving up logged as %q, want one err line", gaveUp)
	}
	store.FailWith(nil)
	if pubs, _ := storedRows(t, e); pubs != 1 {
		t.Fatalf("%d publications stored", pubs)
	}
}

// The pause before a conflicting change's next run doubles from run to run (two nodes that
// conflicted at once under load stop meeting again), within its bound, and all of them fit in
// the worker's 2 s wait.
func TestConflictPauseGrows(t *testing.T) {
	var total time.Duration
	for try := 1; try < conflictTries; try++ {
		p := conflictPauseFor(try)
		if try > 1 && p != min(2*conflictPauseFor(try-1), conflictPauseMax) {
			t.Fatalf("pause bound after run %d: %v, after run %d: %v", try, p, try-1, conflictPauseFor(try-1))
		}
		total += p
	}
	if conflictPauseFor(1) != conflictPause || total >= 2*time.Second {
		t.Fatalf("first bound %v; the bounds add up to %v", conflictPauseFor(1), total)
	}
}
