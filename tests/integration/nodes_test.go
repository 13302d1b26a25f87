//go:build integration

package integration

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// Several Kamailio nodes with our module on one database (subs_db_mode=3 with publ_cache=0,
// module/README.md "Several nodes"): the database holds the state, each change is made and
// notified by the node it reached.

// sharedParams are the presence modparams of every node: the stock ones that leave the state to
// the database, and timers every second so that expiry is seen within the test.
func sharedParams() map[string]any {
	return map[string]any{"subs_db_mode": 3, "publ_cache": 0, "db_update_period": 1, "clean_period": 1}
}

// sharedPair starts two nodes of target on one database (db: sqliteDB, a file of the test's;
// mysqlDB, a database of the suite's MariaDB) and returns a way to start more on it.
func sharedPair(t *testing.T, target, db string, o options) (a, b *kamailio, more func() *kamailio) {
	t.Helper()
	if o.presence == nil {
		o.presence = sharedParams()
	}
	if db == sqliteDB {
		if !slices.Contains(selectedDBs(t), db) {
			t.Skipf("GOPRESENCE_DBS=%s: not testing on %s", os.Getenv("GOPRESENCE_DBS"), db)
		}
		o.dbURL = "sqlite:///" + testDir(t) + "/shared.db"
		a = startKamailioOn(t, target, sqliteDB, o)
	} else {
		if target == harness.Stock {
			o.presence["db_table_lock_type"] = 0 // as newKamailioOn: stock's LOCK TABLES fails its NOTIFY on MySQL
		}
		a = startKamailioOn(t, target, mysqlDB, o) // makes the database (and stock's tables)
		o.dbURL = a.DBURL
	}
	more = func() *kamailio { return startKamailioOn(t, target, db, o) }
	return a, more(), more
}

// Two nodes and, later, a third on one database.
func TestSharedNodes(t *testing.T) {
	for _, db := range bothDBs {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			a, b, more := sharedPair(t, harness.Ours, db, options{})
			sharedNodes(t, a, b, more)
			for _, k := range []*kamailio{a, b} {
				k.checkLogClean(t)
			}
		})
	}
}

// sharedNodes drives one watcher's dialog through both nodes, an expiry seen by both nodes'
// timers, and a node started late.
func sharedNodes(t *testing.T, a, b *kamailio, late func() *kamailio) {
	t.Helper()
	w := newUA(t, "shared-w1-"+strconv.Itoa(a.Port))
	if r := w.subscribe(b.Port, 600); !strings.HasPrefix(r.first, "SIP/2.0 200") {
		t.Fatalf("SUBSCRIBE through B: %s", r.first)
	}
	n := w.notify(5 * time.Second)
	c0 := n.cseq(t)
	check := func(what string, n sipMsg, from, cseq int, state, body string) {
		t.Helper()
		if n.from.Port != from || n.cseq(t) != cseq || !sameState(n.headers["subscription-state"], state) || !strings.Contains(n.body, body) {
			t.Fatalf("%s: NOTIFY from port %d CSeq %d %q body %q; want from %d CSeq %d %q with %q",
				what, n.from.Port, n.cseq(t), n.headers["subscription-state"], n.body, from, cseq, state, body)
		}
	}
	check("first NOTIFY", n, b.Port, c0, "active;expires=600", "")

	// a PUBLISH through A reaches the watcher of B within a second, from A
	a.runSipp(t, "publish_initial", "note", "via-a")
	check("NOTIFY of A's PUBLISH", w.notify(time.Second), a.Port, c0+1, "active;expires=600", "<note>via-a</note>")

	// the dialog B made is refreshed through A, and ended through B; CSeqs go on growing
	if r := w.subscribe(a.Port, 300); !strings.HasPrefix(r.first, "SIP/2.0 200") || r.headers["expires"] != "300" {
		t.Fatalf("refresh through A: %s, Expires %q", r.first, r.headers["expires"])
	}
	check("NOTIFY of the refresh through A", w.notify(2*time.Second), a.Port, c0+2, "active;expires=300", "<note>via-a</note>")
	if r := w.subscribe(b.Port, 0); !strings.HasPrefix(r.first, "SIP/2.0 200") {
		t.Fatalf("un-SUBSCRIBE through B: %s", r.first)
	}
	check("NOTIFY of the un-SUBSCRIBE", w.notify(2*time.Second), b.Port, c0+3, "terminated;reason=timeout", "<note>via-a</note>")
	if r := w.subscribe(a.Port, 300); !strings.HasPrefix(r.first, "SIP/2.0 481") {
		t.Fatalf("refresh of the ended dialog through A: %s", r.first)
	}

	// both nodes' timers see the expiry; the watcher gets one terminating NOTIFY
	x := newUA(t, "shared-x-"+strconv.Itoa(a.Port))
	if r := x.subscribe(a.Port, 2); !strings.HasPrefix(r.first, "SIP/2.0 200") {
		t.Fatalf("SUBSCRIBE of the expiring watcher: %s", r.first)
	}
	x1 := x.notify(5 * time.Second).cseq(t)
	end := x.notify(6 * time.Second)
	if end.headers["subscription-state"] != "terminated;reason=timeout" || end.cseq(t) != x1+1 {
		t.Fatalf("expiry NOTIFY: %q CSeq %d", end.headers["subscription-state"], end.cseq(t))
	}
	x.quiet(2500 * time.Millisecond)

	// a node started now serves what the others committed
	c := late()
	y := newUA(t, "shared-y-"+strconv.Itoa(a.Port))
	if r := y.subscribe(c.Port, 60); !strings.HasPrefix(r.first, "SIP/2.0 200") {
		t.Fatalf("SUBSCRIBE through the late node: %s", r.first)
	}
	if n := y.notify(5 * time.Second); !strings.Contains(n.body, "<note>via-a</note>") {
		t.Fatalf("the late node's NOTIFY lacks A's publication: %q", n.body)
	}
	c.checkLogClean(t)
}

