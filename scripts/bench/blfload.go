package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ---------------------------------------------------------------- BLF-shaped load

// The blfload section: what a BLF deployment does all day, on the dialog event through Debian's
// presence_dialoginfo on both targets (a phone's BLF key subscribes to dialog; both targets run
// it, see the blf section). W watchers (phones) with K keys each: watcher w watches presentities
// (w·K + j) mod W, j < K, so that each of the W presentities is watched by K watchers. Each
// subscription is refreshed every BENCH_BLFLOAD_REFRESH s, the refreshes spread evenly over
// that period; PUBLISHes (a modify of each presentity's publication, round robin) come at
// BENCH_BLFLOAD_PUBLISH_RATE per second, evenly spaced. The bench's Go user agent (sip.go)
// sends everything, from one UDP socket, and answers every NOTIFY.

// blfKey is the presentity of watcher w's key j.
func blfKey(w, j, keys, presentities int) int { return (w*keys + j) % presentities }

// loadEvent is one request of the load: a refresh of subscription idx, or a PUBLISH to
// presentity idx, at offset at from the start.
type loadEvent struct {
	at      time.Duration
	publish bool
	idx     int
}

// loadSchedule is every request of a load of length d, in time order: subscription i of n
// refreshed at i·period/n + r·period (r = 0, 1, …), PUBLISH j at j/rate to presentity j mod p.
func loadSchedule(n int, period time.Duration, p, rate int, d time.Duration) []loadEvent {
	var ev []loadEvent
	for i := 0; i < n; i++ {
		for at := time.Duration(int64(period) * int64(i) / int64(n)); at < d; at += period {
			ev = append(ev, loadEvent{at: at, idx: i})
		}
	}
	for j := 0; ; j++ {
		at := time.Duration(int64(time.Second) * int64(j) / int64(rate))
		if at >= d {
			break
		}
		ev = append(ev, loadEvent{at: at, publish: true, idx: j % p})
	}
	sort.SliceStable(ev, func(a, b int) bool { return ev[a].at < ev[b].at })
	return ev
}

func blfLoadSection() {
	W, K := conf.loadWatchers, conf.loadKeys
	label := fmt.Sprintf("BLF-shaped load (event dialog, presence_dialoginfo; %d watchers × %d keys = %d subscriptions on %d presentities, each watched by %d; "+
		"each refreshed every %d s, %d PUBLISH/s; %d s; children=%d)", W, K, W*K, W, K, conf.loadRefresh, conf.loadPublishRate, conf.loadSec, conf.loadChildren)
	rows := map[string]*row{
		"cpuSec": b.add(label+": Kamailio CPU s per second of load (all processes)", "lower"),
		"cpuK":   b.add("BLF-shaped load: Kamailio CPU s per 1,000 requests (SUBSCRIBE refreshes + PUBLISHes)", "lower"),
		"fail":   b.add("BLF-shaped load: failed transactions + NOTIFYs missing (0 to pass)", "lower"),
	}
	rows["fail"].noRatio = true // a count to be 0, not a cost
	for _, t := range targets() {
		blfLoadRun(t, rows)
	}
	for _, r := range rows {
		brokenCells(r)
	}
}

