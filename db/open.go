package db

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/mattn/go-sqlite3"
)

//go:embed schema/sqlite.sql
var sqliteSchema string

// Tables names the three tables the presence modparams can rename.
type Tables struct {
	Presentity, ActiveWatchers, Watchers string
}

// DefaultTables are the stock names.
var DefaultTables = Tables{"presentity", "active_watchers", "watchers"}

// Versions Kamailio 5.6.3 requires (presence.c:80-82).
var requiredVersions = map[string]int{"presentity": 5, "active_watchers": 12, "watchers": 3}

// ParseURL turns a Kamailio db_url into a driver name and DSN.
// sqlite:///abs/path.db (Kamailio's db_sqlite form) → sqlite3 file.
func ParseURL(dbURL string) (driver, dsn string, err error) {
	scheme, rest, ok := strings.Cut(dbURL, "://")
	if !ok {
		return "", "", fmt.Errorf("db_url %q: not of the form scheme://...", dbURL)
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		// Kamailio writes both sqlite:///abs/path.db and sqlite:////abs/path.db; both name
		// /abs/path.db. Without a leading slash the path is relative to Kamailio's -w dir.
		path := rest
		if strings.HasPrefix(path, "/") {
			path = "/" + strings.TrimLeft(path, "/")
		}
		if strings.Trim(path, "/") == "" || strings.ContainsAny(path, "?#") {
			return "", "", fmt.Errorf("db_url %q: no usable database file name", dbURL)
		}
		// WAL lets kamctl read while the engine writes; IMMEDIATE transactions take the write
		// lock up front so two writers never deadlock; NORMAL sync is durable across a crash
		// of Kamailio (not of the machine) at a fraction of FULL's cost; the busy timeout
		// waits out other processes (kamctl, a second node) instead of failing.
		q := "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_txlock=immediate"
		return "sqlite3", "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q, nil
	case "mysql":
		return "", "", fmt.Errorf("db_url %q: MySQL/MariaDB is not supported by this build yet (use sqlite:///path/file.db)", dbURL)
	default:
		return "", "", fmt.Errorf("db_url %q: unsupported database scheme %q (supported: sqlite)", dbURL, scheme)
	}
}

// Open opens the database, creates the Kamailio tables when missing and checks the
// table versions exactly as Kamailio does (db_check_table_version: equality).
func Open(dbURL string, t Tables) (*Store, error) {
	driver, dsn, err := ParseURL(dbURL)
	if err != nil {
		return nil, err
	}
	h, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("db_url %q: %v", dbURL, err)
	}
	h.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	if err := h.Ping(); err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: cannot open: %v", dbURL, err)
	}
	schema := sqliteSchema
	for stock, name := range map[string]string{"presentity": t.Presentity, "active_watchers": t.ActiveWatchers, "watchers": t.Watchers} {
		if name != stock {
			schema = renameTable(schema, stock, name)
		}
	}
	if _, err := h.Exec(schema); err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: creating tables: %v", dbURL, err)
	}
	for stock, name := range map[string]string{"presentity": t.Presentity, "active_watchers": t.ActiveWatchers, "watchers": t.Watchers} {
		var v int
		err := h.QueryRow("SELECT table_version FROM version WHERE table_name = ?", name).Scan(&v)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("table %q: no row in the version table (%v)", name, err)
		}
		if v != requiredVersions[stock] {
			h.Close()
			return nil, fmt.Errorf("table %q has version %d, Kamailio 5.6.3 presence needs %d", name, v, requiredVersions[stock])
		}
	}
	c, err := h.Conn(context.Background())
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: %v", dbURL, err)
	}
	s := &Store{h: h, c: c, t: t}
	if err := s.prepare(); err != nil {
		c.Close()
		h.Close()
		return nil, err
	}
	return s, nil
}

// renameTable rewrites one table's statements for a renamed table (presentity_table & co.).
func renameTable(schema, stock, name string) string {
	r := strings.NewReplacer(
		"TABLE IF NOT EXISTS "+stock+" (", "TABLE IF NOT EXISTS "+name+" (",
		" ON "+stock+" (", " ON "+name+" (",
		"INDEX IF NOT EXISTS "+stock+"_", "INDEX IF NOT EXISTS "+name+"_",
		"values ('"+stock+"',", "values ('"+name+"',",
	)
	return r.Replace(schema)
}
