package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"
)

//go:embed kamailio.cfg.tmpl
var cfgTemplate string

const (
	stockModuleDir = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
	schemaDir      = "/usr/share/kamailio/db_sqlite"
)

// kamailio is one instance: its own directory (cfg, presence.db, kamailio.log), port and
// process group.
type kamailio struct {
	target   string // "stock", "ours" or "floor" (no presence module: the CPU section's floor)
	children int
	dir      string
	port     int
	cfg, db  string
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{}
	started  time.Time
	pkgMB    int // -M: private memory per process
}

// newKamailio prepares dir (a fresh one) for target: the cfg and, for stock, the DB with
// Kamailio's own schema (ours creates its tables itself, so its DB is left absent). Target
// "floor" is the same cfg without any presence module, PUBLISH and SUBSCRIBE answered 200 by
// sl_send_reply: Kamailio's own cost of those requests (cpuSection only; no DB).
func newKamailio(target string, children int, dir string) (*kamailio, error) {
	os.RemoveAll(dir) // a fresh directory: dir is always inside the bench's work directory
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	k := &kamailio{target: target, children: children, dir: dir, port: port,
		cfg: filepath.Join(dir, "kamailio.cfg"), db: filepath.Join(dir, "presence.db"),
		logPath: filepath.Join(dir, "kamailio.log"), pkgMB: conf.pkgMB}
	if target == "stock" {
		args := []string{".read " + schemaDir + "/standard-create.sql", ".read " + schemaDir + "/presence-create.sql"}
		if conf.stockWAL {
			args = append(args, "PRAGMA journal_mode=WAL;")
		}
		if err := k.sqlite(args...); err != nil {
			return nil, fmt.Errorf("create stock DB: %v", err)
		}
	}
	cfg, err := renderCfg(target, children, port, dir)
	if err != nil {
		return nil, err
	}
	return k, os.WriteFile(k.cfg, cfg, 0o644)
}

// floorTarget is the Kamailio of the CPU section's floor rows: never a column of the table.
const floorTarget = "floor"

// renderCfg is kamailio.cfg.tmpl for target; the three targets' cfgs differ only in the
// presence module's loadmodule/modparam lines and in handle_publish()/handle_subscribe()
// (floor: sl_send_reply("200", "OK")).
func renderCfg(target string, children, port int, dir string) ([]byte, error) {
	tmpl, err := template.New("cfg").Parse(cfgTemplate)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{
		"Target": target, "Stock": target == "stock", "Floor": target == floorTarget,
		"Children": children, "Port": port,
		"Dir": dir, "StockDir": stockModuleDir, "OursDir": conf.modDir, "Debug": conf.debug,
		"ExtraParams": conf.extraParams,
	})
	return buf.Bytes(), err
}

