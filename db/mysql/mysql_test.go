package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/storagetest"
	"github.com/gopresence/gopresence/tests/harness"
)

// The server under test: GOPRESENCE_MYSQL_URL (mysql://user:password@host:port/any, a user
// who may create databases), else a private MariaDB started for this run (tests/harness), else
// the tests skip, unless GOPRESENCE_MYSQL_REQUIRED=1 (make test) makes that a failure.
var (
	serverURL string
	private   *harness.MariaDB // nil with GOPRESENCE_MYSQL_URL: no outage tests on a shared server
	dbSeq     atomic.Int32
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	switch {
	case os.Getenv("GOPRESENCE_MYSQL_URL") != "":
		serverURL = os.Getenv("GOPRESENCE_MYSQL_URL")
	case harness.MariaDBAvailable():
		dir, err := os.MkdirTemp("", "gopresence-mysql-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		private, err = harness.StartMariaDB(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer private.Stop()
		serverURL = private.URL("mysql")
	case os.Getenv("GOPRESENCE_MYSQL_REQUIRED") == "1":
		fmt.Fprintln(os.Stderr, "GOPRESENCE_MYSQL_REQUIRED=1 but no MariaDB installed (scripts/deps.sh) and no GOPRESENCE_MYSQL_URL")
		return 1
	}
	return m.Run()
}

// need skips a test without a server.
func need(t *testing.T) {
	t.Helper()
	if serverURL == "" {
		t.Skip("no MySQL/MariaDB: set GOPRESENCE_MYSQL_URL or install mariadb-server (scripts/deps.sh)")
	}
}

// admin is a connection to the server under test, outside the backend.
func admin(t *testing.T, database string) *sql.DB {
	t.Helper()
	c, err := Config(withDB(serverURL, database))
	if err != nil {
		t.Fatal(err)
	}
	c.MultiStatements = true
	conn, err := mysql.NewConnector(c)
	if err != nil {
		t.Fatal(err)
	}
	h := sql.OpenDB(conn)
	t.Cleanup(func() { h.Close() })
	return h
}

// withDB is u with its database replaced.
func withDB(u, database string) string {
	return u[:strings.LastIndexByte(u, '/')+1] + database
}

// newURL creates an empty database and returns its db_url.
func newURL(t *testing.T) string {
	t.Helper()
	need(t)
	name := fmt.Sprintf("gp_%d_%d", os.Getpid(), dbSeq.Add(1))
	h := admin(t, "mysql")
	if _, err := h.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Exec("DROP DATABASE IF EXISTS " + name) })
	return withDB(serverURL, name)
}

