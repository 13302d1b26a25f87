//go:build integration

// Package integration runs a real Kamailio over loopback and drives it with SIPp, once with
// Debian's stock presence module ("stock") and once with ours ("ours"). See README.md.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
)

// kamailio is one running instance with its own port, directory and database.
type kamailio struct {
	target string // "stock" or "ours"
	dir    string // cfg, presence.db, kamailio.log, sipp files
	port   int
	db     string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
}

// eachTarget runs fn as a subtest per selected target, each with a fresh Kamailio.
func eachTarget(t *testing.T, fn func(t *testing.T, k *kamailio)) {
	eachTargetSkipping(t, nil, fn)
}

// eachTargetSkipping is eachTarget with a skip reason per target name.
func eachTargetSkipping(t *testing.T, skip map[string]string, fn func(t *testing.T, k *kamailio)) {
	for _, target := range selectedTargets(t) {
		t.Run(target, func(t *testing.T) {
			if reason, ok := skip[target]; ok {
				t.Skip(reason)
			}
			k := startKamailio(t, target)
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

func startKamailio(t *testing.T, target string) *kamailio {
	t.Helper()
	oursDir := ""
	if target == "ours" {
		oursDir = oursModuleDir(t)
	}
	k := &kamailio{target: target, dir: t.TempDir(), port: freeUDPPort(t), exited: make(chan struct{})}
	k.db = filepath.Join(k.dir, "presence.db")
	if target == "stock" {
		// Stock does not create its tables; ours must, so its DB is left absent. WAL, because
		// stock db_sqlite sets no busy timeout: in the default rollback journal a read by this
		// test at the wrong moment makes stock's write fail with "database is locked".
		k.sqlite(t, ".read "+schemaDir+"/standard-create.sql", ".read "+schemaDir+"/presence-create.sql",
			"PRAGMA journal_mode=WAL;")
	}
	cfg := filepath.Join(k.dir, "kamailio.cfg")
	writeConfig(t, cfg, map[string]any{
		"Target": target, "Stock": target == "stock", "Port": k.port, "Dir": k.dir,
		"StockDir": stockModuleDir, "OursDir": oursDir,
	})

	logFile, err := os.Create(filepath.Join(k.dir, "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	k.cmd = exec.Command("kamailio", "-f", cfg, "-DD", "-E", "-w", k.dir, "-Y", k.dir,
		"-P", filepath.Join(k.dir, "k.pid"))
	k.cmd.Stdout, k.cmd.Stderr = logFile, logFile
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so stop() reaches every child
	if err := k.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start kamailio: %v", err)
	}
	go func() { k.cmd.Wait(); logFile.Close(); close(k.exited) }()
	t.Cleanup(func() {
		k.stop()
		if t.Failed() {
			k.dumpLog(t)
		}
	})
	if err := k.waitReady(startTimeout); err != nil {
		t.Fatalf("%s kamailio on port %d: %v", target, k.port, err)
	}
	return k
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
			"Call-ID: ready-%d@127.0.0.1\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n",
			k.port, local, i, k.port, i+1)
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

// stop terminates the whole process group, politely first, and always within bounded time.
func (k *kamailio) stop() {
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

// checkLogClean fails the test if Kamailio logged an error while it ran: stock logs none in
// these flows (not even for a 412), and one there means something failed behind a good reply,
// e.g. a DB write that SQLite refused.
func (k *kamailio) checkLogClean(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k.dir, "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " ERROR: ") || strings.Contains(line, " CRITICAL: ") ||
			strings.Contains(line, " BUG: ") {
			bad = append(bad, line)
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s kamailio logged %d error line(s):\n%s", k.target, len(bad), strings.Join(bad, "\n"))
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

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
