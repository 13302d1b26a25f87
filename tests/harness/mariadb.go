package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MySQLSchemaDir holds Debian's MySQL scripts of Kamailio's tables (kamailio-mysql-modules),
// from which stock's tables are created.
const MySQLSchemaDir = "/usr/share/kamailio/mysql"

// MariaDB is a private server for tests: Debian's mariadbd on its own datadir, listening on
// 127.0.0.1 at a free port and on its own unix socket, never the system service (no
// /etc/mysql options are read). Tests connect as User with Password, which may do anything;
// the harness's own commands go through the socket as root.
type MariaDB struct {
	Dir, DataDir, Socket string
	Port                 int
	User, Password       string

	// extra are more server options (a Galera node's, galera.go)
	extra []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	nextDB int
}

// mariadbOptions keep a test server small and quick to start: a small buffer pool and redo log
// (the schema is a few tables), no name resolution. Durability is the default one (a commit is
// on disk when acknowledged), which the outage tests rely on.
var mariadbOptions = []string{"--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M",
	"--innodb-data-file-path=ibdata1:10M:autoextend", "--skip-name-resolve"}

const mariadbWait = 30 * time.Second

// MariaDBAvailable says whether Debian's MariaDB server and client are installed
// (scripts/deps.sh installs them).
func MariaDBAvailable() bool {
	for _, p := range []string{"mariadbd", "mariadb-install-db", "mariadb"} {
		if _, err := exec.LookPath(p); err != nil {
			return false
		}
	}
	return true
}

// StartMariaDB creates a datadir under dir (mariadb-install-db, about 5 s), starts the server,
// and creates the test user. Stop it when done (Stop or Kill).
func StartMariaDB(dir string) (*MariaDB, error) {
	if !MariaDBAvailable() {
		return nil, errors.New("mariadb: mariadbd, mariadb-install-db or mariadb not installed (scripts/deps.sh)")
	}
	m, err := newMariaDB(dir)
	if err != nil {
		return nil, err
	}
	if err := m.install(); err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	if err := m.createUser(); err != nil {
		m.Kill()
		return nil, err
	}
	return m, nil
}

// newMariaDB names a server's files under dir, its port and its test user.
func newMariaDB(dir string) (*MariaDB, error) {
	port, err := FreePort(true)
	if err != nil {
		return nil, err
	}
	pw := make([]byte, 8)
	rand.Read(pw)
	m := &MariaDB{Dir: dir, DataDir: filepath.Join(dir, "data"), Port: port,
		// a password with the characters Kamailio's URL grammar treats specially ('@'), so
		// every test of a db_url also checks that it is parsed as Kamailio parses it
		User: "gopresence", Password: "pw@" + hex.EncodeToString(pw)}
	m.Socket = filepath.Join(dir, "mysqld.sock")
	if len(m.Socket) > 100 { // sun_path holds 108 bytes
		short, err := os.MkdirTemp("", "mdb")
		if err != nil {
			return nil, err
		}
		m.Socket = filepath.Join(short, "mysqld.sock")
	}
	return m, nil
}

// createUser creates the test user, who may do anything.
func (m *MariaDB) createUser() error {
	q := fmt.Sprintf("CREATE USER '%[1]s'@'127.0.0.1' IDENTIFIED BY '%[2]s'; CREATE USER '%[1]s'@'localhost' IDENTIFIED BY '%[2]s';"+
		" GRANT ALL ON *.* TO '%[1]s'@'127.0.0.1'; GRANT ALL ON *.* TO '%[1]s'@'localhost';", m.User, m.Password)
	return m.Exec("", q)
}

// install creates the datadir. Its bootstrap server was seen to crash (SIGSEGV in an Aria
// temporary table's drop) when three ran at once on one /tmp: each server has its own tmpdir,
// and a crashed install is tried once more on a fresh datadir.
func (m *MariaDB) install() error {
	var out []byte
	var err error
	for try := 0; try < 2; try++ {
		os.RemoveAll(m.DataDir)
		if err = os.MkdirAll(m.tmpDir(), 0o755); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), mariadbWait)
		args := append([]string{"--no-defaults", "--datadir=" + m.DataDir, "--auth-root-authentication-method=normal",
			"--skip-test-db", "--tmpdir=" + m.tmpDir()}, mariadbOptions...)
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		out, err = exec.CommandContext(ctx, "mariadb-install-db", args...).CombinedOutput()
		cancel()
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
}

func (m *MariaDB) tmpDir() string { return filepath.Join(m.Dir, "tmp") }