// openShared opens a new database of the suite's server as a shared-mode backend (closed at
// the test's end) and returns its URL too.
func openShared(t *testing.T) (string, db.Shared) {
	u := newURL(t)
	b, err := db.Open(u, db.DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return u, b.(db.Shared)
}

func dbName(u string) string { return u[strings.LastIndexByte(u, '/')+1:] }

func TestStorageSuite(t *testing.T) {
	need(t)
	storagetest.Run(t, storagetest.Target{
		NewURL: newURL,
		SetVersion: func(t *testing.T, dbURL, table string, v int) {
			if _, err := admin(t, dbName(dbURL)).Exec("UPDATE version SET table_version=? WHERE table_name=?", v, table); err != nil {
				t.Fatal(err)
			}
		},
		LockRows: func(t *testing.T, dbURL string) []string {
			rows, err := admin(t, dbName(dbURL)).Query("SELECT uri FROM " + LockTable + " ORDER BY uri")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var uris []string
			for rows.Next() {
				var u string
				if err := rows.Scan(&u); err != nil {
					t.Fatal(err)
				}
				uris = append(uris, u)
			}
			return uris
		},
	})
}

// The tables the backend creates are the ones Debian's scripts create: same columns, types,
// defaults, keys and version rows (SHOW CREATE TABLE of both, side by side).
func TestSchemaAsDebian(t *testing.T) {
	ours := newURL(t)
	b, err := db.Open(ours, db.DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	debian := newURL(t)
	dh := admin(t, dbName(debian))
	for _, f := range []string{"standard-create.sql", "presence-create.sql"} {
		text, err := os.ReadFile(harness.MySQLSchemaDir + "/" + f)
		if err != nil {
			t.Skipf("Debian's MySQL schema: %v (kamailio-mysql-modules, scripts/deps.sh)", err)
		}
		if _, err := dh.Exec(string(text)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	oh := admin(t, dbName(ours))
	show := func(h *sql.DB, table string) string {
		var name, create string
		if err := h.QueryRow("SHOW CREATE TABLE `"+table+"`").Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		// the next id is the only thing two equal tables may differ in
		return regexp.MustCompile(`AUTO_INCREMENT=\d+ `).ReplaceAllString(create, "")
	}
	for _, table := range []string{"version", "presentity", "active_watchers", "watchers", "xcap"} {
		if o, d := show(oh, table), show(dh, table); o != d {
			t.Errorf("%s differs from Debian's:\nours:\n%s\nDebian's:\n%s", table, o, d)
		}
		var ov, dv int
		q := "SELECT table_version FROM version WHERE table_name=?"
		if err := oh.QueryRow(q, table).Scan(&ov); err != nil {
			t.Fatal(err)
		}
		if err := dh.QueryRow(q, table).Scan(&dv); err != nil {
			t.Fatal(err)
		}
		if ov != dv {
			t.Errorf("%s: version %d, Debian's %d", table, ov, dv)
		}
	}
	// and the backend opens Debian's tables as they are
	b, err = db.Open(debian, db.DefaultTables)
	if err != nil {
		t.Fatalf("Debian's tables: %v", err)
	}
	b.Close()
}

// A taken key is the server's refusal (a MySQLError, 1062), not an outage, and reaches a
// caller of the writer through both layers' context.
func TestServerErrorReachesWriterCaller(t *testing.T) {
	b, err := db.Open(newURL(t), db.DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	w := db.NewWriter(b)
	defer w.Close()
	p := &db.Presentity{Username: "a", Domain: "b", Event: "presence", ETag: "e", RUID: "r", Body: []byte{}}
	if err := <-w.Enqueue(db.Op{Kind: db.InsertPresentity, Presentity: p}); err != nil {
		t.Fatal(err)
	}
	dup := *p
	dup.ETag = "e2"
	err = <-w.Enqueue(db.Op{Kind: db.InsertPresentity, Presentity: &dup})
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1062 {
		t.Fatalf("got %v, want a MySQLError 1062", err)
	}
	if errors.Is(err, db.ErrUnavailable) || !strings.Contains(err.Error(), "publication e2") {
		t.Errorf("error %q: marked unavailable, or does not name the row", err)
	}
}

// Tables without transactions (MyISAM) are refused at open, with the fix in the message.
func TestMyISAMRefused(t *testing.T) {
	u := newURL(t)
	if _, err := admin(t, dbName(u)).Exec("CREATE TABLE presentity (id INT) ENGINE=MyISAM"); err != nil {
		t.Fatal(err)
	}
	b, err := db.Open(u, db.DefaultTables)
	if err == nil {
		b.Close()
		t.Fatal("MyISAM presentity accepted")
	}
	if !strings.Contains(err.Error(), "ALTER TABLE presentity ENGINE=InnoDB") {
		t.Errorf("error %q does not say what to do", err)
	}
}

// What the URL forms connect to (Kamailio's db_mysql meanings).
func TestConfigForms(t *testing.T) {
	t.Setenv("MYSQL_UNIX_PORT", "")
	for in, want := range map[string]string{
		"mysql://u:p@localhost/k":      "unix /run/mysqld/mysqld.sock u k",
		"mysql://u:p@localhost:3307/k": "unix /run/mysqld/mysqld.sock u k",
		"mysql://u:p@db.example/k":     "tcp db.example:3306 u k",
		"mysql://u:p@10.1.2.3:3307/k":  "tcp 10.1.2.3:3307 u k",
		"mysql://u:p@[::1]:3307/k":     "tcp [::1]:3307 u k",
		"mysql://u@h/k":                "tcp h:3306 u k",
	} {
		c, err := Config(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := fmt.Sprintf("%s %s %s %s", c.Net, c.Addr, c.User, c.DBName); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	t.Setenv("MYSQL_UNIX_PORT", "/tmp/other.sock")
	if c, _ := Config("mysql://u@localhost/k"); c.Addr != "/tmp/other.sock" {
		t.Errorf("MYSQL_UNIX_PORT ignored: %s", c.Addr)
	}
	if _, err := Config("mysql://u:secret@[kamailio]/k"); err == nil || !strings.Contains(err.Error(), "my.cnf") || strings.Contains(err.Error(), "secret") {
		t.Errorf("[group]: %v", err)
	}
}

// "localhost" is the server's unix socket, as for Kamailio's db_mysql.
func TestUnixSocket(t *testing.T) {
	if private == nil {
		t.Skip("needs the private MariaDB (its socket path)")
	}
	u := newURL(t)
	t.Setenv("MYSQL_UNIX_PORT", private.Socket)
	b, err := db.Open(fmt.Sprintf("mysql://%s:%s@localhost/%s", private.User, private.Password, dbName(u)), db.DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

// No error shows the password: a wrong one, a server that is not there, a bad URL.
func TestPasswordNeverShown(t *testing.T) {
	need(t)
	const secret = "Sekr3t-pw"
	u, _ := db.ParseURL(serverURL)
	closed, err := harness.FreePort(true)
	if err != nil {
		t.Fatal(err)
	}
	for name, dbURL := range map[string]string{
		"wrong password": fmt.Sprintf("mysql://%s:%s@%s:%d/mysql", u.User, secret, u.Host, u.Port),
		"no server":      fmt.Sprintf("mysql://%s:%s@127.0.0.1:%d/mysql", u.User, secret, closed),
		"bad port":       fmt.Sprintf("mysql://%s:%s@127.0.0.1:x%d/mysql", u.User, secret, closed),
		"no database":    fmt.Sprintf("mysql://%s:%s@127.0.0.1:%d", u.User, secret, closed),
		"one slash":      fmt.Sprintf("mysql:/%s:%s@127.0.0.1/mysql", u.User, secret),
		"group":          fmt.Sprintf("mysql://%s:%s@[grp]/mysql", u.User, secret),
	} {
		b, err := db.Open(dbURL, db.DefaultTables)
		if err == nil {
			b.Close()
			t.Errorf("%s: opened", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// A server that goes away fails Apply with ErrUnavailable and nothing else; once it is back,
// the next Apply works on the same backend (the pool reconnects), and every write acknowledged
// before is there — after a clean stop and after a crash (SIGKILL).
func TestServerRestartSurvived(t *testing.T) {
	if private == nil {
		t.Skip("needs the private MariaDB (it is stopped and started)")
	}
	u := newURL(t)
	b, err := db.Open(u, db.DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ins := func(ruid string) error {
		p := &db.Presentity{Username: "a", Domain: "b", Event: "presence", ETag: "e-" + ruid, RUID: ruid, Body: []byte("x"), Expires: -1}
		return b.Apply([]db.Op{{Kind: db.InsertPresentity, Presentity: p}})
	}
	for i, outage := range []func() error{private.Stop, private.Kill} {
		before, during, after := fmt.Sprint("before", i), fmt.Sprint("during", i), fmt.Sprint("after", i)
		if err := ins(before); err != nil {
			t.Fatal(err)
		}
		if err := outage(); err != nil {
			t.Fatal(err)
		}
		err := ins(during)
		if !errors.Is(err, db.ErrUnavailable) {
			t.Errorf("outage %d: Apply gave %v, want ErrUnavailable", i, err)
		}
		if _, err := b.LoadPresentities(0); !errors.Is(err, db.ErrUnavailable) {
			t.Errorf("outage %d: load gave %v, want ErrUnavailable", i, err)
		}
		if err := private.Start(); err != nil {
			t.Fatal(err)
		}
		if err := ins(after); err != nil {
			t.Fatalf("outage %d: the first Apply after the restart: %v", i, err)
		}
	}
	got, err := b.LoadPresentities(0)
	if err != nil {
		t.Fatal(err)
	}
	var ruids []string
	for _, p := range got {
		ruids = append(ruids, p.RUID)
	}
	if want := "[before0 after0 before1 after1]"; fmt.Sprint(ruids) != want {
		t.Errorf("rows %v, want %s", ruids, want)
	}
}

// Every Lock of a presentity updates its row of gopresence_lock, the first one too (after
// creating it): the update is what two nodes' transactions of one presentity collide on.
func TestLockUpdatesItsRowEveryTime(t *testing.T) {
	u, b := openShared(t)
	for want := 1; want <= 2; want++ {
		tx, err := b.Lock(context.Background(), "sip:alice@ex.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := admin(t, dbName(u)).QueryRow("SELECT changes FROM " + LockTable + " WHERE uri = 'sip:alice@ex.com'").Scan(&n); err != nil || n != want {
			t.Fatalf("after Lock %d: changes = %d, %v; want %d", want, n, err, want)
		}
	}
}

// A rollback that cannot reach the server (its connection killed) is reported as the outage it
// is, not taken for done; a rollback after the commit is no error.
func TestRollbackOfKilledConnectionReported(t *testing.T) {
	u, b := openShared(t)
	ctx := context.Background()
	done, err := b.Lock(ctx, "sip:alice@ex.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := done.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := done.Rollback(); err != nil {
		t.Errorf("Rollback after Commit: %v", err)
	}
	tx, err := b.Lock(ctx, "sip:alice@ex.com")
	if err != nil {
		t.Fatal(err)
	}
	h := admin(t, "mysql")
	rows, err := h.Query("SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()", dbName(u))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		h.Exec(fmt.Sprintf("KILL %d", id))
	}
	if err := tx.Rollback(); !errors.Is(err, db.ErrUnavailable) {
		t.Fatalf("Rollback on a killed connection (%d killed): %v, want db.ErrUnavailable", len(ids), err)
	}
}

// A dialog not found is read again as a causal read (wsrep_sync_wait=1, shared.go): the
// connection it ran on goes back to the pool waiting for nothing (the variable put back to 0),
// and a dialog found is found on the first read, without the second.
func TestCausalDialogReadLeavesNoWait(t *testing.T) {
	need(t)
	_, sh := openShared(t)
	s := sh.(*store)
	s.h.SetMaxOpenConns(1) // the one connection the causal read ran on is the one read below
	if u, err := s.DialogURI(context.Background(), db.DialogKey{CallID: "none", ToTag: "t", FromTag: "f"}); err != nil || u != "" {
		t.Fatalf("DialogURI of no dialog: %q, %v", u, err)
	}
	if s.noSyncWait.Load() {
		t.Fatal("MariaDB knows wsrep_sync_wait: the causal read must not be turned off")
	}
	var w int
	if err := s.h.QueryRow("SELECT @@SESSION.wsrep_sync_wait").Scan(&w); err != nil || w != 0 {
		t.Fatalf("the pooled connection's wsrep_sync_wait after the causal read: %d, %v", w, err)
	}
}
