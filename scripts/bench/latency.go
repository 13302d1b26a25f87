package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ---------------------------------------------------------------- latency

// The latency section times single requests with the bench's own Go user agent (sip.go), not
// SIPp: it stamps each datagram when it is written to or read from the socket, so a latency
// is the time Kamailio took plus two loopback hops and the client's read loop, to the
// microsecond, and each sample is kept for the distribution plots.

// latencyWait bounds each wait of the section: a final response, a NOTIFY.
const latencyWait = 5 * time.Second

func latencySection() {
	rate, from := latencyRate()
	c := conf.latencyChildren
	label := fmt.Sprintf("new SUBSCRIBE dialogs (presence) at %d/s (%s) for %d s, children=%d", rate, from, conf.latencySec, c)
	rows := map[string]*row{}
	for _, m := range []struct{ key, what string }{{"200", "SUBSCRIBE sent → its 200 received"},
		{"notify", "→ its first NOTIFY received"}} {
		for _, p := range []string{"p50", "p99"} {
			rows[m.key+p] = b.add(fmt.Sprintf("latency, %s: %s, %s (ms)", label, m.what, p), "lower")
		}
	}
	for _, t := range targets() {
		subscribeLatencyRun(t, rate, c, rows)
	}
	w, n := conf.latencyWatchers, conf.latencyPublishes
	plabel := fmt.Sprintf("latency, BLF lamp (dialog, presence_dialoginfo; %d watchers, %d PUBLISHes one at a time; children=%d)", w, n, c)
	for _, m := range []struct{ key, what string }{{"each", "PUBLISH sent → each watcher's NOTIFY received"},
		{"last", fmt.Sprintf("→ the last of the %d NOTIFYs received", w)}} {
		for _, p := range []string{"p50", "p99"} {
			rows[m.key+p] = b.add(fmt.Sprintf("%s: %s, %s (ms)", plabel, m.what, p), "lower")
		}
	}
	for _, t := range targets() {
		publishLatencyRun(t, c, rows)
	}
	for _, r := range rows {
		brokenCells(r)
	}
}

// latencyRate is the rate of new SUBSCRIBE dialogs: half the highest zero-failure rate of
// subscribe cycles that both targets reached in this run's rate section at the section's
// children, else BENCH_LATENCY_RATE; from says which.
func latencyRate() (rate int, from string) {
	best, op, found := 0, "", false
	for _, t := range targets() {
		v, ok := b.best[fmt.Sprintf("subscribe_cycle/%d/%s", conf.latencyChildren, t)]
		if !ok || !v.ok {
			continue
		}
		// "<10": it failed even at the lowest step; half of that step is still below its rate
		if good := int(v.v); !found || good < best || good == best && v.op == "<" {
			best, op, found = good, v.op, true
		}
	}
	if found && best >= 2 {
		return best / 2, fmt.Sprintf("½ of %s%d, the lower zero-failure subscribe cycle rate", op, best)
	}
	return conf.latencyRate, "BENCH_LATENCY_RATE"
}

// pctCells sets row key+"p50" and key+"p99" of target from samples; marked "(!)" when some
// requests failed (then the samples are of those that did not).
func pctCells(rows map[string]*row, key, target string, samples []float64, failed int) {
	for _, p := range []float64{50, 99} {
		r := rows[fmt.Sprintf("%sp%.0f", key, p)]
		if len(samples) == 0 {
			r.cells[target] = textVal("no samples")
			continue
		}
		v := num(percentile(samples, p), "%.2f")
		if failed > 0 {
			v.txt += " (!)"
		}
		r.cells[target] = v
	}
}

