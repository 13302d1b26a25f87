// Command bench runs the same SIPp load against Kamailio 5.6.3 with Debian's stock presence
// module ("stock") and with gopresence's ("ours"), and prints one table: stock, ours and the
// ratio ours/stock per measurement. It also writes that table into docs/performance.md, between
// its bench:begin/bench:end markers.
// `make bench` (scripts/bench/run) builds and runs it; BENCH_QUICK=1 for a short run.
// What is measured and every BENCH_* variable: docs/performance.md (hand-written prose there).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// val is one cell: a number, or a bound ("≥" the highest rate tried passed, "<" the lowest
// failed), or text only.
type val struct {
	v   float64
	op  string // "", "≥", "<"
	txt string
	ok  bool
}

func num(v float64, format string) val { return val{v: v, txt: fmt.Sprintf(format, v), ok: true} }
func textVal(s string) val             { return val{txt: s} }

type row struct {
	metric  string
	cells   map[string]val // target → value
	better  string         // "higher" or "lower": which way is better, for the reader
	noRatio bool           // one measurement shown in both columns (the CPU floor): no ratio
}

type bench struct {
	rows     []*row
	notes    []string
	broken   map[string]string // target → why it cannot start
	started  time.Time
	sections []string       // "rate: 3m10s", ...
	best     map[string]val // "scenario/children/target" → best rate
}

var b = &bench{broken: map[string]string{}, best: map[string]val{}}

func (b *bench) add(metric, better string) *row {
	r := &row{metric: metric, cells: map[string]val{}, better: better}
	b.rows = append(b.rows, r)
	return r
}

func (b *bench) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	b.notes = append(b.notes, s)
	fmt.Println("  note: " + strings.ReplaceAll(s, "\n", "\n        "))
}

func logf(format string, args ...any) {
	fmt.Printf("[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func main() {
	run()
	os.Exit(exitCode)
}

func run() {
	loadConfig()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping every process it started (work directory left: %s)\n", s, conf.work)
		harness.KillAll()
		os.Exit(130)
	}()
	defer harness.KillAll()

	if conf.work == "" {
		d, err := os.MkdirTemp("", "gopresence-bench-")
		if err != nil {
			fatalf("%v", err)
		}
		conf.work = d
	}
	conf.work = mustAbs(conf.work)
	defer func() {
		if conf.keep || len(b.broken) > 0 {
			fmt.Printf("work directory kept (logs, DBs, SIPp files): %s\n", conf.work)
		} else {
			os.RemoveAll(conf.work)
		}
	}()
	if contains(conf.targets, "ours") {
		for _, f := range []string{"presence.so", "libgopresence.so"} {
			if _, err := os.Stat(filepath.Join(conf.modDir, f)); err != nil {
				fatalf("ours: %s/%s is missing (run `make build`, or set BENCH_MODULE_DIR): %v", conf.modDir, f, err)
			}
		}
	}
	for _, bin := range []string{"kamailio", "sipp", "sqlite3"} {
		if _, err := exec.LookPath(bin); err != nil {
			fatalf("%s is not on PATH (scripts/deps.sh installs it)", bin)
		}
	}
	if contains(conf.targets, "ours") {
		snapshotModules()
	}
	b.started = time.Now()
	env := machine()
	logf("gopresence bench: targets %s, quick=%v, work directory %s", strings.Join(conf.targets, ","), conf.quick, conf.work)
	logf("%s", env.oneLine())
	if oursBuild != "" {
		logf("ours: %s", oursBuild)
	}

	section := func(name string, fn func()) {
		if !conf.sections[name] {
			return
		}
		t0 := time.Now()
		fn()
		b.sections = append(b.sections, fmt.Sprintf("%s %s", name, time.Since(t0).Round(time.Second)))
	}
	section("rate", rateSection)
	section("cpu", cpuSection)
	section("fanout", fanoutSection)
	section("latency", latencySection)
	section("blf", blfSection)
	section("blfload", blfLoadSection)
	section("held", heldSection)
	section("mariadb", mariadbSection)
	section("gobench", goBenchSection)

	table := b.table()
	fmt.Println()
	fmt.Println(table)
	total := time.Since(b.started).Round(time.Second)
	fmt.Printf("\ntotal %v (%s)\n", total, strings.Join(b.sections, ", "))
	if conf.doc != "-" {
		if err := writeDoc(conf.doc, conf.out, env, table, total); err != nil {
			fmt.Fprintf(os.Stderr, "bench: writing %s: %v\n", conf.out, err)
			exitCode = 1
		} else {
			fmt.Printf("written to %s\n", conf.out)
		}
	}
	if conf.plotDir != "" {
		files, err := writePlots(conf.plotDir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: plots: %v\n", err)
			exitCode = 1
		}
		if len(files) > 0 {
			fmt.Printf("plots: %s\n", strings.Join(files, ", "))
		}
	}
	if len(b.broken) > 0 {
		for t := range b.broken {
			fmt.Fprintf(os.Stderr, "bench: ERROR: %s Kamailio did not start (see above); its cells say so\n", t)
		}
		exitCode = 1 // the deferred clean-up kills what is left
	}
}

