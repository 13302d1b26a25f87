//go:build integration

// Package integration runs a real Kamailio over loopback and drives it with SIPp, once with
// Debian's stock presence module ("stock") and once with ours ("ours"). See README.md.
package integration

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"
)

const (
	stockModuleDir = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
	schemaDir      = "/usr/share/kamailio/db_sqlite"
	startTimeout   = 15 * time.Second
	stopTimeout    = 5 * time.Second
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
	os.Exit(m.Run())
}

// options is what one test changes in its Kamailio: cfg lines, and the error lines its log may
// hold because the test provokes them.
type options struct {
	skip     map[string]string // target → reason for t.Skip
	presence map[string]any    // extra modparam("presence", name, value); strings are quoted
	tm       map[string]any    // modparam("tm", name, value)
	tcp      bool              // listen on tcp:127.0.0.1:<port> as well as udp

	// Script variants: handle_publish("$hdr(X-Sender)") / handle_subscribe("$hdr(X-Watcher)")
	// when the request has that header, the plain call otherwise.
	publishSender    bool
	subscribeWatcher bool

	expectedLog []expectedLog
}

// expectedLog allows ERROR/CRITICAL/BUG lines matching re in one target's log ("" = both).
type expectedLog struct {
	target, re, why string
}

// kamailio is one running instance with its own port, directory and database.
type kamailio struct {
	target string // "stock" or "ours"
	dir    string // cfg, presence.db, kamailio.log, sipp files
	port   int
	db     string
	cfg    string
	opts   options
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
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
	for _, target := range selectedTargets(t) {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			if reason, ok := o.skip[target]; ok {
				t.Skip(reason)
			}
			k := startKamailio(t, target, o)
			fn(t, k)
			k.checkLogClean(t)
		})
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
	oursDir := ""
	if target == "ours" {
		oursDir = oursModuleDir(t)
	}
	k := &kamailio{target: target, dir: testDir(t), opts: o}
	if o.tcp {
		k.port = freeUDPAndTCPPort(t)
	} else {
		k.port = freeUDPPort(t)
	}
	k.db = filepath.Join(k.dir, "presence.db")
	if target == "stock" {
		// Stock does not create its tables; ours must, so its DB is left absent. WAL, because
		// stock db_sqlite sets no busy timeout: in the default rollback journal a read by this
		// test at the wrong moment makes stock's write fail with "database is locked".
		k.sqlite(t, ".read "+schemaDir+"/standard-create.sql", ".read "+schemaDir+"/presence-create.sql",
			"PRAGMA journal_mode=WAL;")
	}
	k.cfg = filepath.Join(k.dir, "kamailio.cfg")
	// Write-through by default: subscriptions reach active_watchers before the 2xx, so the
	// tests can check the DB without waiting for a timer (see the cfg template).
	presence := map[string]any{"subs_db_mode": 1}
	for name, v := range o.presence {
		presence[name] = v
	}
	writeConfig(t, k.cfg, map[string]any{
		"Target": target, "Stock": target == "stock", "Port": k.port, "Dir": k.dir,
		"StockDir": stockModuleDir, "OursDir": oursDir, "TCP": o.tcp,
		"PresenceParams": modparams("presence", presence), "TMParams": modparams("tm", o.tm),
		"PublishSender": o.publishSender, "SubscribeWatcher": o.subscribeWatcher,
	})
	t.Cleanup(func() {
		k.stop()
		if t.Failed() {
			k.dumpLog(t)
		}
	})
	k.launch(t)
	return k
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

// modparams renders modparam lines in name order; string values are quoted.
func modparams(module string, params map[string]any) []string {
	var lines []string
	for name, v := range params {
		if s, ok := v.(string); ok {
			v = fmt.Sprintf("%q", s)
		}
		lines = append(lines, fmt.Sprintf("modparam(%q, %q, %v)", module, name, v))
	}
	sort.Strings(lines)
	return lines
}

