//go:build integration

// Package integration runs a real Kamailio over loopback and drives it with SIPp, once with
// Debian's stock presence module ("stock") and once with ours ("ours"). See README.md.
package integration

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

const (
	startTimeout = 15 * time.Second
	stopTimeout  = 5 * time.Second
	// defaultParallel is how many tests run at once unless -test.parallel says otherwise: each
	// has its own Kamailio, port and DB, and go test's default (GOMAXPROCS, 2 here) would make
	// the timer tests' waits add up.
	defaultParallel = "4"
)

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", defaultParallel)
	}
	code := m.Run()
	stopMariaDB()
	os.Exit(code)
}

// options is what one test changes in its Kamailio: cfg lines, and the error lines its log may
// hold because the test provokes them.
type options struct {
	skip     map[string]string // target → reason for t.Skip
	presence map[string]any    // extra modparam("presence", name, value); strings are quoted
	tm       map[string]any    // modparam("tm", name, value)
	xml      map[string]any    // modparam("presence_xml", name, value), after the harness's
	tcp      bool              // listen on tcp:127.0.0.1:<port> as well as udp

	companions []string                  // Debian modules loaded after presence (presence_mwi, ...)
	modparams  map[string]map[string]any // a companion's modparams, by module name

	// Script variants: handle_publish("$hdr(X-Sender)") / handle_subscribe("$hdr(X-Watcher)")
	// when the request has that header, the plain call otherwise.
	publishSender    bool
	subscribeWatcher bool
	// logReturnCode: the script logs "handle_publish returned N" after the plain calls.
	logReturnCode bool
	ctl           bool   // the ctl module, for kamcmd (k.kamcmd)
	apitest       bool   // the test-only module presence_apitest (k.apitest, apitest_test.go)
	rlsBackEnd    bool   // rls's back-end SUBSCRIBEs served by this instance (harness.Cfg.RLSBackEnd)
	children      int    // SIP worker processes (0: 2)
	dbURL         string // the presence db_url ("": a database of the test's own, SQLite or MariaDB)
	// dbs: the databases the test runs on, each target on each: sqlite (the default, subtests
	// named after the target) and mysql (a database of the suite's MariaDB, mariadb.go;
	// subtests named <target>-mysql).
	dbs []string
	// mariadb is the server of the mysql variant: nil, the suite's (a test that stops its
	// server brings its own).
	mariadb *harness.MariaDB

	globals                        string   // core parameter lines
	modules                        []string // more of Debian's modules (xhttp, ...), before presence
	script, afterSubscribe, routes string   // cfg text: see harness.Cfg
	kemi                           *kemiScript

	expectedLog []expectedLog
}

// expectedLog allows ERROR/CRITICAL/BUG lines matching re in one target's log ("" = both).
type expectedLog struct {
	target, re, why string
}

// kamailio is one running instance with its own port, directory and database.
type kamailio struct {
	*harness.Kamailio
	opts options
	db   string // sqlite or mysql
}

const (
	sqliteDB = "sqlite"
	mysqlDB  = "mysql"
)

// bothDBs runs a test on SQLite and on MariaDB.
var bothDBs = []string{sqliteDB, mysqlDB}

// variant names a target's subtest on a database: the target alone on SQLite.
func variant(target, db string) string {
	if db == mysqlDB {
		return target + "-" + db
	}
	return target
}

// eachTarget runs fn as a parallel subtest per selected target, each with a fresh Kamailio.
func eachTarget(t *testing.T, fn func(t *testing.T, k *kamailio)) {
	eachTargetWith(t, options{}, fn)
}

// eachTargetSkipping is eachTarget with a skip reason per target name.
func eachTargetSkipping(t *testing.T, skip map[string]string, fn func(t *testing.T, k *kamailio)) {
	eachTargetWith(t, options{skip: skip}, fn)
}

// eachTargetWith is eachTarget with a Kamailio set up as o says.
func eachTargetWith(t *testing.T, o options, fn func(t *testing.T, k *kamailio)) {
	dbs := o.dbs
	if len(dbs) == 0 {
		dbs = []string{sqliteDB}
	}
	for _, db := range dbs {
		for _, target := range selectedTargets(t) {
			name := variant(target, db)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				if reason, ok := o.skip[name]; ok {
					t.Skip(reason)
				}
				k := startKamailioOn(t, target, db, o)
				fn(t, k)
				k.checkLogClean(t)
			})
		}
	}
}

// selectedTargets reads GOPRESENCE_TARGETS (stock, ours or stock,ours; default both).
func selectedTargets(t *testing.T) []string {
	v := os.Getenv("GOPRESENCE_TARGETS")
	if v == "" {
		return []string{"stock", "ours"}
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s != "stock" && s != "ours" {
			t.Fatalf("GOPRESENCE_TARGETS: unknown target %q (want stock, ours or stock,ours)", s)
		}
		out = append(out, s)
	}
	return out
}