// exitCode is the process's exit status, set by run before its deferred clean-up runs.
var exitCode int

// snapshotModules copies our presence.so and libgopresence.so into the work directory and
// uses that copy for the whole run: the build directory is shared, and a rebuild during the
// run must not mix two builds in one table. oursBuild says what was copied.
func snapshotModules() {
	dst := filepath.Join(conf.work, "modules-ours")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		fatalf("%v", err)
	}
	var newest time.Time
	for _, f := range []string{"presence.so", "libgopresence.so"} {
		data, err := os.ReadFile(filepath.Join(conf.modDir, f))
		if err != nil {
			fatalf("ours: %v", err)
		}
		if st, err := os.Stat(filepath.Join(conf.modDir, f)); err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, 0o755); err != nil {
			fatalf("%v", err)
		}
	}
	oursBuild = fmt.Sprintf("%s, built %s", conf.modDir, newest.UTC().Format("2006-01-02 15:04:05 UTC"))
	if out, err := exec.Command("git", "-C", conf.repo, "rev-parse", "--short", "HEAD").Output(); err == nil {
		oursBuild += "; repository at " + strings.TrimSpace(string(out))
		st, _ := exec.Command("git", "-C", conf.repo, "status", "--porcelain", "--",
			"gopresence", "db", "internal", "cgo", "module", "go.mod", "go.sum").Output()
		if len(strings.TrimSpace(string(st))) > 0 {
			oursBuild += " with uncommitted changes to the engine or module"
		}
	}
	conf.modDir = dst
}

var oursBuild string

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// targets returns the targets still able to start.
func targets() []string {
	var out []string
	for _, t := range conf.targets {
		if _, bad := b.broken[t]; !bad {
			out = append(out, t)
		}
	}
	return out
}

// startTarget starts a fresh Kamailio; a target that fails to start is reported once, clearly,
// and skipped for the rest of the run.
func startTarget(target string, children int, dir string) *kamailio {
	return startTargetWith(target, children, dir, conf.pkgMB)
}

// startTargetWith is startTarget with Kamailio's private memory (-M) set to pkgMB.
func startTargetWith(target string, children int, dir string, pkgMB int, companions ...string) *kamailio {
	k, err := newKamailio(target, children, dir, pkgMB, companions...)
	if err == nil {
		err = k.start()
	}
	if err != nil {
		msg := fmt.Sprintf("ERROR: %s: cannot start: %v", target, err)
		fmt.Fprintln(os.Stderr, "\n"+msg+"\n")
		b.broken[target] = "did not start"
		b.notes = append(b.notes, msg)
		return nil
	}
	return k
}

func brokenCells(r *row) {
	for t, why := range b.broken {
		if _, ok := r.cells[t]; !ok {
			r.cells[t] = textVal(why)
		}
	}
}

var scenarioNames = map[string]string{"publish_cycle": "publish cycles", "subscribe_cycle": "subscribe cycles",
	"dialog_publish_cycle": "BLF publish cycles (presence_dialoginfo)"}

// ---------------------------------------------------------------- 1a: highest zero-failure rate

type stepResult struct {
	rate    int
	ok      bool
	st      sippStats
	elapsed time.Duration
	drops   int64 // datagrams Kamailio's UDP socket dropped (receive buffer full)
	why     string
}