// sameState compares Subscription-State values, an expires within a second below the wanted one
// (the second may turn between the request and the NOTIFY).
func sameState(got, want string) bool {
	g, gexp, _ := strings.Cut(got, ";expires=")
	w, wexp, _ := strings.Cut(want, ";expires=")
	if g != w || (gexp == "") != (wexp == "") {
		return false
	}
	if wexp == "" {
		return true
	}
	gn, err1 := strconv.Atoi(gexp)
	wn, err2 := strconv.Atoi(wexp)
	return err1 == nil && err2 == nil && (gn == wn || gn == wn-1)
}

// One node killed (SIGKILL to every process) under load: the other serves every acknowledged
// subscription and publication, whichever node took it; the killed node, started again,
// rejoins with the state in the database.
func TestSharedNodeKilled(t *testing.T) {
	for _, db := range bothDBs {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			a, b, _ := sharedPair(t, harness.Ours, db, options{})
			sharedNodeKilled(t, a, b)
			b.checkLogClean(t)
		})
	}
}

// Side by side with stock on MariaDB (its multi-node setup): 20 watchers subscribed through
// two nodes, one PUBLISH, 20 expiries. Ours: exactly one NOTIFY per watcher for the PUBLISH and
// one terminating NOTIFY per expiry. Stock's counts are logged (its notifiers race on the same
// rows: duplicates and extra terminating NOTIFYs), not asserted.
func TestSharedNodesCounts(t *testing.T) {
	for _, target := range selectedTargets(t) {
		t.Run(target+"-mysql", func(t *testing.T) {
			t.Parallel()
			a, b, _ := sharedPair(t, target, mysqlDB, options{})
			const watchers = 20
			var ws []*ua
			for i := range watchers {
				w := newUA(t, fmt.Sprintf("count-%s-w%d-%d", target, i, a.Port))
				node := []*kamailio{a, b}[i%2]
				if r := w.subscribe(node.Port, 6); !strings.HasPrefix(r.first, "SIP/2.0 200") {
					t.Fatalf("SUBSCRIBE %d: %s", i, r.first)
				}
				ws = append(ws, w)
			}
			time.Sleep(time.Second)
			drain := func() (n, terminated int) {
				for _, w := range ws {
					for {
						select {
						case m := <-w.notifies:
							n++
							if strings.HasPrefix(m.headers["subscription-state"], "terminated") {
								terminated++
							}
							continue
						default:
						}
						break
					}
				}
				return n, terminated
			}
			first, _ := drain()
			p := newUA(t, fmt.Sprintf("count-%s-pub-%d", target, a.Port))
			if r, ok := p.publish(a.Port, "counted", 5*time.Second); !ok || !strings.HasPrefix(r.first, "SIP/2.0 200") {
				t.Fatalf("PUBLISH: %v %s", ok, r.first)
			}
			time.Sleep(2 * time.Second)
			published, _ := drain()
			time.Sleep(8 * time.Second) // Expires 6, timers every second
			_, expired := drain()
			t.Logf("%s, 2 nodes on MariaDB: %d first NOTIFYs, %d NOTIFYs for one PUBLISH, %d terminating NOTIFYs for %d expiries (%d watchers)",
				target, first, published, expired, watchers, watchers)
			if target == harness.Ours && (first != watchers || published != watchers || expired != watchers) {
				t.Fatalf("ours: want %d of each", watchers)
			}
		})
	}
}