// launch starts Kamailio on k's cfg, appending to kamailio.log, and waits until it answers.
func (k *kamailio) launch(t *testing.T) {
	t.Helper()
	logFile, err := os.OpenFile(filepath.Join(k.dir, "kamailio.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	k.exited = make(chan struct{})
	k.cmd = exec.Command("kamailio", "-f", k.cfg, "-DD", "-E", "-w", k.dir, "-Y", k.dir,
		"-P", filepath.Join(k.dir, "k.pid"))
	k.cmd.Stdout, k.cmd.Stderr = logFile, logFile
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so stop() reaches every child
	if err := k.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start kamailio: %v", err)
	}
	exited := k.exited
	cmd := k.cmd
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	if err := k.waitReady(startTimeout); err != nil {
		t.Fatalf("%s kamailio on port %d: %v", k.target, k.port, err)
	}
	if k.target == "stock" {
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
	pgid := k.cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("%s kamailio did not exit within %v of SIGTERM", k.target, stopTimeout)
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // children that outlived the main process
	if k.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("%s kamailio exited with %v after SIGTERM", k.target, k.cmd.ProcessState)
	}
	k.launch(t)
}

func writeConfig(t *testing.T, path string, data map[string]any) {
	t.Helper()
	tmpl, err := template.ParseFiles("testdata/kamailio.cfg.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitReady sends OPTIONS until Kamailio answers with the cfg's 405.
func (k *kamailio) waitReady(within time.Duration) error {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: k.port}
	local := conn.LocalAddr().(*net.UDPAddr).Port
	deadline := time.Now().Add(within)
	for i := 0; time.Now().Before(deadline); i++ {
		select {
		case <-k.exited:
			return fmt.Errorf("exited during start-up (%v)", k.cmd.ProcessState)
		default:
		}
		req := fmt.Sprintf("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-ready-%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=probe\r\nTo: <sip:127.0.0.1>\r\n"+
			"Call-ID: ready-%d-%d@127.0.0.1\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n",
			k.port, local, i, k.port, time.Now().UnixNano(), i+1)
		if _, err := conn.WriteTo([]byte(req), dst); err != nil {
			return err
		}
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := conn.ReadFrom(buf); err == nil && bytes.HasPrefix(buf[:n], []byte("SIP/2.0 405")) {
			return nil
		}
	}
	return fmt.Errorf("no 405 reply to OPTIONS within %v", within)
}

// alive fails the test unless Kamailio still answers OPTIONS (after bad input).
func (k *kamailio) alive(t *testing.T) {
	t.Helper()
	if err := k.waitReady(5 * time.Second); err != nil {
		t.Fatalf("%s kamailio no longer answers: %v", k.target, err)
	}
}

// stop terminates the whole process group, politely first, and always within bounded time.
func (k *kamailio) stop() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	pgid := k.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(stopTimeout):
		syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-k.exited:
		case <-time.After(stopTimeout):
		}
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // children that outlived the main process
}

func (k *kamailio) dumpLog(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(k.dir, "kamailio.log"))
	if err != nil {
		t.Logf("kamailio log: %v", err)
		return
	}
	t.Logf("----- %s kamailio log (%s) -----\n%s", k.target, k.dir, b)
}

// checkLogClean fails the test if Kamailio logged an error while it ran, other than those the
// test's options expect: stock logs none in the normal flows (not even for a 412), and one there
// means something failed behind a good reply, e.g. a DB write that SQLite refused.
func (k *kamailio) checkLogClean(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k.dir, "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	var allowed []*regexp.Regexp
	for _, e := range k.opts.expectedLog {
		if e.target == "" || e.target == k.target {
			allowed = append(allowed, regexp.MustCompile(e.re))
		}
	}
	var bad []string
lines:
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, " ERROR: ") && !strings.Contains(line, " CRITICAL: ") &&
			!strings.Contains(line, " BUG: ") {
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
		t.Errorf("%s kamailio logged %d unexpected error line(s):\n%s", k.target, len(bad), strings.Join(bad, "\n"))
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	argv := append([]string{"-batch", "-bail", "-cmd", ".timeout 2000", k.db}, args...)
	out, err := exec.CommandContext(ctx, "sqlite3", argv...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// waitQuery polls query until it prints want. Stock writes some rows from a timer, and ours may
// commit after replying, so every DB check allows a bounded delay.
func (k *kamailio) waitQuery(t *testing.T, query, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got string
	var err error
	for {
		got, err = k.trySQLite(query)
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

// Ports come from a range below the kernel's ephemeral one (ip_local_port_range, 32768 and up
// by default), handed out once per run: a port probed free with port 0 and then released could
// be given by the kernel to another parallel test's socket before Kamailio or sipp binds it.
const (
	portRangeLow  = 20000
	portRangeHigh = 32000
)

var nextPort atomic.Int32

func init() { nextPort.Store(int32(portRangeLow + (os.Getpid()%600)*20)) }

// freeUDPPort returns a port of the range that is free for UDP now and not handed out before.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	return freePort(t, false)
}

// freeUDPAndTCPPort returns a port free for both, for a Kamailio or sipp that uses both.
func freeUDPAndTCPPort(t *testing.T) int {
	t.Helper()
	return freePort(t, true)
}

func freePort(t *testing.T, tcp bool) int {
	t.Helper()
	for i := 0; i < portRangeHigh-portRangeLow; i++ {
		port := int(nextPort.Add(1)-1-portRangeLow)%(portRangeHigh-portRangeLow) + portRangeLow
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		c.Close()
		if tcp {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				continue
			}
			l.Close()
		}
		return port
	}
	t.Fatal("no free port")
	return 0
}