// scenarioCompanions are the modules a scenario's event needs besides presence (on both
// targets): the BLF cycle's dialog event is presence_dialoginfo's.
var scenarioCompanions = map[string][]string{"dialog_publish_cycle": {"presence_dialoginfo"}}

func rateSection() {
	for _, scen := range []string{"publish_cycle", "subscribe_cycle"} {
		for _, c := range conf.children {
			r := b.add(fmt.Sprintf("%s, children=%d: highest rate with 0 failed calls (calls/s; %d s steps)",
				scenarioNames[scen], c, conf.stepSec), "higher")
			for t, v := range rateSearch(scen, c) {
				r.cells[t] = v
				b.best[fmt.Sprintf("%s/%d/%s", scen, c, t)] = v
			}
			brokenCells(r)
		}
	}
}

// search is one target's progress in a stepped search.
type search struct {
	target             string
	lastGood, firstBad int
	bad                stepResult
	done, dead         bool
}

// rateSearch runs the stepped search for every target in lockstep: at each rate, each target
// still passing runs in turn, so that both see the machine in the same state (other work on it
// changes over minutes). Then one refinement step per target between its last good and first
// bad step.
func rateSearch(scen string, children int) map[string]val {
	return rateSearchOn(scen, children, conf.rates, "rate", startScenario(scen))
}

// starter starts one target's Kamailio (or nodes) for a step in a fresh directory; nil when it
// did not start (reported).
type starter func(target string, children int, dir string) *kamailio

// startScenario is the starter of the SQLite sections: one instance with scen's companions.
func startScenario(scen string) starter {
	return func(target string, children int, dir string) *kamailio {
		return startTargetWith(target, children, dir, conf.pkgMB, scenarioCompanions[scen]...)
	}
}

// rateSearchOn is rateSearch through the given rates with the instances start makes, its
// steps' directories under work/<name>.
func rateSearchOn(scen string, children int, rates []int, name string, start starter) map[string]val {
	logf("%s: %s, children=%d", name, scenarioNames[scen], children)
	var ss []*search
	for _, t := range targets() {
		ss = append(ss, &search{target: t})
	}
	for _, rate := range rates {
		active := false
		for _, s := range ss {
			if s.done {
				continue
			}
			active = true
			res, ok := runStepRetry(s.target, scen, children, rate, name, start)
			switch {
			case !ok:
				s.dead, s.done = true, true
			case res.ok:
				s.lastGood = rate
			default:
				s.firstBad, s.bad, s.done = rate, res, true
			}
		}
		if !active {
			break
		}
	}
	out := map[string]val{}
	for _, s := range ss {
		if s.dead {
			out[s.target] = textVal("did not start")
			continue
		}
		if s.firstBad == 0 {
			out[s.target] = val{v: float64(s.lastGood), op: "≥", txt: fmt.Sprintf("≥%d", s.lastGood), ok: true}
			continue
		}
		if conf.refine && s.lastGood > 0 && s.firstBad > s.lastGood*5/4 {
			mid := (s.lastGood + s.firstBad) / 2
			if res, ok := runStepRetry(s.target, scen, children, mid, name, start); ok && res.ok {
				s.lastGood = mid
			} else if ok {
				s.bad = res
			}
		}
		b.note("%s, %s, children=%d: first failing step %d calls/s: %s", s.target, scenarioNames[scen], children, s.bad.rate, s.bad.why)
		if s.lastGood == 0 {
			out[s.target] = val{v: float64(rates[0]), op: "<", txt: fmt.Sprintf("<%d", rates[0]), ok: true}
		} else {
			out[s.target] = val{v: float64(s.lastGood), txt: fmt.Sprint(s.lastGood), ok: true}
		}
	}
	return out
}

// runStepRetry is runStep, with a failed step run once more (BENCH_RETRY=1): a step fails only
// when it fails twice, so that a burst of other work on the machine does not end the search.
func runStepRetry(target, scen string, children, rate int, name string, start starter) (stepResult, bool) {
	res, ok := runStep(target, scen, children, rate, name, start)
	if ok && !res.ok && conf.retry {
		logf("  %-5s %5d calls/s: once more", target, rate)
		again, ok2 := runStep(target, scen, children, rate, name, start)
		if !ok2 || again.ok {
			return again, ok2
		}
	}
	return res, ok
}

