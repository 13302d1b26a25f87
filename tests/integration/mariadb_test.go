//go:build integration

package integration

import (
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/gopresence/gopresence/tests/harness"
)

// The suite's MariaDB: one private server for the whole run (started by the first test that
// needs it, stopped after the last), one database per Kamailio. Tests that stop the server
// start their own (startOwnMariaDB).
var suiteDB struct {
	once sync.Once
	srv  *harness.MariaDB
	dir  string
	err  error
}

// suiteMariaDB returns the suite's server. Without MariaDB installed the test skips, unless
// GOPRESENCE_MYSQL_REQUIRED=1 (make test), which makes it a failure.
func suiteMariaDB(t *testing.T) *harness.MariaDB {
	t.Helper()
	needMariaDB(t)
	suiteDB.once.Do(func() {
		suiteDB.dir, suiteDB.err = os.MkdirTemp("", "gopresence-mariadb-")
		if suiteDB.err == nil {
			suiteDB.srv, suiteDB.err = harness.StartMariaDB(suiteDB.dir)
		}
	})
	if suiteDB.err != nil {
		t.Fatalf("the suite's MariaDB: %v", suiteDB.err)
	}
	return suiteDB.srv
}

func needMariaDB(t *testing.T) {
	t.Helper()
	if !harness.MariaDBAvailable() {
		if os.Getenv("GOPRESENCE_MYSQL_REQUIRED") == "1" {
			t.Fatal("GOPRESENCE_MYSQL_REQUIRED=1 but MariaDB is not installed (scripts/deps.sh)")
		}
		t.Skip("MariaDB not installed (scripts/deps.sh): the MySQL variants are skipped")
	}
}

// startOwnMariaDB starts a server for one test alone (one it stops and starts), in the test's
// directory, stopped at the test's end.
func startOwnMariaDB(t *testing.T) *harness.MariaDB {
	t.Helper()
	if !slices.Contains(selectedDBs(t), mysqlDB) {
		t.Skipf("GOPRESENCE_DBS=%s: not testing on MariaDB", os.Getenv("GOPRESENCE_DBS"))
	}
	needMariaDB(t)
	srv, err := harness.StartMariaDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Kill() })
	return srv
}

func stopMariaDB() {
	if suiteDB.srv != nil {
		suiteDB.srv.Stop()
	}
	if suiteDB.dir != "" && os.Getenv("GOPRESENCE_KEEP") != "1" {
		os.RemoveAll(suiteDB.dir)
	}
}