// Start starts the server on its datadir and port (again, after Stop or Kill: an outage's end)
// and waits until it answers, at most 30 s.
func (m *MariaDB) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return errors.New("mariadb: already running")
	}
	logf, err := os.OpenFile(filepath.Join(m.Dir, "mariadb.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"--no-defaults", "--datadir=" + m.DataDir, "--socket=" + m.Socket,
		"--port=" + strconv.Itoa(m.Port), "--bind-address=127.0.0.1", "--pid-file=" + filepath.Join(m.Dir, "mariadb.pid"),
		"--log-error=" + filepath.Join(m.Dir, "mariadb.err"), "--tmpdir=" + m.tmpDir()}, mariadbOptions...)
	args = append(args, m.extra...)
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	cmd := exec.Command("mariadbd", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("mariadb: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	m.cmd, m.exited = cmd, exited
	trackGroup(cmd.Process.Pid, "mariadbd")
	deadline := time.Now().Add(mariadbWait)
	for {
		if _, err := m.query("", "SELECT 1"); err == nil {
			return nil
		}
		select {
		case <-exited:
			m.cmd = nil
			untrackGroup(cmd.Process.Pid)
			return fmt.Errorf("mariadb exited at start-up: %s", m.errTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			m.cmd = nil
			untrackGroup(cmd.Process.Pid)
			return fmt.Errorf("mariadb not answering after %v: %s", mariadbWait, m.errTail())
		}
	}
}

func (m *MariaDB) errTail() string {
	b, _ := os.ReadFile(filepath.Join(m.Dir, "mariadb.err"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

// Stop shuts the server down cleanly (SIGTERM: every commit is on disk) and waits for it,
// at most 30 s (then kills it).
func (m *MariaDB) Stop() error { return m.end(syscall.SIGTERM) }

// PGID is the process group of the running server (0 when stopped): GroupCPU(PGID()) is its
// CPU, which the bench counts with Kamailio's when Kamailio's tables are on it.
func (m *MariaDB) PGID() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Kill ends the server at once (SIGKILL), as a crash does: InnoDB recovers at the next Start.
func (m *MariaDB) Kill() error { return m.end(syscall.SIGKILL) }

func (m *MariaDB) end(sig syscall.Signal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return nil
	}
	pgid := m.cmd.Process.Pid
	syscall.Kill(pgid, sig)
	var err error
	select {
	case <-m.exited:
	case <-time.After(mariadbWait):
		err = fmt.Errorf("mariadb did not stop within %v of %v (killed)", mariadbWait, sig)
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-m.exited
	}
	untrackGroup(pgid)
	m.cmd = nil
	return err
}

// URL is the Kamailio db_url of database db: mysql://user:password@127.0.0.1:port/db.
func (m *MariaDB) URL(db string) string {
	return fmt.Sprintf("mysql://%s:%s@127.0.0.1:%d/%s", m.User, m.Password, m.Port, db)
}

// CreateDB creates database name (empty).
func (m *MariaDB) CreateDB(name string) error {
	return m.Exec("", "CREATE DATABASE `"+name+"`")
}

// NewDB creates an empty database with a name no other call of this server's gave
// (prefix_N, prefix made of the characters a database name may hold) and returns the name.
func (m *MariaDB) NewDB(prefix string) (string, error) {
	m.mu.Lock()
	m.nextDB++
	n := m.nextDB
	m.mu.Unlock()
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, prefix)
	name := fmt.Sprintf("%.40s_%d", clean, n)
	return name, m.CreateDB(name)
}

// Exec runs SQL statements (separated by ';') in database db ("" for none).
func (m *MariaDB) Exec(db, sql string) error {
	_, err := m.Query(db, sql)
	return err
}

// Query runs SQL in database db and returns its rows as sqlite3 prints them by default: one
// line per row, columns separated by '|', no header, trimmed; so a test's check reads the same
// on either database.
func (m *MariaDB) Query(db, sql string) (string, error) {
	out, err := m.query(db, sql)
	return strings.ReplaceAll(out, "\t", "|"), err
}

// Source runs an SQL script (Debian's *-create.sql) in database db.
func (m *MariaDB) Source(db, file string) error {
	return m.Exec(db, "SOURCE "+file)
}

// query runs the mariadb client as root on the socket, bounded in time.
func (m *MariaDB) query(db, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := []string{"--no-defaults", "--protocol=socket", "--socket=" + m.Socket, "--user=root",
		"--batch", "--skip-column-names", "--connect-timeout=5", "-e", sql}
	if db != "" {
		args = append(args, "--database="+db)
	}
	out, err := exec.CommandContext(ctx, "mariadb", args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("mariadb %q: %v: %s", sql, err, s)
	}
	return s, nil
}

// Alive says whether the server accepts TCP connections on its port now.
func (m *MariaDB) Alive() bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.Port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