func sharedNodeKilled(t *testing.T, a, b *kamailio) {
	t.Helper()
	const watchers = 10
	var ws []*ua
	for i := range watchers {
		w := newUA(t, fmt.Sprintf("kill-w%d-%d", i, a.Port))
		w.resource = fmt.Sprintf("res%d", i)
		node := a
		if i%2 == 1 {
			node = b
		}
		if r := w.subscribe(node.Port, 600); !strings.HasPrefix(r.first, "SIP/2.0 200") {
			t.Fatalf("SUBSCRIBE %d: %s", i, r.first)
		}
		w.notify(5 * time.Second)
		ws = append(ws, w)
	}
	// load through A: one publication after another, each a new tuple; A dies in the middle
	p := newUA(t, fmt.Sprintf("kill-pub-%d", a.Port))
	p.resource = "load"
	var acked []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			note := fmt.Sprintf("n%d", i)
			r, ok := p.publish(a.Port, note, time.Second)
			if !ok {
				return // A is gone
			}
			if strings.HasPrefix(r.first, "SIP/2.0 200") {
				acked = append(acked, note)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(time.Second)
	syscall.Kill(-a.PGID(), syscall.SIGKILL)
	<-done
	t.Logf("%d publications acknowledged by A before the kill", len(acked))
	if len(acked) < 10 {
		t.Fatalf("only %d publications acknowledged before the kill", len(acked))
	}
	// every watcher, the ones A took too, hears of a PUBLISH through B
	for i, w := range ws {
		q := newUA(t, fmt.Sprintf("kill-q%d-%d", i, a.Port))
		q.resource = w.resource
		if r, ok := q.publish(b.Port, "after", 5*time.Second); !ok || !strings.HasPrefix(r.first, "SIP/2.0 200") {
			t.Fatalf("PUBLISH through B after the kill: %v %s", ok, r.first)
		}
		if n := w.notify(2 * time.Second); n.from.Port != b.Port || !strings.Contains(n.body, "<note>after</note>") {
			t.Fatalf("watcher %d after the kill: NOTIFY from %d: %q", i, n.from.Port, n.body)
		}
	}
	// every acknowledged publication is served by B, and by A once restarted
	fetch := func(node *kamailio, name string) string {
		f := newUA(t, name)
		f.resource = "load"
		if r := f.subscribe(node.Port, 0); !strings.HasPrefix(r.first, "SIP/2.0 200") {
			t.Fatalf("fetch %s: %s", name, r.first)
		}
		return f.notify(5 * time.Second).body
	}
	checkAll := func(who, body string) {
		for _, note := range acked {
			if !strings.Contains(body, "<note>"+note+"</note>") {
				t.Fatalf("%s: acknowledged publication %s missing (%d acknowledged)", who, note, len(acked))
			}
		}
	}
	checkAll("B after the kill", fetch(b, fmt.Sprintf("kill-fetch-b-%d", a.Port)))
	a.launch(t)
	checkAll("A restarted", fetch(a, fmt.Sprintf("kill-fetch-a-%d", a.Port)))
}