// selectedDBs reads GOPRESENCE_DBS (sqlite, mysql or sqlite,mysql; default both): make test
// runs the suite once on SQLite (test-integration) and once for what runs on MariaDB
// (test-mysql), so that no test runs twice.
func selectedDBs(t *testing.T) []string {
	v := os.Getenv("GOPRESENCE_DBS")
	if v == "" {
		return bothDBs
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s != sqliteDB && s != mysqlDB {
			t.Fatalf("GOPRESENCE_DBS: unknown database %q (want sqlite, mysql or sqlite,mysql)", s)
		}
		out = append(out, s)
	}
	return out
}

// oursModuleDir returns GOPRESENCE_MODULE_DIR, failing the test when it is missing: a run that
// silently skips our module would pass without testing it. GOPRESENCE_ONLY_STOCK=1 skips instead.
func oursModuleDir(t *testing.T) string {
	dir := os.Getenv("GOPRESENCE_MODULE_DIR")
	if dir == "" {
		if os.Getenv("GOPRESENCE_ONLY_STOCK") == "1" {
			t.Skip("GOPRESENCE_ONLY_STOCK=1: not testing our module")
		}
		t.Fatal("GOPRESENCE_MODULE_DIR is not set: it must name the directory holding our presence.so " +
			"(and libgopresence.so); set GOPRESENCE_ONLY_STOCK=1 to test the stock module only")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "presence.so")); err != nil {
		t.Fatalf("GOPRESENCE_MODULE_DIR=%s: %v", dir, err)
	}
	return abs
}

func startKamailio(t *testing.T, target string, o options) *kamailio {
	t.Helper()
	return startKamailioOn(t, target, sqliteDB, o)
}

func startKamailioOn(t *testing.T, target, db string, o options) *kamailio {
	t.Helper()
	k := newKamailioOn(t, target, db, o)
	k.launch(t)
	return k
}

// newKamailio writes the cfg and DB of one instance on SQLite (stopped at the test's end), not
// started.
func newKamailio(t *testing.T, target string, o options) *kamailio {
	t.Helper()
	return newKamailioOn(t, target, sqliteDB, o)
}

// newKamailioOn is newKamailio on database db (sqliteDB or mysqlDB); it skips the test when
// GOPRESENCE_DBS leaves db out.
func newKamailioOn(t *testing.T, target, db string, o options) *kamailio {
	t.Helper()
	if !slices.Contains(selectedDBs(t), db) {
		t.Skipf("GOPRESENCE_DBS=%s: not testing on %s", os.Getenv("GOPRESENCE_DBS"), db)
	}
	oursDir := ""
	if target == harness.Ours {
		oursDir = oursModuleDir(t)
	}
	dir := testDir(t)
	port, err := harness.FreePort(o.tcp)
	if err != nil {
		t.Fatal(err)
	}
	// Write-through by default: subscriptions reach active_watchers before the 2xx, so the
	// tests can check the DB without waiting for a timer. (With the default write-back mode
	// and a short db_update_period, stock's timer process writes every period, and stock
	// db_sqlite, which sets no SQLite busy timeout, then fails the workers' concurrent writes
	// with "database is locked".)
	presence := map[string]any{"subs_db_mode": 1}
	if target == harness.Stock && db == mysqlDB {
		// Stock's default (1) LOCKs the presentity table around a PUBLISH, and its NOTIFY then
		// fails to update active_watchers on MySQL ("Table 'active_watchers' was not locked
		// with LOCK TABLES (1100)", no NOTIFY sent): the module's docs tell MySQL users to set 0.
		presence["db_table_lock_type"] = 0
	}
	for name, v := range o.presence {
		presence[name] = v
	}
	cfg := harness.Cfg{Target: target, Port: port, Dir: dir, DBURL: o.dbURL, OursDir: oursDir, Children: o.children, Debug: 2,
		TCP: o.tcp, ModParams: slices.Concat(harness.ModParams("presence", presence), harness.ModParams("tm", o.tm),
			harness.ModParams("presence_xml", o.xml), companionParams(o.modparams)),
		PublishSender: o.publishSender, SubscribeWatcher: o.subscribeWatcher, Companions: o.companions,
		LogReturnCode: o.logReturnCode, Ctl: o.ctl, RLSBackEnd: o.rlsBackEnd, Globals: o.globals, Modules: o.modules,
		Script: o.script, AfterSubscribe: o.afterSubscribe, Routes: o.routes}
	if o.apitest {
		cfg.APITestDir = testModuleDir(t)
	}
	if o.kemi != nil {
		cfg.KEMI, cfg.KEMIModule, cfg.KEMIScript = o.kemi.engine, o.kemi.module, o.kemi.write(t, dir)
	}
	// WAL for stock: a read by this test at the wrong moment would otherwise make stock's
	// write fail with "database is locked".
	ho := harness.Options{Cfg: cfg, StockWAL: true}
	if db == mysqlDB && o.dbURL == "" { // o.dbURL: a database another instance made (nodes_test.go)
		ho.MariaDB = o.mariadb
		if ho.MariaDB == nil {
			ho.MariaDB = suiteMariaDB(t)
		}
	}
	hk, err := harness.New(ho)
	if err != nil {
		t.Fatal(err)
	}
	k := &kamailio{Kamailio: hk, opts: o, db: db}
	t.Cleanup(func() {
		k.Stop()
		if t.Failed() {
			k.dumpLog(t)
		}
	})
	return k
}