func (k *kamailio) sqlite(cmds ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	argv := append([]string{"-batch", "-bail", k.db}, cmds...)
	out, err := exec.CommandContext(ctx, "sqlite3", argv...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// start runs Kamailio in the foreground of its own process group, its output appended to
// kamailio.log, and waits until it answers OPTIONS with the cfg's 200.
func (k *kamailio) start() error {
	if err := k.launch(); err != nil {
		return err
	}
	if _, err := k.waitReady(conf.startTimeout); err != nil {
		k.stop()
		return k.startError(err)
	}
	return nil
}

func (k *kamailio) startError(err error) error {
	first := "    (none)"
	if lines := k.errorLines(0, 6); len(lines) > 0 {
		first = indent(strings.Join(lines, "\n"), "    ")
	}
	return fmt.Errorf("%s Kamailio (children=%d, port %d) did not start: %v\n  cfg: %s\n  log: %s\n"+
		"  its first error lines:\n%s\n  its last lines:\n%s",
		k.target, k.children, k.port, err, k.cfg, k.logPath, first, indent(k.logTail(8), "    "))
}

// launch starts the process without waiting for it to answer.
func (k *kamailio) launch() error {
	logFile, err := os.OpenFile(k.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	k.exited = make(chan struct{})
	k.cmd = niceCommand("kamailio", "-f", k.cfg, "-DD", "-E",
		"-m", fmt.Sprint(conf.shmMB), "-M", fmt.Sprint(k.pkgMB),
		"-w", k.dir, "-Y", k.dir, "-P", filepath.Join(k.dir, "kamailio.pid"))
	k.cmd.Stdout, k.cmd.Stderr = logFile, logFile
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("%s: cannot run kamailio: %v", k.target, err)
	}
	k.started = time.Now()
	trackGroup(k.cmd.Process.Pid, "kamailio "+k.target)
	exited, cmd := k.exited, k.cmd
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	return nil
}

// waitReady sends OPTIONS until Kamailio answers 200; it returns how long that took.
func (k *kamailio) waitReady(within time.Duration) (time.Duration, error) {
	t0 := time.Now()
	c, err := newSIPClient(k.port)
	if err != nil {
		return 0, err
	}
	defer c.close()
	deadline := t0.Add(within)
	for i := 1; time.Now().Before(deadline); i++ {
		select {
		case <-k.exited:
			return 0, fmt.Errorf("kamailio exited during start-up (%v)", k.cmd.ProcessState)
		default:
		}
		code, _, err := c.options(i, 100*time.Millisecond)
		if err == nil && code == 200 {
			return time.Since(t0), nil
		}
	}
	return 0, fmt.Errorf("no 200 to OPTIONS within %v", within)
}

func (k *kamailio) pgid() int { return k.cmd.Process.Pid }

// cpu is the CPU seconds used so far by every live process of this instance.
func (k *kamailio) cpu() float64 {
	s, _ := groupCPU(k.pgid())
	return s
}

// term is an operator's stop: SIGTERM to the main process, then wait for it to exit.
func (k *kamailio) term(within time.Duration) (time.Duration, error) {
	t0 := time.Now()
	pgid := k.pgid()
	syscall.Kill(pgid, syscall.SIGTERM)
	if !waitExit(k.exited, within) {
		syscall.Kill(-pgid, syscall.SIGKILL)
		waitExit(k.exited, 10*time.Second)
		untrackGroup(pgid)
		return time.Since(t0), fmt.Errorf("did not exit within %v of SIGTERM (killed)", within)
	}
	d := time.Since(t0)
	// children that outlived the main process (there should be none)
	for i := 0; i < 50 && len(groupPids(pgid)) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	untrackGroup(pgid)
	return d, nil
}

// stop ends the whole process group, politely first, always within bounded time.
func (k *kamailio) stop() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	pgid := k.pgid()
	syscall.Kill(-pgid, syscall.SIGTERM)
	if !waitExit(k.exited, 10*time.Second) {
		syscall.Kill(-pgid, syscall.SIGKILL)
		waitExit(k.exited, 5*time.Second)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	untrackGroup(pgid)
}

func (k *kamailio) logSize() int64 {
	st, err := os.Stat(k.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// errorLines returns the distinct ERROR/CRITICAL/BUG/WARNING lines logged after offset, at most
// max of them, verbatim, with how many lines of each there were.
func (k *kamailio) errorLines(offset int64, max int) []string {
	b, err := os.ReadFile(k.logPath)
	if err != nil || int64(len(b)) < offset {
		return nil
	}
	counts := map[string]int{}
	var order []string
	var first = map[string]string{}
	for _, line := range strings.Split(string(b[offset:]), "\n") {
		if !strings.Contains(line, "ERROR:") && !strings.Contains(line, "CRITICAL:") &&
			!strings.Contains(line, "BUG:") && !strings.Contains(line, "WARNING:") {
			continue
		}
		key := line
		// group lines that differ only by the pid/time prefix
		if i := strings.Index(line, ": <"); i > 0 {
			key = line[i:]
		} else if i := strings.Index(line, "ERROR:"); i > 0 {
			key = line[i:]
		}
		if counts[key] == 0 {
			order = append(order, key)
			first[key] = strings.TrimSpace(line)
		}
		counts[key]++
	}
	var out []string
	for i, key := range order {
		if i == max {
			out = append(out, fmt.Sprintf("... and %d other kinds of lines", len(order)-max))
			break
		}
		out = append(out, fmt.Sprintf("%s  [x%d]", first[key], counts[key]))
	}
	return out
}

func (k *kamailio) logTail(n int) string {
	b, _ := os.ReadFile(k.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}
