package gopresence

import (
	"os"
	"sync"
	"testing"

	_ "github.com/gopresence/gopresence/db/mysql" // registers mysql://
	"github.com/gopresence/gopresence/tests/harness"
)

// The shared mode's engine tests run on MySQL/MariaDB too, where row locks and transactions are
// the server's: GOPRESENCE_MYSQL_URL names a server (mysql://user:password@host:port/any, a
// user that may create databases), or the tests start a private MariaDB when one is installed
// (scripts/deps.sh); without either they run on the other backends only, unless
// GOPRESENCE_MYSQL_REQUIRED=1 (make test) makes that a failure.

var mysqlServer struct {
	once sync.Once
	srv  *harness.MariaDB
	url  string
	err  error
}

// mysqlBackend is nil when there is no server to test on.
func mysqlBackend(t *testing.T) *testBackend {
	mysqlServer.once.Do(func() {
		if u := os.Getenv("GOPRESENCE_MYSQL_URL"); u != "" {
			mysqlServer.url = u
			return
		}
		if !harness.MariaDBAvailable() {
			return
		}
		dir, err := os.MkdirTemp("", "gopresence-engine-mariadb-")
		if err != nil {
			mysqlServer.err = err
			return
		}
		mysqlServer.srv, mysqlServer.err = harness.StartMariaDB(dir)
	})
	switch {
	case mysqlServer.err != nil:
		t.Fatalf("MariaDB for the engine tests: %v", mysqlServer.err)
	case mysqlServer.srv == nil && mysqlServer.url == "":
		if os.Getenv("GOPRESENCE_MYSQL_REQUIRED") == "1" {
			t.Fatal("GOPRESENCE_MYSQL_REQUIRED=1 but no MariaDB installed and no GOPRESENCE_MYSQL_URL")
		}
		return nil
	}
	return &testBackend{name: "mysql", newURL: func(t testing.TB) string {
		if mysqlServer.srv == nil {
			return mysqlServer.url
		}
		name, err := mysqlServer.srv.NewDB("engine")
		if err != nil {
			t.Fatal(err)
		}
		return mysqlServer.srv.URL(name)
	}}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if mysqlServer.srv != nil {
		mysqlServer.srv.Stop()
		os.RemoveAll(mysqlServer.srv.Dir)
	}
	os.Exit(code)
}