// subscribeLatencyRun opens rate new dialogs per second for conf.latencySec on a fresh
// Kamailio: each its own watcher and presentity, as subscribe_cycle does; each is
// un-SUBSCRIBEd once its NOTIFY came, so that what is held stays small.
func subscribeLatencyRun(target string, rate, children int, rows map[string]*row) {
	logf("latency: %s, SUBSCRIBE → 200 and → NOTIFY at %d/s for %d s", target, rate, conf.latencySec)
	dir := filepath.Join(conf.work, "latency", "subscribe-"+target)
	k, c, stop := startWithUA(target, children, dir, "latency", func(v val) {
		for _, r := range rows {
			r.cells[target] = v
		}
	})
	if k == nil {
		return
	}
	defer stop()
	var mu sync.Mutex
	firstNotify := map[string]chan time.Time{} // Call-ID → its first NOTIFY's arrival
	c.onNotify = func(m sipMsg) {
		mu.Lock()
		ch := firstNotify[m.headers["call-id"]]
		mu.Unlock()
		if ch != nil {
			select {
			case ch <- m.at:
			default: // not the first
			}
		}
	}
	logOff := k.LogSize()
	time.Sleep(time.Second) // start-up work done
	n := rate * conf.latencySec
	var (
		wg         sync.WaitGroup
		to200, toN []float64
		whys       kinds
	)
	fail := func(why string) { mu.Lock(); whys.add(why, why); mu.Unlock() }
	start := time.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := newDialog(fmt.Sprintf("lw%d", i), fmt.Sprintf("sip:lp%d@127.0.0.1", i), presenceFan)
			ch := make(chan time.Time, 1)
			mu.Lock()
			firstNotify[d.callID] = ch
			mu.Unlock()
			defer func() { mu.Lock(); delete(firstNotify, d.callID); mu.Unlock() }()
			m, sent, err := c.establish(d, 600, latencyWait)
			if err != nil {
				fail(err.Error())
				return
			}
			select {
			case at := <-ch:
				mu.Lock()
				to200, toN = append(to200, ms(m.at.Sub(sent))), append(toN, ms(at.Sub(sent)))
				mu.Unlock()
			case <-time.After(latencyWait):
				fail("no NOTIFY within 5 s of the 200")
				mu.Lock()
				to200 = append(to200, ms(m.at.Sub(sent)))
				mu.Unlock()
			}
			if m, err := c.refresh(d, 0, latencyWait); err != nil || m.code/100 != 2 {
				fail(fmt.Sprintf("un-SUBSCRIBE: %v %d %s", err, m.code, m.reason))
			}
		}(i)
	}
	wg.Wait()
	failed := n - len(toN)
	logf("  %-5s %d dialogs in %.1f s: 200 p50 %.2f p99 %.2f ms; NOTIFY p50 %.2f p99 %.2f ms; %d failed",
		target, n, time.Since(start).Seconds(), percentile(to200, 50), percentile(to200, 99),
		percentile(toN, 50), percentile(toN, 99), failed)
	if len(whys.order) > 0 {
		b.note("%s, latency of new SUBSCRIBEs at %d/s: %d of %d failed: %s; %s", target, rate, failed, n,
			strings.Join(whys.top(3, " ", "… and %d other kinds"), " | "), kamLog(k, logOff))
	}
	pctCells(rows, "200", target, to200, failed)
	pctCells(rows, "notify", target, toN, failed)
	collected.addSamples(collected.latency, "subscribe", fmt.Sprintf("New SUBSCRIBEs at %d/s: → 200 (solid), → first NOTIFY (dashed)", rate),
		target+": 200", to200)
	collected.addSamples(collected.latency, "subscribe", "", target+": first NOTIFY", toN)
}