// companionParams renders the companions' modparam lines, module by module in name order.
func companionParams(byModule map[string]map[string]any) []string {
	var lines []string
	for _, m := range slices.Sorted(maps.Keys(byModule)) {
		lines = append(lines, harness.ModParams(m, byModule[m])...)
	}
	return lines
}

// testDir is the test's directory: removed after it, unless GOPRESENCE_KEEP=1 (for a look at
// the cfg, logs and sipp traces of a run).
func testDir(t *testing.T) string {
	if os.Getenv("GOPRESENCE_KEEP") != "1" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "gopresence-"+strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GOPRESENCE_KEEP=1: files kept in %s", dir)
	return dir
}

// launch starts Kamailio on k's cfg, appending to kamailio.log, and waits until it answers.
func (k *kamailio) launch(t *testing.T) {
	t.Helper()
	if err := k.Start(startTimeout); err != nil {
		t.Fatal(err)
	}
	if k.Target == harness.Stock {
		// A worker answers OPTIONS before every process has opened its DB connection, and on
		// a loaded machine stock's first write then sometimes fails with "database is locked"
		// (stock db_sqlite sets no busy timeout).
		time.Sleep(300 * time.Millisecond)
	}
}

// restart stops Kamailio the way an operator does (SIGTERM to the main process, which stops its
// children and runs the modules' destroy), waits for it to exit, and starts it again on the same
// cfg, port and DB.
func (k *kamailio) restart(t *testing.T) {
	t.Helper()
	if _, err := k.Term(stopTimeout); err != nil {
		t.Fatal(err)
	}
	if k.Cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("%s kamailio exited with %v after SIGTERM", k.Target, k.Cmd.ProcessState)
	}
	k.launch(t)
}

// alive fails the test unless Kamailio still answers OPTIONS (after bad input).
func (k *kamailio) alive(t *testing.T) {
	t.Helper()
	if _, err := k.WaitReady(5 * time.Second); err != nil {
		t.Fatalf("%s kamailio no longer answers: %v", k.Target, err)
	}
}

func (k *kamailio) dumpLog(t *testing.T) {
	b, err := os.ReadFile(k.LogPath)
	if err != nil {
		t.Logf("kamailio log: %v", err)
		return
	}
	t.Logf("----- %s kamailio log (%s) -----\n%s", k.Target, k.Dir, b)
}

// checkLogClean fails the test if Kamailio logged an error while it ran, other than those the
// test's options expect: stock logs none in the normal flows (not even for a 412), and one there
// means something failed behind a good reply, e.g. a DB write that SQLite refused.
func (k *kamailio) checkLogClean(t *testing.T) {
	t.Helper()
	lines, err := k.LogLines(0)
	if err != nil {
		t.Fatal(err)
	}
	var allowed []*regexp.Regexp
	for _, e := range k.opts.expectedLog {
		if e.target == "" || e.target == k.Target {
			allowed = append(allowed, regexp.MustCompile(e.re))
		}
	}
	var bad []string
lines:
	for _, line := range lines {
		if !harness.IsError(line) {
			continue
		}
		for _, re := range allowed {
			if re.MatchString(line) {
				continue lines
			}
		}
		bad = append(bad, line)
	}
	if len(bad) > 0 {
		t.Errorf("%s kamailio logged %d unexpected error line(s):\n%s", k.Target, len(bad), strings.Join(bad, "\n"))
	}
}

// sqlite runs sqlite3 commands/queries on the instance's DB and returns trimmed output.
func (k *kamailio) sqlite(t *testing.T, args ...string) string {
	t.Helper()
	out, err := k.trySQLite(args...)
	if err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", args, err, out)
	}
	return out
}

func (k *kamailio) trySQLite(args ...string) (string, error) {
	return harness.SQLite(k.DB, args...)
}

// query runs SQL on the instance's database (SQLite or MariaDB: write what both read alike)
// and returns its rows as sqlite3 prints them.
func (k *kamailio) query(t *testing.T, sql string) string {
	t.Helper()
	out, err := k.Query(sql)
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", k.db, sql, err, out)
	}
	return out
}

// waitQuery polls query until it prints want. Stock writes some rows from a timer, and ours may
// commit after replying, so every DB check allows a bounded delay. On SQLite or MariaDB: the
// query must read the same on both.
func (k *kamailio) waitQuery(t *testing.T, query, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got string
	var err error
	for {
		got, err = k.Query(query)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("DB: %s\n got %q (err %v), want %q after %v", query, got, err, want, within)
}

// freeUDPPort returns a port free for UDP now and not handed out before (harness.FreePort).
func freeUDPPort(t *testing.T) int {
	t.Helper()
	port, err := harness.FreePort(false)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