// runStep runs one step of the search on a fresh Kamailio and DB: rate calls/s for stepSec.
// ok is false when the target did not start.
func runStep(target, scen string, children, rate int, name string, start starter) (stepResult, bool) {
	dir := filepath.Join(conf.work, name, fmt.Sprintf("%s-c%d-%s-%d", scen, children, target, rate))
	k := start(target, children, dir)
	if k == nil {
		return stepResult{}, false
	}
	defer k.Stop()
	c0 := k.CPU()
	res := runLoad(k, scen, rate, conf.stepSec)
	if res.st.success > 0 && name == "rate" { // the plot's point: offered, answered, CPU per answered call
		collected.addSweep(fmt.Sprintf("%s c%d", scen, children), target, sweepPoint{offered: float64(rate),
			answered: answeredRate(res.st.success, conf.stepSec, res.elapsed.Seconds()),
			cpuMS:    (k.CPU() - c0) * 1000 / float64(res.st.success)})
	}
	mark := "ok"
	if !res.ok {
		mark = "FAIL"
	}
	logf("  %-5s %5d calls/s: %s  (%d/%d calls ok, %d failed, %d retrans, %d UDP drops, %.1fs)",
		target, rate, mark, res.st.success, rate*conf.stepSec, res.st.failed, res.st.retrans, res.drops, res.elapsed.Seconds())
	return res, true
}

// runLoad runs scen at rate calls/s for sec seconds on k and judges it: every call successful,
// no unexpected message, and finished within the step's time plus a grace.
func runLoad(k *kamailio, scen string, rate, sec int) stepResult {
	calls := rate * sec
	logOff := k.LogSize()
	res := stepResult{rate: rate}
	s, err := startSipp(k, harness.SippOptions{Scenario: scen, Calls: calls, Rate: float64(rate), Limit: calls,
		Timeout: time.Duration(sec+30) * time.Second})
	if err != nil {
		res.why = err.Error()
		return res
	}
	s.Wait(time.Duration(sec+60) * time.Second)
	res.st = s.stats()
	res.elapsed = s.elapsed()
	res.drops = socketDrops(k.Port)
	grace := time.Duration(float64(sec)*1.25+3) * time.Second
	var whys []string
	switch {
	case !res.st.ok:
		whys = append(whys, fmt.Sprintf("no SIPp statistics (sipp exit %d, see %s)", s.ExitCode(), s.File("out")))
	case res.st.failed > 0:
		whys = append(whys, fmt.Sprintf("%d of %d calls failed (%d unexpected messages, %d timeouts)",
			res.st.failed, calls, res.st.unexpected, res.st.timeouts))
	case res.st.success < calls:
		whys = append(whys, fmt.Sprintf("only %d of %d calls completed", res.st.success, calls))
	case res.st.outOfCall > 0:
		whys = append(whys, fmt.Sprintf("%d unexpected out-of-call messages", res.st.outOfCall))
	case res.elapsed > grace:
		whys = append(whys, fmt.Sprintf("rate not sustained: %d calls took %.1f s", calls, res.elapsed.Seconds()))
	case s.ExitCode() != 0:
		whys = append(whys, fmt.Sprintf("sipp exited %d", s.ExitCode()))
	}
	res.ok = len(whys) == 0
	if !res.ok {
		if res.drops > 0 {
			whys = append(whys, fmt.Sprintf("Kamailio's UDP socket dropped %d datagrams (receive buffer full: its workers did not read fast enough)", res.drops))
		}
		if ex := s.errorExcerpt(3); len(ex) > 0 {
			whys = append(whys, "SIPp: "+strings.Join(ex, " | "))
		}
		whys = append(whys, kamLog(k, logOff))
		res.why = strings.Join(whys, "; ")
	}
	return res
}

// ---------------------------------------------------------------- 1b: CPU per 1,000 calls

