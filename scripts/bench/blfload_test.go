package main

import (
	"testing"
	"time"
)

// Every presentity is watched by exactly K distinct watchers, and no watcher has a presentity
// on two keys: the load's shape as documented (1,000 watchers × 20 keys; the quick run's 500).
func TestBLFKeysSpread(t *testing.T) {
	for _, c := range []struct{ W, K int }{{1000, 20}, {500, 20}, {40, 4}} {
		watchers := make([]map[int]bool, c.W)
		for w := 0; w < c.W; w++ {
			mine := map[int]bool{}
			for j := 0; j < c.K; j++ {
				p := blfKey(w, j, c.K, c.W)
				if mine[p] {
					t.Fatalf("W=%d K=%d: watcher %d has presentity %d twice", c.W, c.K, w, p)
				}
				mine[p] = true
				if watchers[p] == nil {
					watchers[p] = map[int]bool{}
				}
				watchers[p][w] = true
			}
		}
		for p, ws := range watchers {
			if len(ws) != c.K {
				t.Fatalf("W=%d K=%d: presentity %d has %d watchers, want %d", c.W, c.K, p, len(ws), c.K)
			}
		}
	}
}

// The schedule: each subscription refreshed once per period at its own even offset, PUBLISHes
// at the rate, round robin over the presentities, all in time order within the load.
func TestLoadSchedule(t *testing.T) {
	d := 90 * time.Second
	ev := loadSchedule(20000, 60*time.Second, 1000, 50, d)
	refreshes, publishes := map[int]int{}, map[int]int{}
	var perSecond [90]int
	for i, e := range ev {
		if i > 0 && e.at < ev[i-1].at {
			t.Fatalf("event %d at %v before %v", i, e.at, ev[i-1].at)
		}
		if e.at < 0 || e.at >= d {
			t.Fatalf("event %d at %v outside the load", i, e.at)
		}
		if e.publish {
			publishes[e.idx]++
		} else {
			refreshes[e.idx]++
			perSecond[e.at/time.Second]++
		}
	}
	if len(publishes) != 1000 {
		t.Errorf("PUBLISHes reached %d presentities, want all 1,000", len(publishes))
	}
	total := 0
	for _, n := range publishes {
		total += n
	}
	if total != 50*90 {
		t.Errorf("%d PUBLISHes, want 4,500", total)
	}
	// subscriptions with an offset below 30 s come twice in 90 s, the others once
	if len(refreshes) != 20000 || refreshes[0] != 2 || refreshes[19999] != 1 || refreshes[9999] != 2 || refreshes[10000] != 1 {
		t.Errorf("refreshes: %d subscriptions; #0 %d, #9999 %d, #10000 %d, #19999 %d",
			len(refreshes), refreshes[0], refreshes[9999], refreshes[10000], refreshes[19999])
	}
	for s, n := range perSecond { // 20,000 per 60 s: 333 or 334 each second
		if n < 333 || n > 334 {
			t.Fatalf("second %d: %d refreshes, want 333 or 334", s, n)
		}
	}
}

// The ledger counts per subscription: a resent copy is not another NOTIFY, NOTIFYs before the
// start do not count, and an extra NOTIFY on one subscription does not hide a missing one on
// another.
func TestNotifyLedger(t *testing.T) {
	l := newNotifyLedger()
	l.received("a", "1 NOTIFY") // initial NOTIFYs, before the load
	l.received("b", "1 NOTIFY")
	l.start()
	l.expect("a")
	l.expect("a")
	l.expect("b")
	l.received("a", "2 NOTIFY")
	l.received("a", "2 NOTIFY") // tm resent it
	l.received("b", "2 NOTIFY")
	l.received("b", "3 NOTIFY") // one more than b expects; a still misses one
	exp, got, missing, extra, resent := l.tally()
	if exp != 3 || got != 3 || missing != 1 || extra != 1 || resent != 1 {
		t.Errorf("expected %d received %d missing %d extra %d resent %d; want 3 3 1 1 1", exp, got, missing, extra, resent)
	}
	if n := l.distinct(); n != 5 {
		t.Errorf("distinct %d, want 5", n)
	}
}
