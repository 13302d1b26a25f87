// Package sqlite is the SQLite backend of package db, for db_url sqlite:///path/file.db (the
// form Kamailio's db_sqlite takes). Importing it registers the scheme; it needs cgo
// (github.com/mattn/go-sqlite3; build with -tags libsqlite3 to link the system SQLite).
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/schema"
	_ "github.com/mattn/go-sqlite3"
)

func init() { db.Register("sqlite", open) }

// DSN turns a Kamailio sqlite db_url into the go-sqlite3 data source name.
func DSN(dbURL string) (string, error) {
	_, rest, _ := strings.Cut(dbURL, "://")
	// Kamailio writes both sqlite:///abs/path.db and sqlite:////abs/path.db; both name
	// /abs/path.db. Without a leading slash the path is relative to Kamailio's -w dir.
	path := rest
	if strings.HasPrefix(path, "/") {
		path = "/" + strings.TrimLeft(path, "/")
	}
	if strings.Trim(path, "/") == "" || strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("db_url %q: no usable database file name", dbURL)
	}
	// WAL lets kamctl read while the engine writes; IMMEDIATE transactions take the write
	// lock up front so two writers never deadlock; NORMAL sync is durable across a crash
	// of Kamailio (not of the machine) at a fraction of FULL's cost; the busy timeout
	// waits out other processes (kamctl, a second node) instead of failing.
	q := "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate"
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q, nil
}

// open connects, creates the tables when missing, and prepares the statements.
func open(dbURL string, t db.Tables) (db.Backend, error) {
	dsn, err := DSN(dbURL)
	if err != nil {
		return nil, err
	}
	h, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("db_url %q: %w", dbURL, err)
	}
	h.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	if err := h.Ping(); err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: cannot open: %w", dbURL, err)
	}
	ddl := schema.SQLite
	for stock, name := range t.Renamed() {
		if name != stock {
			ddl = renameTable(ddl, stock, name)
		}
	}
	if _, err := h.Exec(ddl); err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: creating tables: %w", dbURL, err)
	}
	c, err := h.Conn(context.Background())
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: %w", dbURL, err)
	}
	s := &store{h: h, c: c, t: t}
	if err := s.prepare(); err != nil {
		c.Close()
		h.Close()
		return nil, fmt.Errorf("db_url %q: %w", dbURL, err)
	}
	return s, nil
}

// renameTable rewrites one table's statements for a renamed table (presentity_table & co.).
func renameTable(ddl, stock, name string) string {
	r := strings.NewReplacer(
		"TABLE IF NOT EXISTS "+stock+" (", "TABLE IF NOT EXISTS "+name+" (",
		" ON "+stock+" (", " ON "+name+" (",
		"INDEX IF NOT EXISTS "+stock+"_", "INDEX IF NOT EXISTS "+name+"_",
		"values ('"+stock+"',", "values ('"+name+"',",
	)
	return r.Replace(ddl)
}