func cpuSection() {
	for _, scen := range []string{"publish_cycle", "subscribe_cycle"} {
		for _, c := range conf.children {
			rate := conf.cpuRate
			// one common rate both targets sustained in the search (if it ran)
			for _, t := range targets() {
				if v, ok := b.best[fmt.Sprintf("%s/%d/%s", scen, c, t)]; ok && v.ok {
					good := int(v.v)
					if v.op == "<" {
						good = conf.rates[0]
					}
					if good < rate {
						rate = good
					}
				}
			}
			r := b.add(fmt.Sprintf("%s, children=%d: Kamailio CPU s per 1,000 calls (at %d calls/s for %d s)",
				scenarioNames[scen], c, rate, conf.cpuSec), "lower")
			for _, t := range targets() {
				r.cells[t] = cpuRun(t, scen, c, rate)
			}
			brokenCells(r)
			if len(targets()) > 0 {
				floorRows(r, scen, c, rate)
			}
		}
	}
}

// floorRows runs the floor (Kamailio without a presence module, PUBLISH and SUBSCRIBE answered
// 200 by sl_send_reply: target harness.Floor, scenario <scen>_floor.xml) at the rate and children
// of the CPU row total, and adds two rows after it: the floor, the same value in both columns,
// and each target's CPU above it.
func floorRows(total *row, scen string, children, rate int) {
	floor := textVal("did not start")
	if _, bad := b.broken[harness.Floor]; !bad {
		floor = cpuRun(harness.Floor, scen, children, rate)
	}
	fr := b.add(fmt.Sprintf("%s, children=%d: Kamailio alone, no presence module (same requests answered 200 by sl_send_reply): CPU s per 1,000 calls",
		scenarioNames[scen], children), "lower")
	fr.noRatio = true
	ar := b.add(fmt.Sprintf("%s, children=%d: CPU s per 1,000 calls above Kamailio's floor (the presence module's own cost)",
		scenarioNames[scen], children), "lower")
	for _, t := range conf.targets {
		fr.cells[t] = floor
		ar.cells[t] = aboveFloor(total.cells[t], floor)
		if v := ar.cells[t]; !v.ok && total.cells[t].ok && floor.ok {
			b.note("%s, %s, children=%d: CPU %s is not above the floor's %s (noise of a shared machine?): no ratio",
				t, scenarioNames[scen], children, total.cells[t].txt, floor.txt)
		}
	}
	if scen == "subscribe_cycle" {
		floorNotifyRows(total, children, rate)
	}
}

// floorNotifyRows: the floor again, each SUBSCRIBE also followed by a NOTIFY that Kamailio
// sends through tm (uac_req_send) and whose 200 it handles — what both presence modules pay to
// Kamailio's tm for their NOTIFYs — and each target's CPU above that.
func floorNotifyRows(total *row, children, rate int) {
	floor := textVal("did not start")
	if _, bad := b.broken[harness.Floor]; !bad {
		floor = cpuMeasure(harness.Floor, "subscribe_cycle", "subscribe_cycle_floor_notify",
			"floor with NOTIFY (Kamailio without presence module, NOTIFYs through tm)",
			children, rate, "cpu-notify", startFloorNotify)
	}
	fr := b.add(fmt.Sprintf("%s, children=%d: Kamailio alone with a NOTIFY per SUBSCRIBE (200 by sl_send_reply, NOTIFY through tm by uac_req_send): CPU s per 1,000 calls",
		scenarioNames["subscribe_cycle"], children), "lower")
	fr.noRatio = true
	ar := b.add(fmt.Sprintf("%s, children=%d: CPU s per 1,000 calls above the floor with NOTIFY (the presence module's cost besides tm's NOTIFYs)",
		scenarioNames["subscribe_cycle"], children), "lower")
	for _, t := range conf.targets {
		fr.cells[t] = floor
		ar.cells[t] = aboveFloor(total.cells[t], floor)
	}
}

// startFloorNotify starts the floor with FloorNotify (uac loaded for uac_req_send).
func startFloorNotify(target string, children int, dir string) *kamailio {
	k, err := newKamailioTuned(target, children, dir, conf.pkgMB, func(cfg *harness.Cfg) {
		cfg.FloorNotify = true
		cfg.Modules = append(cfg.Modules, "uac")
	})
	if err == nil {
		err = k.start()
	}
	if err != nil {
		b.note("floor with NOTIFY: cannot start: %v", err)
		return nil
	}
	return k
}