func blfLoadRun(target string, rows map[string]*row) {
	W, K := conf.loadWatchers, conf.loadKeys
	P, S := W, W*K
	set := func(v val) {
		for _, r := range rows {
			r.cells[target] = v
		}
	}
	logf("blfload: %s, %d presentities, %d subscriptions", target, P, S)
	dir := filepath.Join(conf.work, "blfload", target)
	k, c, stop := startWithUA(target, conf.loadChildren, dir, "BLF-shaped load", set, blfFan.companions...)
	if k == nil {
		return
	}
	defer stop()
	ledger := newNotifyLedger()
	c.onNotify = func(m sipMsg) { ledger.received(m.headers["call-id"], m.headers["cseq"]) }
	logOff := k.LogSize()
	var (
		mu   sync.Mutex
		whys kinds
	)
	fail := func(what string, err error, m sipMsg) {
		why := what + ": "
		if err != nil {
			why += err.Error()
		} else {
			why += fmt.Sprintf("%d %s", m.code, m.reason)
		}
		mu.Lock()
		whys.add(why, why)
		mu.Unlock()
	}
	// paced runs n calls of fn at conf.loadSubRate per second and waits for them
	paced := func(n int, fn func(i int)) {
		var wg sync.WaitGroup
		start := time.Now()
		for i := 0; i < n; i++ {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(conf.loadSubRate))))
			wg.Add(1)
			go func(i int) { defer wg.Done(); fn(i) }(i)
		}
		wg.Wait()
	}
	pres := func(p int) string { return fmt.Sprintf("bl%d", p) }
	etags := make([]string, P)
	pubMu := make([]sync.Mutex, P) // one PUBLISH at a time per presentity: each modifies the last
	pubs := make([]int, P)         // modify PUBLISHes sent, by presentity
	t0 := time.Now()
	var setupFailed, pubFailed atomic.Int64
	paced(P, func(p int) {
		m, _, err := c.publish(pres(p), blfFan, "", blfFan.body(pres(p), "confirmed"), 3600, latencyWait)
		if err != nil || m.code != 200 || m.headers["sip-etag"] == "" {
			setupFailed.Add(1)
			pubFailed.Add(1)
			fail("initial PUBLISH", err, m)
			return
		}
		etags[p] = m.headers["sip-etag"]
	})
	dialogs := make([]*dialog, S)
	watchers := make([][]string, P) // presentity → the Call-IDs of its subscriptions that stand
	var wmu sync.Mutex
	paced(S, func(i int) {
		w, j := i/K, i%K
		p := blfKey(w, j, K, P)
		d := newDialog(fmt.Sprintf("bw%d", w), "sip:"+pres(p)+"@127.0.0.1", blfFan)
		if m, _, err := c.establish(d, 600, latencyWait); err != nil {
			setupFailed.Add(1)
			fail("initial SUBSCRIBE", err, m)
			return
		}
		dialogs[i] = d
		wmu.Lock()
		watchers[p] = append(watchers[p], d.callID)
		wmu.Unlock()
	})
	held := 0
	for _, d := range dialogs {
		if d != nil {
			held++
		}
	}
	// the initial NOTIFYs: one per subscription that stands, or no more coming for 3 s
	waitNotifies := func(want int64, max time.Duration) {
		last, since := int64(-1), time.Now()
		for end := time.Now().Add(max); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			n := ledger.distinct()
			if n >= want {
				return
			}
			if n != last {
				last, since = n, time.Now()
			} else if time.Since(since) > 3*time.Second {
				return
			}
		}
	}
	waitNotifies(int64(held), 60*time.Second)
	logf("  %-5s set up in %.1f s: %d publications, %d of %d subscriptions, %d initial NOTIFYs",
		target, time.Since(t0).Seconds(), P-int(pubFailed.Load()), held, S, ledger.distinct())
	if held == 0 {
		b.note("%s, BLF-shaped load: no subscription could be set up: %s; %s", target,
			strings.Join(whys.top(3, " ", "… and %d other kinds"), " | "), kamLog(k, logOff))
		set(textVal("no subscription"))
		return
	}
	setupWhys := whys.top(3, " ", "… and %d other kinds")
	whys = kinds{}

	// the load
	time.Sleep(time.Second)
	load := time.Duration(conf.loadSec) * time.Second
	events := loadSchedule(S, time.Duration(conf.loadRefresh)*time.Second, P, conf.loadPublishRate, load)
	n0 := ledger.distinct()
	ledger.start()
	var expected, txFailed, sent atomic.Int64
	var wg sync.WaitGroup
	cpu0 := k.CPU()
	start := time.Now()
	for _, ev := range events {
		time.Sleep(time.Until(start.Add(ev.at)))
		d := (*dialog)(nil)
		if !ev.publish {
			if d = dialogs[ev.idx]; d == nil {
				continue // its initial SUBSCRIBE failed (counted in the setup)
			}
		}
		sent.Add(1)
		wg.Add(1)
		go func(ev loadEvent, d *dialog) {
			defer wg.Done()
			if !ev.publish {
				m, err := c.refresh(d, 600, latencyWait)
				if err != nil || m.code/100 != 2 {
					txFailed.Add(1)
					fail("refresh", err, m)
					return
				}
				expected.Add(1)
				ledger.expect(d.callID)
				return
			}
			p := ev.idx
			pubMu[p].Lock()
			defer pubMu[p].Unlock()
			if etags[p] == "" {
				txFailed.Add(1)
				fail("PUBLISH", fmt.Errorf("no publication to modify (its initial PUBLISH failed)"), sipMsg{})
				return
			}
			// never "terminated": stock then drops the publication (next modify: 412)
			// and a body unlike the last, so that no target may skip the NOTIFYs as a no-op
			pubs[p]++
			word := []string{"confirmed", "early"}[pubs[p]%2]
			m, _, err := c.publish(pres(p), blfFan, etags[p], blfFan.body(pres(p), word), 3600, latencyWait)
			if err != nil || m.code != 200 || m.headers["sip-etag"] == "" {
				txFailed.Add(1)
				fail("modify PUBLISH", err, m)
				return
			}
			etags[p] = m.headers["sip-etag"]
			wmu.Lock()
			expected.Add(int64(len(watchers[p])))
			for _, id := range watchers[p] {
				ledger.expect(id)
			}
			wmu.Unlock()
		}(ev, d)
	}
	wg.Wait()
	waitNotifies(n0+expected.Load(), 30*time.Second)
	took := time.Since(start)
	cpu := k.CPU() - cpu0
	exp, received, missing, extra, resent := ledger.tally()
	failures := txFailed.Load() + int64(missing)
	logf("  %-5s %d requests in %.1f s (load %d s): %.2f CPU s (%.3f per s, %.3f per 1,000 requests); %d failed, NOTIFYs %d of %d expected (and %d resent copies)",
		target, sent.Load(), took.Seconds(), conf.loadSec, cpu, cpu/float64(conf.loadSec), cpu*1000/float64(sent.Load()),
		txFailed.Load(), received, exp, resent)
	if setupFailed.Load() > 0 {
		b.note("%s, BLF-shaped load: %d requests of the set-up failed (the load ran on the %d subscriptions that stood): %s",
			target, setupFailed.Load(), held, strings.Join(setupWhys, " | "))
	}
	if failures > 0 || extra > 0 {
		b.note("%s, BLF-shaped load: %d of %d transactions failed; NOTIFYs: %d expected (one per refresh answered 2xx, one per watcher of a presentity whose PUBLISH was answered 200), %d received (and %d resent copies); %d missing, %d more than expected, counted per subscription: %s; %s",
			target, txFailed.Load(), sent.Load(), exp, received, resent, missing, extra,
			strings.Join(whys.top(3, " ", "… and %d other kinds"), " | "), kamLog(k, logOff))
	}
	mark := func(v val) val {
		if failures > 0 || setupFailed.Load() > 0 {
			v.txt += " (!)"
		}
		return v
	}
	rows["cpuSec"].cells[target] = mark(num(cpu/float64(conf.loadSec), "%.3f"))
	rows["cpuK"].cells[target] = mark(num(cpu*1000/float64(sent.Load()), "%.2f"))
	f := num(float64(failures), "%.0f")
	if setupFailed.Load() > 0 {
		f.txt += fmt.Sprintf(" (+%d in the set-up)", setupFailed.Load())
	}
	rows["fail"].cells[target] = f
}

