// Package memdb is an in-memory backend of package db, for db_url memory://name. Pure Go: the
// engine's tests run on it without cgo. It is a real store, not a stub: it keeps Kamailio's
// tables (renamed ones too) with their unique keys and version rows, applies each batch
// atomically, and passes the same db/storagetest suite as SQLite. Every open of the same name
// in a process shares one database (a restart within a test finds its rows); memory:// with no
// name is a new private one. Tests can make it refuse writes (FailWith) or hold a wrong
// table version (SetVersion).
package memdb

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gopresence/gopresence/db"
)

func init() { db.Register("memory", Open) }

// ErrClosed: the handle was closed.
var ErrClosed = errors.New("memdb: database closed")

// ErrConstraint: a write would break a unique key (as SQLite's UNIQUE constraint failed).
var ErrConstraint = errors.New("memdb: unique constraint failed")

var (
	namedMu sync.Mutex
	named   = map[string]*database{}
)

// Open opens memory://name (a name shared within the process) or memory:// (private), creating
// the tables t names when missing.
func Open(dbURL string, t db.Tables) (db.Backend, error) {
	_, name, _ := strings.Cut(dbURL, "://")
	var d *database
	if name == "" {
		d = newDatabase()
	} else {
		namedMu.Lock()
		if d = named[name]; d == nil {
			d = newDatabase()
			named[name] = d
		}
		namedMu.Unlock()
	}
	d.create(t)
	return &DB{d: d, t: t}, nil
}

// DB is one open handle on a database.
type DB struct {
	d      *database
	t      db.Tables
	closed bool // under d.mu
}

// database is what every handle of one name shares.
type database struct {
	mu       sync.Mutex
	versions map[string]int
	pres     map[string]*presTable
	watch    map[string]*watchTable
	auth     map[string]map[authKey]*db.Authorization // watchers tables
	nextID   int64                                    // row ids, as SQLite's: load order among equal received times
	fault    func(op db.Op) error
	// wlock is the write lock of a shared-mode transaction (Lock): capacity 1.
	wlock chan struct{}
}

type presTable struct {
	rows   map[int64]*db.Presentity
	byRUID map[string]int64
	byETag map[presKey]int64 // presentity_idx: (username, domain, event, etag)
}

type presKey struct{ username, domain, event, etag string }

func keyOf(p *db.Presentity) presKey { return presKey{p.Username, p.Domain, p.Event, p.ETag} }

type watchTable struct {
	rows     map[int64]*db.Watcher
	byDialog map[db.DialogKey]int64
}

// authKey is the watchers table's unique key.
type authKey struct{ presURI, user, domain, event string }

func authKeyOf(a *db.Authorization) authKey {
	return authKey{a.PresentityURI, a.WatcherUsername, a.WatcherDomain, a.Event}
}

func newDatabase() *database {
	return &database{versions: map[string]int{"version": 1}, pres: map[string]*presTable{},
		watch: map[string]*watchTable{}, auth: map[string]map[authKey]*db.Authorization{},
		wlock: make(chan struct{}, 1)}
}

// create adds the tables that are missing, with their version rows (CREATE TABLE IF NOT
// EXISTS and INSERT OR IGNORE into version, as the SQLite schema does).
func (d *database) create(t db.Tables) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for stock, name := range t.Renamed() {
		if _, ok := d.versions[name]; !ok {
			d.versions[name] = db.RequiredVersions[stock]
		}
	}
	if d.pres[t.Presentity] == nil {
		d.pres[t.Presentity] = &presTable{rows: map[int64]*db.Presentity{}, byRUID: map[string]int64{}, byETag: map[presKey]int64{}}
	}
	if d.auth[t.Watchers] == nil {
		d.auth[t.Watchers] = map[authKey]*db.Authorization{}
	}
	if d.watch[t.ActiveWatchers] == nil {
		d.watch[t.ActiveWatchers] = &watchTable{rows: map[int64]*db.Watcher{}, byDialog: map[db.DialogKey]int64{}}
	}
}

// FailWith makes every later write ask f first, op by op inside the transaction: an error
// fails the batch (nothing of it applied), a panic too (after the rollback). Nil heals.
// It acts on the database, so every handle of the name sees it (a broken disk, not a handle).
func (b *DB) FailWith(f func(op db.Op) error) {
	b.d.mu.Lock()
	b.d.fault = f
	b.d.mu.Unlock()
}

// SetVersion rewrites a table's version row (a database of another Kamailio version).
func (b *DB) SetVersion(table string, v int) {
	b.d.mu.Lock()
	b.d.versions[table] = v
	b.d.mu.Unlock()
}

// TableVersion reads table's version row.
func (b *DB) TableVersion(table string) (int, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if b.closed {
		return 0, ErrClosed
	}
	v, ok := b.d.versions[table]
	if !ok {
		return 0, fmt.Errorf("memdb: no version row for %q", table)
	}
	return v, nil
}

// Close closes the handle; the database stays for the next Open of its name.
func (b *DB) Close() error {
	b.d.mu.Lock()
	b.closed = true
	b.d.mu.Unlock()
	return nil
}

// LoadPresentities returns copies of the unexpired rows, oldest received first.
func (b *DB) LoadPresentities(now int64) ([]db.Presentity, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	return selectRows(b.d.pres[b.t.Presentity].rows,
		func(p *db.Presentity) bool { return p.Expires > now || p.Expires == -1 },
		func(p, q *db.Presentity) int { return cmp.Compare(p.ReceivedTime, q.ReceivedTime) },
		copyPresentity), nil
}

// LoadWatchers returns copies of the unexpired rows, in insertion order.
func (b *DB) LoadWatchers(now int64) ([]db.Watcher, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	return selectRows(b.d.watch[b.t.ActiveWatchers].rows,
		func(w *db.Watcher) bool { return w.Expires > now },
		func(p, q *db.Watcher) int { return 0 },
		func(w *db.Watcher) db.Watcher { return *w }), nil
}

// LoadAuthorizations returns copies of the watchers table's rows, ordered by key.
func (b *DB) LoadAuthorizations() ([]db.Authorization, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	out := make([]db.Authorization, 0, len(b.d.auth[b.t.Watchers]))
	for _, a := range b.d.auth[b.t.Watchers] {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(x, y db.Authorization) int {
		return cmp.Or(cmp.Compare(x.PresentityURI, y.PresentityURI), cmp.Compare(x.Event, y.Event),
			cmp.Compare(x.WatcherDomain, y.WatcherDomain), cmp.Compare(x.WatcherUsername, y.WatcherUsername))
	})
	return out, nil
}

// selectRows copies the rows keep accepts, ordered by order and then by id (insertion
// order, as SQLite's rowid).
func selectRows[R any](rows map[int64]*R, keep func(*R) bool, order func(a, b *R) int, copyRow func(*R) R) []R {
	ids := make([]int64, 0, len(rows))
	for id, r := range rows {
		if keep(r) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b int64) int {
		if c := order(rows[a], rows[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	out := make([]R, len(ids))
	for i, id := range ids {
		out[i] = copyRow(rows[id])
	}
	return out
}

func copyPresentity(p *db.Presentity) db.Presentity {
	c := *p
	c.Body = append([]byte{}, p.Body...)
	return c
}