// aboveFloor is total − floor: text when either is not a number, not ok (no ratio) when not
// positive; "(!)" carried over from either.
func aboveFloor(total, floor val) val {
	if !floor.ok {
		return textVal("no floor")
	}
	if !total.ok {
		if total.txt == "" {
			return textVal("—")
		}
		return textVal(total.txt)
	}
	v := num(total.v-floor.v, "%.2f")
	if v.v <= 0 {
		v.ok = false
	}
	if strings.HasSuffix(total.txt, "(!)") || strings.HasSuffix(floor.txt, "(!)") {
		v.txt += " (!)"
	}
	return v
}

// cpuRun measures target's Kamailio CPU per 1,000 successful calls of scen at rate; the floor
// target runs scen's _floor scenario.
func cpuRun(target, scen string, children, rate int) val {
	return cpuRunOn(target, scen, children, rate, "cpu", startTarget)
}

// cpuRunOn is cpuRun with the instances start makes, its directory under work/<name>.
func cpuRunOn(target, scen string, children, rate int, name string, start starter) val {
	file, who := scen, target
	if target == harness.Floor {
		file, who = scen+"_floor", "floor (Kamailio without presence module)"
	}
	return cpuMeasure(target, scen, file, who, children, rate, name, start)
}

// cpuMeasure is cpuRunOn with the scenario file and the name notes give the instance.
func cpuMeasure(target, scen, file, who string, children, rate int, name string, start starter) val {
	logf("cpu: %s (%s) %s children=%d at %d calls/s for %d s", target, file, scenarioNames[scen], children, rate, conf.cpuSec)
	dir := filepath.Join(conf.work, name, fmt.Sprintf("%s-c%d-%s", scen, children, target))
	k := start(target, children, dir)
	if k == nil {
		return textVal("did not start")
	}
	defer k.Stop()
	time.Sleep(time.Second) // start-up work done
	c0, m0 := k.CPU(), k.dbCPU()
	res := runLoad(k, file, rate, conf.cpuSec)
	time.Sleep(time.Second) // replies to the last NOTIFYs, commits behind the last reply
	c1, m1 := k.CPU(), k.dbCPU()
	if k.maria != nil {
		logf("  %-5s of which mariadbd %.2f CPU s", target, m1-m0)
	}
	if res.st.success == 0 {
		b.note("%s, %s, children=%d, CPU run at %d calls/s: no call succeeded: %s", who, scenarioNames[scen], children, rate, res.why)
		return textVal("no calls")
	}
	per := (c1 - c0) * 1000 / float64(res.st.success)
	logf("  %-5s %.2f CPU s in %d calls: %.3f s per 1,000", target, c1-c0, res.st.success, per)
	v := num(per, "%.2f")
	if !res.ok {
		v.txt += " (!)"
		b.note("%s, %s, children=%d, CPU run at %d calls/s: %s", who, scenarioNames[scen], children, rate, res.why)
	}
	return v
}

// ---------------------------------------------------------------- 2: fan-out

// fanKind is what a fan-out publishes: presence (PIDF, the engine's package or stock's
// presence_xml) or BLF (dialog-info through Debian's presence_dialoginfo, on both targets).
type fanKind struct {
	name, event, ctype string
	companions         []string
	body               func(pres, word string) string // one line: SIPp keys hold no newline
}

var (
	presenceFan = fanKind{name: "fan-out", event: "presence", ctype: "application/pidf+xml",
		body: func(pres, word string) string {
			return `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:` +
				pres + `@127.0.0.1"><tuple id="t1"><status><basic>open</basic></status><note>` + word + `</note></tuple></presence>`
		}}
	blfFan = fanKind{name: "BLF fan-out (presence_dialoginfo)", event: "dialog", ctype: "application/dialog-info+xml",
		companions: []string{"presence_dialoginfo"},
		body: func(pres, word string) string {
			return `<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:` +
				pres + `@127.0.0.1"><dialog id="d1" direction="recipient"><state>` + word + `</state></dialog></dialog-info>`
		}}
)

func fanoutSection() { fanoutRows(presenceFan, conf.fanout) }