// notifyLedger counts, per subscription (Call-ID), the NOTIFYs the load expects and those
// received once it started, each NOTIFY once (by Call-ID and CSeq: a copy tm resent because
// our 200 came late is not another NOTIFY). Per subscription, so that a NOTIFY too many on one
// does not hide one missing on another.
type notifyLedger struct {
	mu       sync.Mutex
	counting bool
	seen     map[string]bool // "Call-ID CSeq" of every NOTIFY received
	exp, got map[string]int
	resent   int
}

func newNotifyLedger() *notifyLedger {
	return &notifyLedger{seen: map[string]bool{}, exp: map[string]int{}, got: map[string]int{}}
}

func (l *notifyLedger) received(callID, cseq string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := callID + " " + cseq
	if l.seen[key] {
		l.resent++
		return
	}
	l.seen[key] = true
	if l.counting {
		l.got[callID]++
	}
}

// start: NOTIFYs from now on count against what is expected.
func (l *notifyLedger) start() { l.mu.Lock(); l.counting = true; l.mu.Unlock() }

func (l *notifyLedger) expect(callID string) { l.mu.Lock(); l.exp[callID]++; l.mu.Unlock() }

// distinct is the number of distinct NOTIFYs received so far, counting or not.
func (l *notifyLedger) distinct() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.seen))
}

// tally: NOTIFYs expected and received since start, the sum over subscriptions of those
// missing and of those beyond what was expected, and the resent copies.
func (l *notifyLedger) tally() (expected, received, missing, extra, resent int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, n := range l.exp {
		expected += n
		if g := l.got[id]; g < n {
			missing += n - g
		}
	}
	for id, g := range l.got {
		received += g
		if n := l.exp[id]; g > n {
			extra += g - n
		}
	}
	return expected, received, missing, extra, l.resent
}
