package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// ---------------------------------------------------------------- 3: held state

func heldSection() {
	P, S, c := conf.heldPres, conf.heldSubs, conf.heldChildren
	label := fmt.Sprintf("held state (%d presentities, %d subscriptions, children=%d)", P, S, c)
	idle := b.add("Kamailio just started, empty DB: VmRSS sum of all processes (MiB)", "lower")
	load := b.add(label+": time to load it over SIP (s)", "lower")
	rss := b.add(label+": VmRSS sum of all processes (MiB)", "lower")
	big := b.add(label+": VmRSS of the biggest process (MiB)", "lower")
	pss := b.add(label+": PSS sum (MiB; shared pages counted once)", "lower")
	stop := b.add("restart with that state: SIGTERM → every process exited (s)", "lower")
	opt := b.add("restart: start → first OPTIONS answered 200 (s)", "lower")
	ref := b.add("restart: start → in-dialog refresh of a held subscription answered 200 (s)", "lower")
	perPres := b.add(label+": PSS sum growth while the presentities were loaded, per presentity (bytes)", "lower")
	perSub := b.add(label+": PSS sum growth while the subscriptions were loaded, per subscription (bytes)", "lower")
	engSub := b.add(label+": engine process VmRSS growth while the subscriptions were loaded, per subscription (bytes; ours only)", "lower")
	rows := map[string]*row{"idle": idle, "load": load, "rss": rss, "big": big, "pss": pss,
		"stop": stop, "opt": opt, "ref": ref, "perPres": perPres, "perSub": perSub, "engSub": engSub}
	for _, t := range targets() {
		heldRun(t, P, S, c, rows)
	}
	for _, r := range rows {
		brokenCells(r)
	}
}

func mib(kb int64) val { return num(float64(kb)/1024, "%.0f") }