// blfSection: the BLF lamp's publish rate and fan-out, stock and ours both with
// presence_dialoginfo.
func blfSection() {
	for _, c := range conf.children {
		r := b.add(fmt.Sprintf("%s, children=%d: highest rate with 0 failed calls (calls/s; %d s steps)",
			scenarioNames["dialog_publish_cycle"], c, conf.stepSec), "higher")
		for t, v := range rateSearch("dialog_publish_cycle", c) {
			r.cells[t] = v
		}
		brokenCells(r)
	}
	fanoutRows(blfFan, conf.blfFanout)
}

func fanoutRows(kind fanKind, sizes []int) {
	for _, n := range sizes {
		lat := b.add(fmt.Sprintf("%s, %d watchers: modify PUBLISH sent → last watcher has its NOTIFY (ms; children=%d)", kind.name, n, conf.fanoutChildren), "lower")
		med := b.add(fmt.Sprintf("%s, %d watchers: … → half of the watchers have it (median, ms)", kind.name, n), "lower")
		cpu := b.add(fmt.Sprintf("%s, %d watchers: Kamailio CPU s per 1,000 NOTIFYs", kind.name, n), "lower")
		for _, t := range targets() {
			l, m, c := fanoutRun(t, n, kind)
			lat.cells[t], med.cells[t], cpu.cells[t] = l, m, c
		}
		brokenCells(lat)
		brokenCells(med)
		brokenCells(cpu)
	}
}

