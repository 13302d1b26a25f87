package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// config is everything a run can change, from BENCH_* environment variables (see the
// "How to run" section of docs/performance.md).
type config struct {
	quick    bool
	targets  []string
	sections map[string]bool

	children []int
	rates    []int
	stepSec  int
	refine   bool
	retry    bool
	cpuRate  int
	cpuSec   int

	fanout         []int
	blfFanout      []int
	fanoutChildren int
	fanoutSubRate  int
	fanoutPerSipp  int

	latencyChildren  int
	latencyRate      int
	latencySec       int
	latencyPublishes int
	latencyWatchers  int

	loadWatchers, loadKeys int
	loadSec, loadRefresh   int
	loadPublishRate        int
	loadSubRate            int
	loadChildren           int

	heldPres, heldSubs int
	heldChildren       int
	heldRate           int
	heldWindow         int

	mariadbNodes    []int
	mariadbChildren int
	mariadbRates    []int

	shmMB, pkgMB int
	heldPkgMB    int
	heldSmaps    string // BENCH_HELD_SMAPS: a directory for every process's smaps (held.go)
	debug        int
	nice         int
	stockWAL     bool
	extraParams  []string
	startTimeout time.Duration

	repo, modDir, scenDir string
	work                  string
	keep                  bool
	sippTrace             bool
	doc, out              string
	plotDir               string
	benchtime             string
}

var conf config

func envStr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func envInt(name string, def int) int {
	v := envStr(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil {
		fatalf("%s=%q: not an integer", name, v)
	}
	return n
}

func envInts(name, def string) []int {
	var out []int
	for _, f := range strings.Split(envStr(name, def), ",") {
		f = strings.TrimSpace(strings.ReplaceAll(f, "_", ""))
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			fatalf("%s: %q is not a positive integer", name, f)
		}
		out = append(out, n)
	}
	return out
}

