//go:build cgo

package gopresence

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/gopresence/gopresence/db/sqlite" // registers sqlite://
)

var sqliteBackend = testBackend{
	name:   "sqlite",
	newURL: func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "p.db") },
	refuseWrites: func(t testing.TB, e *Engine) {
		other, err := sql.Open("sqlite3", strings.TrimPrefix(e.cfg.DBURL, "sqlite://"))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.ExecContext(context.Background(), "DROP TABLE presentity"); err != nil {
			t.Fatal(err)
		}
	},
}

func init() {
	storageBackends = append(storageBackends, sqliteBackend)
	benchBackend = sqliteBackend
}