func fanoutRun(target string, n int, kind fanKind) (val, val, val) {
	logf("%s: %s, %d watchers", kind.name, target, n)
	dir := filepath.Join(conf.work, "fanout", fmt.Sprintf("%s-%s-%d", kind.event, target, n))
	k := startTargetWith(target, conf.fanoutChildren, dir, conf.pkgMB, kind.companions...)
	if k == nil {
		x := textVal("did not start")
		return x, x, x
	}
	defer k.Stop()
	fail := func(format string, args ...any) (val, val, val) {
		b.note("%s, fan-out %d: %s", target, n, fmt.Sprintf(format, args...))
		x := textVal("failed")
		return x, x, x
	}
	logOff := k.LogSize()
	pres := "fan"
	keys := func(word string) []string {
		return []string{"pres", pres, "event", kind.event, "ctype", kind.ctype, "body", kind.body(pres, word)}
	}
	p, err := startSipp(k, harness.SippOptions{Scenario: "fanout_publish_initial", Calls: 1, Rate: 1,
		Timeout: 30 * time.Second, Keys: keys("initial"), Logs: true, Name: "pub"})
	if err != nil {
		return fail("%v", err)
	}
	p.Wait(60 * time.Second)
	etag := p.Vars()["etag"]
	if etag == "" {
		return fail("initial PUBLISH failed: %s", strings.Join(append(p.errorExcerpt(2), k.errorLines(logOff, 3)...), " | "))
	}
	procs := (n + conf.fanoutPerSipp - 1) / conf.fanoutPerSipp
	var watchers []*sippRun
	for i := 0; i < procs; i++ {
		share := n / procs
		if i < n%procs {
			share++
		}
		rate := float64(conf.fanoutSubRate) / float64(procs)
		w, err := startSipp(k, harness.SippOptions{Scenario: "fanout_watch", Calls: share, Rate: rate, Limit: share,
			Timeout: time.Duration(float64(share)/rate)*time.Second + 15*time.Minute,
			Keys:    keys("")[:6], Logs: true, Name: fmt.Sprintf("watch%d", i)})
		if err != nil {
			return fail("%v", err)
		}
		watchers = append(watchers, w)
	}
	defer func() {
		for _, w := range watchers {
			w.Kill()
		}
	}()
	count := func(prefix string) int {
		total := 0
		for _, w := range watchers {
			total += w.countLog(prefix)
		}
		return total
	}
	allExited := func() bool {
		for _, w := range watchers {
			select {
			case <-w.Exited:
			default:
				return false
			}
		}
		return true
	}
	// all watchers subscribed (initial NOTIFY answered), bounded; stalls end the wait
	subscribed, last, lastChange := 0, -1, time.Now()
	deadline := time.Now().Add(time.Duration(n/conf.fanoutSubRate)*3*time.Second + 60*time.Second)
	for time.Now().Before(deadline) {
		subscribed = count("subscribed")
		if subscribed >= n || allExited() {
			break
		}
		if subscribed != last {
			last, lastChange = subscribed, time.Now()
		} else if time.Since(lastChange) > 20*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if subscribed < n {
		var ex []string
		for _, w := range watchers {
			ex = append(ex, w.errorExcerpt(2)...)
		}
		b.note("%s, fan-out %d: only %d watchers subscribed; SIPp: %s; %s", target, n, subscribed,
			strings.Join(ex, " | "), kamLog(k, logOff))
		if subscribed == 0 {
			x := textVal("no watcher")
			return x, x, x
		}
	}
	logf("  %d watchers subscribed; modify PUBLISH", subscribed)
	time.Sleep(2 * time.Second)
	logOff = k.LogSize()
	c0 := k.CPU()
	m, err := startSipp(k, harness.SippOptions{Scenario: "fanout_modify", Calls: 1, Rate: 1, Timeout: 60 * time.Second,
		Keys: append(keys("modified"), "etag", etag), Logs: true, Name: "modify"})
	if err != nil {
		return fail("%v", err)
	}
	// every subscribed watcher notified, or no progress for 15 s
	notified, last, lastChange := 0, -1, time.Now()
	c1 := 0.0
	hard := time.Now().Add(15 * time.Minute)
	for time.Now().Before(hard) {
		notified = count("notified")
		if notified >= subscribed {
			time.Sleep(time.Second) // the 200s to the last NOTIFYs
			c1 = k.CPU()
			break
		}
		if notified != last {
			last, lastChange, c1 = notified, time.Now(), k.CPU()
		} else if time.Since(lastChange) > 15*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.Wait(60 * time.Second)
	sent, answeredAt := m.logTimes("sent"), m.logTimes("answered")
	if len(sent) == 0 || len(answeredAt) == 0 {
		return fail("modify PUBLISH failed: %s", strings.Join(append(m.errorExcerpt(2), k.errorLines(logOff, 3)...), " | "))
	}
	var times []time.Time
	for _, w := range watchers {
		times = append(times, w.logTimes("notified")...)
	}
	if len(times) == 0 {
		return fail("no watcher received the NOTIFY of the modify; %s", kamLog(k, logOff))
	}
	sortTimes(times)
	var arrivals []float64 // the plot of fan-out completion over time
	for _, t := range times {
		arrivals = append(arrivals, ms(t.Sub(sent[0])))
	}
	collected.addSamples(collected.fanout, fmt.Sprintf("%s %d", kind.event, n),
		fmt.Sprintf("%s, %d watchers: NOTIFYs received after the modify PUBLISH", kind.name, n), target, arrivals)
	lastT, medT := times[len(times)-1], times[len(times)/2]
	latency := lastT.Sub(sent[0])
	median := medT.Sub(sent[0])
	answered := answeredAt[0].Sub(sent[0])
	per := (c1 - c0) * 1000 / float64(len(times))
	logf("  %-5s %d/%d notified; PUBLISH answered after %v; last NOTIFY %v, median %v; %.2f CPU s (%.3f per 1,000); Kamailio socket drops %d",
		target, len(times), subscribed, answered.Round(time.Millisecond), latency.Round(time.Millisecond),
		median.Round(time.Millisecond), c1-c0, per, socketDrops(k.Port))
	lv, mv, cv := num(ms(latency), "%.0f"), num(ms(median), "%.0f"), num(per, "%.2f")
	if len(times) < n {
		b.note("%s, fan-out %d: %d of %d watchers received the NOTIFY of the modify (%d had subscribed); %s",
			target, n, len(times), n, subscribed, kamLog(k, logOff))
		lv.txt += fmt.Sprintf(" (%d/%d)", len(times), n)
	}
	return lv, mv, cv
}

// kamLog is Kamailio's error and warning lines since offset, verbatim, for a note.
func kamLog(k *kamailio, offset int64) string {
	if lines := k.errorLines(offset, 4); len(lines) > 0 {
		return "Kamailio log:\n" + strings.Join(lines, "\n")
	}
	return "Kamailio logged no error or warning"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sortTimes(ts []time.Time) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
}
