// Package harness runs Kamailio 5.6.3 and SIPp on loopback for the integration suite
// (tests/integration) and the bench (scripts/bench): free ports, the one cfg template, start
// with one readiness rule, stop, SIPp runs, log scans, a process group's CPU and memory.
// The product never imports it (db/mysql's tests use its MariaDB); it drives the built modules
// from outside.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// SchemaDir holds Kamailio's own SQLite schema, from which stock's tables are created.
const SchemaDir = "/usr/share/kamailio/db_sqlite"

// Options is one Kamailio: its cfg and how it is run.
type Options struct {
	Cfg
	// MariaDB, when set, holds the instance's tables in a new database of that server
	// (Cfg.DBURL is set to it) instead of SQLite.
	MariaDB      *MariaDB
	StockWAL     bool // stock's DB in WAL mode (see CreateStockDB)
	ShmMB, PkgMB int  // -m and -M; 0: Kamailio's defaults
	Nice         int  // run under nice -n Nice when not 0
}

// Kamailio is one instance with its own port, directory, DB and process group.
type Kamailio struct {
	Options
	CfgPath, LogPath, DB string
	Database             string // its database on Options.MariaDB
	Cmd                  *exec.Cmd
	Exited               chan struct{} // closed when the main process has been reaped
	Started              time.Time
}

// New writes o's cfg into o.Dir (which must exist) as kamailio.cfg and, for stock, creates its
// DB: stock does not create its tables, ours does, so its DB is left empty (on MariaDB: a new
// database; on SQLite: no file).
func New(o Options) (*Kamailio, error) {
	k := &Kamailio{Options: o, CfgPath: filepath.Join(o.Dir, "kamailio.cfg"),
		LogPath: filepath.Join(o.Dir, "kamailio.log"), DB: o.DBPath()}
	switch {
	case o.MariaDB != nil:
		name, err := o.MariaDB.NewDB("k_" + o.Target)
		if err != nil {
			return nil, err
		}
		k.Database, k.DBURL = name, o.MariaDB.URL(name)
		if o.Target == Stock {
			if err := k.CreateStockTables("standard", "presence"); err != nil {
				return nil, err
			}
		}
	case o.Target == Stock:
		if err := CreateStockDB(k.DB, o.StockWAL); err != nil {
			return nil, err
		}
	}
	cfg, err := k.Render()
	if err != nil {
		return nil, err
	}
	return k, os.WriteFile(k.CfgPath, cfg, 0o644)
}

// CreateStockDB creates Kamailio's tables in db. wal: stock db_sqlite sets no busy timeout, so
// in the default rollback journal a reader at the wrong moment (a test's sqlite3, another
// worker) makes its write fail with "database is locked"; WAL lets readers and the writer pass.
func CreateStockDB(db string, wal bool) error {
	cmds := []string{".read " + SchemaDir + "/standard-create.sql", ".read " + SchemaDir + "/presence-create.sql"}
	if wal {
		cmds = append(cmds, "PRAGMA journal_mode=WAL;")
	}
	if out, err := SQLite(db, cmds...); err != nil {
		return fmt.Errorf("create stock DB %s: %v: %s", db, err, out)
	}
	return nil
}

// CreateStockTables runs Debian's <name>-create.sql scripts (standard, presence, rls, ...) in
// the instance's database, as an operator sets up stock: from the MySQL scripts on MariaDB,
// from the SQLite ones otherwise.
func (k *Kamailio) CreateStockTables(names ...string) error {
	for _, n := range names {
		var err error
		var out string
		if k.MariaDB != nil {
			err = k.MariaDB.Source(k.Database, filepath.Join(MySQLSchemaDir, n+"-create.sql"))
		} else {
			out, err = SQLite(k.DB, ".read "+filepath.Join(SchemaDir, n+"-create.sql"))
		}
		if err != nil {
			return fmt.Errorf("creating %s tables: %v %s", n, err, out)
		}
	}
	return nil
}