func loadConfig() {
	c := &conf
	c.quick = envStr("BENCH_QUICK", "0") == "1"
	q := func(full, quick string) string {
		if c.quick {
			return quick
		}
		return full
	}
	c.targets = strings.Split(envStr("BENCH_TARGETS", "stock,ours"), ",")
	for _, t := range c.targets {
		if t != "stock" && t != "ours" {
			fatalf("BENCH_TARGETS: unknown target %q (stock, ours)", t)
		}
	}
	c.sections = map[string]bool{}
	for _, s := range strings.Split(envStr("BENCH_SECTIONS", "rate,cpu,fanout,latency,blf,blfload,held,mariadb,gobench"), ",") {
		switch s {
		case "rate", "cpu", "fanout", "latency", "blf", "blfload", "held", "mariadb", "gobench":
			c.sections[s] = true
		default:
			fatalf("BENCH_SECTIONS: unknown section %q (rate, cpu, fanout, latency, blf, blfload, held, mariadb, gobench)", s)
		}
	}
	c.children = envInts("BENCH_CHILDREN", "1,4")
	c.rates = envInts("BENCH_RATES", "10,25,50,100,200,400,800,1600,3200,6400")
	c.stepSec = envInt("BENCH_STEP_SECONDS", atoi(q("10", "5")))
	c.refine = envStr("BENCH_REFINE", "1") == "1"
	c.retry = envStr("BENCH_RETRY", "1") == "1"
	c.cpuRate = envInt("BENCH_CPU_RATE", 100)
	c.cpuSec = envInt("BENCH_CPU_SECONDS", atoi(q("20", "10")))
	c.fanout = envInts("BENCH_FANOUT", q("1000,10000", "500,5000"))
	c.blfFanout = envInts("BENCH_BLF_FANOUT", q("1000", "500"))
	c.fanoutChildren = envInt("BENCH_FANOUT_CHILDREN", 1)
	c.fanoutSubRate = envInt("BENCH_FANOUT_SUB_RATE", 250)
	c.fanoutPerSipp = envInt("BENCH_FANOUT_PER_SIPP", 2500)
	c.latencyChildren = envInt("BENCH_LATENCY_CHILDREN", 1)
	c.latencyRate = envInt("BENCH_LATENCY_RATE", 100)
	c.latencySec = envInt("BENCH_LATENCY_SECONDS", atoi(q("15", "6")))
	c.latencyPublishes = envInt("BENCH_LATENCY_PUBLISHES", atoi(q("200", "50")))
	c.latencyWatchers = envInt("BENCH_LATENCY_WATCHERS", 10)
	c.loadWatchers = envInt("BENCH_BLFLOAD_WATCHERS", atoi(q("1000", "500")))
	c.loadKeys = envInt("BENCH_BLFLOAD_KEYS", 20)
	c.loadSec = envInt("BENCH_BLFLOAD_SECONDS", atoi(q("90", "30")))
	c.loadRefresh = envInt("BENCH_BLFLOAD_REFRESH", 60)
	c.loadPublishRate = envInt("BENCH_BLFLOAD_PUBLISH_RATE", 50)
	c.loadSubRate = envInt("BENCH_BLFLOAD_SUB_RATE", 500)
	c.loadChildren = envInt("BENCH_BLFLOAD_CHILDREN", 1)
	if c.loadKeys <= 0 || c.loadWatchers%c.loadKeys != 0 {
		fatalf("BENCH_BLFLOAD_WATCHERS (%d) must be a multiple of BENCH_BLFLOAD_KEYS (%d): each presentity is watched by as many watchers as each watcher has keys",
			c.loadWatchers, c.loadKeys)
	}
	for name, v := range map[string]int{"BENCH_LATENCY_RATE": c.latencyRate, "BENCH_LATENCY_SECONDS": c.latencySec,
		"BENCH_LATENCY_PUBLISHES": c.latencyPublishes, "BENCH_LATENCY_WATCHERS": c.latencyWatchers,
		"BENCH_BLFLOAD_SECONDS": c.loadSec, "BENCH_BLFLOAD_REFRESH": c.loadRefresh,
		"BENCH_BLFLOAD_PUBLISH_RATE": c.loadPublishRate, "BENCH_BLFLOAD_SUB_RATE": c.loadSubRate} {
		if v <= 0 {
			fatalf("%s=%d: must be positive", name, v)
		}
	}
	c.heldPres = envInt("BENCH_HELD_PRESENTITIES", atoi(q("100000", "5000")))
	c.heldSubs = envInt("BENCH_HELD_SUBSCRIPTIONS", atoi(q("100000", "5000")))
	c.heldChildren = envInt("BENCH_HELD_CHILDREN", 1)
	c.heldRate = envInt("BENCH_HELD_RATE", 2000) // the other targets: at most stock's pace (heldPace)
	c.heldWindow = envInt("BENCH_HELD_WINDOW", 20)
	c.mariadbNodes = envInts("BENCH_MARIADB_NODES", "1,2")
	c.mariadbChildren = envInt("BENCH_MARIADB_CHILDREN", 4)
	c.mariadbRates = envInts("BENCH_MARIADB_RATES", "25,50,100,200,400,800,1600")
	c.shmMB = envInt("BENCH_SHM_MB", 1024)
	c.pkgMB = envInt("BENCH_PKG_MB", 32)
	c.heldPkgMB = envInt("BENCH_HELD_PKG_MB", 512)
	c.heldSmaps = envStr("BENCH_HELD_SMAPS", "")
	c.debug = envInt("BENCH_DEBUG", 1)
	c.nice = envInt("BENCH_NICE", 0)
	c.stockWAL = envStr("BENCH_STOCK_WAL", "1") == "1"
	if p := envStr("BENCH_PRESENCE_PARAMS", ""); p != "" {
		// name=value;name=value → modparam("presence", "name", value) for both targets
		for _, kv := range strings.Split(p, ";") {
			name, v, ok := strings.Cut(kv, "=")
			if !ok {
				fatalf("BENCH_PRESENCE_PARAMS: %q is not name=value", kv)
			}
			if _, err := strconv.Atoi(v); err != nil {
				v = strconv.Quote(v)
			}
			c.extraParams = append(c.extraParams, fmt.Sprintf("modparam(\"presence\", %q, %s)", name, v))
		}
	}
	c.startTimeout = time.Duration(envInt("BENCH_START_TIMEOUT", 30)) * time.Second
	c.repo = mustAbs(envStr("BENCH_REPO", "."))
	c.modDir = mustAbs(envStr("BENCH_MODULE_DIR", c.repo+"/build/modules"))
	c.scenDir = c.repo + "/scripts/bench/scenarios"
	c.work = envStr("BENCH_WORKDIR", "")
	c.keep = envStr("BENCH_KEEP", "0") == "1"
	c.sippTrace = envStr("BENCH_SIPP_TRACE", "0") == "1"
	c.doc = envStr("BENCH_DOC", c.repo+"/docs/performance.md")
	c.out = envStr("BENCH_OUT", c.doc)
	// the plots go next to the document written: docs/perf/*.svg for docs/performance.md
	c.plotDir = envStr("BENCH_PLOTS", filepath.Join(filepath.Dir(mustAbs(c.out)), "perf"))
	if c.plotDir == "-" || c.doc == "-" && os.Getenv("BENCH_PLOTS") == "" {
		c.plotDir = ""
	}
	c.benchtime = envStr("BENCH_GO_BENCHTIME", "")
	if _, err := os.Stat(c.scenDir + "/publish_cycle.xml"); err != nil {
		fatalf("scenarios not found in %s (run from the repository root, or set BENCH_REPO)", c.scenDir)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	harness.KillAll()
	os.Exit(2)
}