// publishLatencyRun: conf.latencyWatchers watchers of one presentity (event dialog), then
// conf.latencyPublishes modify PUBLISHes, each sent once every watcher has the NOTIFY of the
// one before (or after latencyWait), 100 ms apart: the lamp's delay with nothing else going on.
func publishLatencyRun(target string, children int, rows map[string]*row) {
	W, N := conf.latencyWatchers, conf.latencyPublishes
	logf("latency: %s, PUBLISH → NOTIFY to %d watchers, %d PUBLISHes", target, W, N)
	set := func(v val) {
		for _, k := range []string{"eachp50", "eachp99", "lastp50", "lastp99"} {
			rows[k].cells[target] = v
		}
	}
	dir := filepath.Join(conf.work, "latency", "publish-"+target)
	k, c, stop := startWithUA(target, children, dir, "latency", set, blfFan.companions...)
	if k == nil {
		return
	}
	defer stop()
	logOff := k.LogSize()
	failed := func(format string, args ...any) {
		b.note("%s, PUBLISH → NOTIFY latency: %s; %s", target, fmt.Sprintf(format, args...), kamLog(k, logOff))
		set(textVal("failed"))
	}
	var mu sync.Mutex
	var got map[string]time.Time // while a PUBLISH is out: watcher's Call-ID → its NOTIFY's arrival
	all := make(chan struct{}, 1)
	watcher := map[string]bool{}
	c.onNotify = func(m sipMsg) {
		mu.Lock()
		defer mu.Unlock()
		id := m.headers["call-id"]
		if got == nil || !watcher[id] {
			return
		}
		if _, seen := got[id]; !seen {
			got[id] = m.at
			if len(got) == W {
				select {
				case all <- struct{}{}:
				default:
				}
			}
		}
	}
	const pres = "lamp"
	// never "terminated": stock then drops the publication, and its next modify gets 412
	resp, _, err := c.publish(pres, blfFan, "", blfFan.body(pres, "confirmed"), 3600, latencyWait)
	etag := resp.headers["sip-etag"]
	if err != nil || resp.code != 200 || etag == "" {
		failed("initial PUBLISH: %v %d %s", err, resp.code, resp.reason)
		return
	}
	for i := 0; i < W; i++ {
		d := newDialog(fmt.Sprintf("lampw%d", i), "sip:"+pres+"@127.0.0.1", blfFan)
		mu.Lock()
		watcher[d.callID] = true
		mu.Unlock()
		if m, _, err := c.establish(d, 3600, latencyWait); err != nil {
			failed("watcher %d: %v (%d %s)", i, err, m.code, m.reason)
			return
		}
	}
	time.Sleep(500 * time.Millisecond) // the initial NOTIFYs answered
	var each, last []float64
	misses := 0
	for i := 0; i < N; i++ {
		next := time.Now().Add(100 * time.Millisecond)
		mu.Lock()
		got = map[string]time.Time{}
		select { // a token left by a round that timed out as it completed
		case <-all:
		default:
		}
		mu.Unlock()
		word := []string{"early", "confirmed"}[i%2]
		resp, sent, err := c.publish(pres, blfFan, etag, blfFan.body(pres, word), 3600, latencyWait)
		if err != nil || resp.code != 200 || resp.headers["sip-etag"] == "" {
			failed("modify PUBLISH %d: %v %d %s", i+1, err, resp.code, resp.reason)
			return
		}
		etag = resp.headers["sip-etag"]
		select {
		case <-all:
		case <-time.After(latencyWait):
		}
		mu.Lock()
		var ts []float64
		for _, at := range got {
			ts = append(ts, ms(at.Sub(sent)))
		}
		got = nil
		mu.Unlock()
		misses += W - len(ts)
		each = append(each, ts...)
		if len(ts) == W {
			sort.Float64s(ts)
			last = append(last, ts[W-1])
		}
		time.Sleep(time.Until(next))
	}
	logf("  %-5s each watcher p50 %.2f p99 %.2f ms; last of %d p50 %.2f p99 %.2f ms; %d NOTIFYs missing",
		target, percentile(each, 50), percentile(each, 99), W, percentile(last, 50), percentile(last, 99), misses)
	if misses > 0 {
		b.note("%s, PUBLISH → NOTIFY latency: %d of %d NOTIFYs did not come within 5 s; %s", target, misses, N*W, kamLog(k, logOff))
	}
	pctCells(rows, "each", target, each, misses)
	pctCells(rows, "last", target, last, misses)
	title := fmt.Sprintf("BLF lamp, %d watchers: PUBLISH → each NOTIFY (solid), → last (dashed)", W)
	collected.addSamples(collected.latency, "publish", title, target+": each watcher", each)
	collected.addSamples(collected.latency, "publish", title, target+": last of "+fmt.Sprint(W), last)
}