// Query runs SQL on the instance's database, SQLite or MariaDB, and returns its rows as
// sqlite3 prints them (columns separated by '|', one row a line), bounded in time.
func (k *Kamailio) Query(sql string) (string, error) {
	if k.MariaDB != nil {
		return k.MariaDB.Query(k.Database, sql)
	}
	return SQLite(k.DB, sql)
}

// noCores makes the processes this one starts inherit a core size limit of 0 (`ulimit -c 0`):
// a crashing Kamailio would otherwise write a core as big as its shared memory.
var noCores sync.Once

// Launch starts Kamailio in the foreground (-DD) as the leader of its own process group, so
// that Stop reaches every child; its output is appended to kamailio.log. It does not wait.
func (k *Kamailio) Launch() error {
	noCores.Do(func() {
		var lim syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_CORE, &lim) == nil {
			lim.Cur = 0
			syscall.Setrlimit(syscall.RLIMIT_CORE, &lim)
		}
	})
	logFile, err := os.OpenFile(k.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{"-f", k.CfgPath, "-DD", "-E", "-w", k.Dir, "-Y", k.Dir,
		"-P", filepath.Join(k.Dir, "kamailio.pid")}
	if k.ShmMB > 0 {
		args = append(args, "-m", strconv.Itoa(k.ShmMB))
	}
	if k.PkgMB > 0 {
		args = append(args, "-M", strconv.Itoa(k.PkgMB))
	}
	k.Cmd = niceCommand(k.Nice, "kamailio", args...)
	k.Cmd.Stdout, k.Cmd.Stderr = logFile, logFile
	k.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.Cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("%s: cannot run kamailio: %v", k.Target, err)
	}
	k.Started = time.Now()
	k.Exited = make(chan struct{})
	trackGroup(k.PGID(), "kamailio "+k.Target)
	exited, cmd := k.Exited, k.Cmd
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	return nil
}

// PGID is the id of Kamailio's process group (its main process's pid).
func (k *Kamailio) PGID() int { return k.Cmd.Process.Pid }

// Term is an operator's stop: SIGTERM to the main process, which stops its children and runs
// the modules' destroy; it waits for the exit, at most within (then kills the group), and
// returns how long the exit took.
func (k *Kamailio) Term(within time.Duration) (time.Duration, error) {
	t0 := time.Now()
	pgid := k.PGID()
	syscall.Kill(pgid, syscall.SIGTERM)
	if !waitClosed(k.Exited, within) {
		syscall.Kill(-pgid, syscall.SIGKILL)
		waitClosed(k.Exited, 10*time.Second)
		untrackGroup(pgid)
		return time.Since(t0), fmt.Errorf("%s kamailio did not exit within %v of SIGTERM (killed)", k.Target, within)
	}
	d := time.Since(t0)
	// children that outlived the main process (there should be none)
	for i := 0; i < 50 && len(GroupProcs(pgid)) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	untrackGroup(pgid)
	return d, nil
}

// Stop ends the whole process group, politely first, always within bounded time.
func (k *Kamailio) Stop() {
	if k.Cmd == nil || k.Cmd.Process == nil {
		return
	}
	pgid := k.PGID()
	syscall.Kill(-pgid, syscall.SIGTERM)
	if !waitClosed(k.Exited, 10*time.Second) {
		syscall.Kill(-pgid, syscall.SIGKILL)
		waitClosed(k.Exited, 5*time.Second)
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // children that outlived the main process
	untrackGroup(pgid)
}

// CPU is the CPU seconds used so far by every live process of this instance.
func (k *Kamailio) CPU() float64 {
	s, _ := GroupCPU(k.PGID())
	return s
}

// waitClosed waits for ch (closed at a process's exit), at most d.
func waitClosed(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// niceCommand is exec.Command, through nice(1) when nice is not 0 (the bench's BENCH_NICE).
func niceCommand(nice int, name string, args ...string) *exec.Cmd {
	if nice == 0 {
		return exec.Command(name, args...)
	}
	return exec.Command("nice", append([]string{"-n", strconv.Itoa(nice), name}, args...)...)
}
