//go:build cgo

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/storagetest"
	"github.com/mattn/go-sqlite3"
)

func newURL(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "p.db") }

func TestStorageSuite(t *testing.T) {
	storagetest.Run(t, storagetest.Target{
		NewURL: newURL,
		SetVersion: func(t *testing.T, dbURL, table string, v int) {
			h, err := sql.Open("sqlite3", strings.TrimPrefix(dbURL, "sqlite://"))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if _, err := h.ExecContext(context.Background(), "UPDATE version SET table_version=? WHERE table_name=?", v, table); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestBadURLs(t *testing.T) {
	for _, u := range []string{"postgres://x/y", "sqlite://", "sqlite:///nonexistent-dir/x/y.db", "::"} {
		if s, err := db.Open(u, db.DefaultTables); err == nil {
			s.Close()
			t.Errorf("%q opened", u)
		}
	}
	if _, err := db.Open("mysql://u:p@h/kamailio", db.DefaultTables); !errors.Is(err, db.ErrScheme) {
		t.Errorf("mysql in a build without it: %v", err)
	}
}

func TestDSNForms(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:///var/lib/k.db":  "file:/var/lib/k.db?",
		"sqlite:////var/lib/k.db": "file:/var/lib/k.db?",
		"sqlite://rel/k.db":       "file:rel/k.db?",
	} {
		dsn, err := DSN(in)
		if err != nil || !strings.HasPrefix(dsn, want) {
			t.Errorf("%s: %s %v", in, dsn, err)
		}
	}
	for _, in := range []string{"sqlite://", "sqlite:///", "sqlite:///a.db?x=1"} {
		if _, err := DSN(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// SQLite's own error, with its code, reaches a caller of the writer through the backend's
// and the writer's context (errors.As through both layers).
func TestSQLiteErrorReachesWriterCaller(t *testing.T) {
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
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrConstraint {
		t.Fatalf("got %v, want a sqlite3.Error with ErrConstraint", err)
	}
	if !strings.Contains(err.Error(), "publication e2") {
		t.Errorf("error %q does not name the row", err)
	}
}
