//go:build cgo

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// Another process holding the write lock (kamctl, a second node) makes a write wait (the busy
// timeout), not fail with "database is locked" as stock db_sqlite does.
func TestWriteWaitsForAnotherWriter(t *testing.T) {
	u := newURL(t)
	b, err := db.Open(u, db.DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	other, err := sql.Open("sqlite3", strings.TrimPrefix(u, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	const held = 300 * time.Millisecond
	release := time.AfterFunc(held, func() { conn.ExecContext(ctx, "COMMIT") })
	defer release.Stop()
	start := time.Now()
	p := &db.Presentity{Username: "a", Domain: "b", Event: "presence", ETag: "e", RUID: "r", Body: []byte{}}
	if err := b.Apply([]db.Op{{Kind: db.InsertPresentity, Presentity: p}}); err != nil {
		t.Fatalf("write while another connection held the lock: %v", err)
	}
	if d := time.Since(start); d < held/2 {
		t.Errorf("write done in %v while the lock was held for %v", d, held)
	}
}