func heldRun(target string, P, S, children int, rows map[string]*row) {
	logf("held: %s, %d presentities, %d subscriptions", target, P, S)
	dir := filepath.Join(conf.work, "held", target)
	k := startTargetWith(target, children, dir, conf.heldPkgMB)
	if k == nil {
		return
	}
	defer k.Stop()
	set := func(name string, v val) { rows[name].cells[target] = v }
	failAll := func(why string) { // every row not set yet ("idle" is set first)
		for _, r := range rows {
			if _, ok := r.cells[target]; !ok {
				r.cells[target] = textVal(why)
			}
		}
	}
	fail := func(err error) {
		b.note("%s, held: %v", target, err)
		failAll("failed")
	}
	time.Sleep(time.Second)
	m0 := harness.GroupMem(k.PGID())
	set("idle", mib(m0.RSSSum))

	// load runs one closed-loop loading phase of n calls and reports what failed
	load := func(o harness.SippOptions, n int, noun, done string) (sippStats, bool) {
		timeout := time.Duration(n/50+120) * time.Second // at least 50 calls/s, or the run is pointless
		rate := float64(conf.heldRate)
		if r := heldPace[o.Name]; target != "stock" && r > 0 && r < rate {
			rate = r // stock's pace in this run: see heldPace
			logf("  %-5s %s at stock's %.0f calls/s", target, o.Name, rate)
		}
		o.Calls, o.Rate, o.Limit, o.Timeout = n, rate, conf.heldWindow, timeout
		logOff := k.LogSize()
		s, err := startSipp(k, o)
		if err != nil {
			fail(err)
			return sippStats{}, false
		}
		s.Wait(timeout + time.Minute)
		st := s.stats()
		logf("  %-5s %d/%d %s%s in %.1f s", target, st.success, n, noun, done, s.elapsed().Seconds())
		if target == "stock" && s.elapsed() > 0 {
			heldPace[o.Name] = float64(n) / s.elapsed().Seconds()
		}
		if st.success < n {
			b.note("%s, held: %d of %d %s failed; SIPp: %s; %s", target, n-st.success, n, noun,
				strings.Join(s.errorExcerpt(3), " | "), kamLog(k, logOff))
		}
		return st, true
	}
	t0 := time.Now()
	pst, ok := load(harness.SippOptions{Scenario: "held_publish", Name: "publish"}, P, "PUBLISHes", " answered 200")
	if !ok {
		return
	}
	time.Sleep(3 * time.Second) // commits behind the last reply, transactions freed
	mp := harness.GroupMem(k.PGID())
	dumpSmaps(k, target, "published")
	inf := filepath.Join(dir, "subscriptions.csv")
	if err := writeInjection(inf, P, S); err != nil {
		fail(err)
		return
	}
	sst, ok := load(harness.SippOptions{Scenario: "held_subscribe", Inf: inf, Name: "subscribe"}, S, "subscriptions",
		" (SUBSCRIBE 200, NOTIFY answered)")
	if !ok {
		return
	}
	loadTime := time.Since(t0)
	lv := num(loadTime.Seconds(), "%.0f")
	if pst.success < P || sst.success < S {
		lv.txt += fmt.Sprintf(" (%d+%d held)", pst.success, sst.success)
	}
	set("load", lv)

	// the probe: a subscription of our own, to refresh after the restart
	c, err := newSIPClient(k.Port)
	if err != nil {
		fail(err)
		return
	}
	defer c.close()
	d, resp, err := c.subscribe("sip:h1@127.0.0.1", 3600, 10*time.Second)
	probed := err == nil
	if !probed {
		// the memory of what is held is still worth measuring; only the refresh after the
		// restart needs the probe
		b.note("%s, held: the probe SUBSCRIBE failed: %v (%d %s)", target, err, resp.code, resp.reason)
	}
	time.Sleep(3 * time.Second)
	m1 := harness.GroupMem(k.PGID())
	dumpSmaps(k, target, "held")
	logf("  %-5s %d processes: VmRSS sum %d MiB, biggest %d MiB, PSS sum %d MiB", target, m1.Procs,
		m1.RSSSum/1024, m1.RSSMax/1024, m1.PSSSum/1024)
	set("rss", mib(m1.RSSSum))
	set("big", mib(m1.RSSMax))
	set("pss", mib(m1.PSSSum))
	perItem := func(kb int64, n int) val {
		if n <= 0 {
			return textVal("—")
		}
		return num(float64(kb)*1024/float64(n), "%.0f")
	}
	set("perPres", perItem(mp.PSSSum-m0.PSSSum, pst.success))
	set("perSub", perItem(m1.PSSSum-mp.PSSSum, sst.success))
	if m1.EngineRSS > 0 {
		set("engSub", perItem(m1.EngineRSS-mp.EngineRSS, sst.success))
	} else {
		set("engSub", textVal("no engine"))
	}

	// restart: SIGTERM, start again on the same cfg and DB
	logOff := k.LogSize()
	stopDur, err := k.Term(5 * time.Minute)
	sv := num(stopDur.Seconds(), "%.2f")
	if err != nil {
		b.note("%s, held: %v", target, err)
		sv.txt += " (killed)"
	}
	set("stop", sv)
	if ps := k.Cmd.ProcessState; ps != nil && ps.ExitCode() != 0 { // nil: not reaped even after SIGKILL
		b.note("%s, held: Kamailio exited with %v after SIGTERM; %s", target, k.Cmd.ProcessState,
			kamLog(k, logOff))
	}
	logf("  %-5s stopped in %.2f s; starting again", target, stopDur.Seconds())
	logOff = k.LogSize()
	if err := k.Launch(); err != nil {
		b.note("%s, held: restart: %v", target, err)
		failAll("failed")
		return
	}
	start := k.Started
	if _, err := k.WaitReady(5 * time.Minute); err != nil {
		b.note("%s, held: restart: %v", target, k.startError(err))
		select {
		case <-k.Exited:
			failAll("did not restart")
		default:
			failAll("no answer")
		}
		return
	}
	optDur := time.Since(start)
	set("opt", num(optDur.Seconds(), "%.2f"))
	if !probed {
		set("ref", textVal("no probe"))
		return
	}
	var codes []string
	deadline := time.Now().Add(5 * time.Minute)
	for {
		m, err := c.refresh(d, 3600, 3*time.Second)
		if err == nil && m.code == 200 {
			break
		}
		what := "no answer"
		if err == nil {
			what = fmt.Sprintf("%d %s", m.code, m.reason)
		}
		if len(codes) == 0 || codes[len(codes)-1] != what {
			codes = append(codes, what)
		}
		if time.Now().After(deadline) {
			b.note("%s, held: the in-dialog refresh after the restart never got 200 (%s); %s",
				target, strings.Join(codes, ", "), kamLog(k, logOff))
			set("ref", textVal("never"))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	refDur := time.Since(start)
	set("ref", num(refDur.Seconds(), "%.2f"))
	logf("  %-5s OPTIONS 200 after %.2f s, refresh 200 after %.2f s", target, optDur.Seconds(), refDur.Seconds())
	if len(codes) > 0 {
		b.note("%s, held: before its 200 the refresh after the restart got: %s", target, strings.Join(codes, ", "))
	}
	if lines := k.errorLines(logOff, 4); len(lines) > 0 {
		b.note("%s, held: Kamailio logged during the restart:\n%s", target, strings.Join(lines, "\n"))
	}
}

// dumpSmaps keeps every process's smaps in $BENCH_HELD_SMAPS/<target> (when set), for the
// breakdown of the held state's memory by process and mapping (scripts/bench/smaps.py).
func dumpSmaps(k *kamailio, target, phase string) {
	if conf.heldSmaps == "" {
		return
	}
	if err := harness.DumpSmaps(k.PGID(), filepath.Join(conf.heldSmaps, target), phase); err != nil {
		b.note("%s, held: smaps: %v", target, err)
	}
}

// heldPace is the rate (calls/s) stock loaded each phase at in this run, by SIPp run name; the
// other targets load at most that fast. Each SUBSCRIBE's and NOTIFY's transaction stays in
// Kamailio's shared memory for tm's wait timer after its final reply, and the pages that
// high-water mark touched stay resident: a target loading faster than stock would hold more
// shared memory for it, whatever its state costs (docs/performance.md, Held state).
var heldPace = map[string]float64{}

// writeInjection writes SIPp's injection file: subscription i watches presentity h<i mod P + 1>.
func writeInjection(path string, P, S int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "SEQUENTIAL")
	for i := 0; i < S; i++ {
		fmt.Fprintf(w, "h%d;\n", i%P+1)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ---------------------------------------------------------------- 4: the engine's Go benchmarks

func goBenchSection() {
	args := []string{"test", "-tags", "libsqlite3", "-run", "XXX", "-bench", "."}
	if conf.benchtime != "" {
		args = append(args, "-benchtime", conf.benchtime)
	}
	args = append(args, "./gopresence/")
	logf("gobench: go %s", strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = conf.repo
	cmd.Env = append(os.Environ(), "PATH=/usr/local/go/bin:"+os.Getenv("PATH"), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	goBenchCmd = "go " + strings.Join(args, " ")
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		found = true
		goBenchLines = append(goBenchLines, line)
		r := b.add("engine (go test -bench): "+f[0], "lower")
		r.cells["stock"] = textVal("—")
		r.cells["ours"] = textVal(strings.Join(f[2:], " "))
		fmt.Println("  " + line)
	}
	if err != nil || !found {
		b.note("go test -bench failed (%v):\n%s", err, lastLines(string(out), 15))
	}
}

var (
	goBenchCmd   string
	goBenchLines []string
)

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
