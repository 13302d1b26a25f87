package db

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Backend is one open database holding Kamailio's presence tables. The engine keeps its state
// in memory and needs only this of a database: load every live row at start, apply a batch of
// changes atomically, and say which table versions it holds. Writer batches the changes; the
// SQL dialect, connection handling and schema creation are the backend's.
//
// Apply's contract, the same for every backend (db/storagetest checks it):
//   - ops apply in order, in one transaction: all or none;
//   - InsertPresentity fails when its ruid, or its (username, domain, event, etag), is taken
//     (presentity's unique keys); so does an UpdatePresentity that would take them;
//   - InsertWatcher replaces the row of the same dialog (callid, to_tag, from_tag);
//   - SetAuthorization replaces the watchers row of the same (presentity_uri, watcher, event);
//   - an update or delete of a row that is not there changes nothing and is no error.
type Backend interface {
	// TableVersion reads a table's row of the version table (what Kamailio's
	// db_check_table_version compares).
	TableVersion(table string) (int, error)
	// LoadPresentities returns every publication not expired at now (expires > now, or -1),
	// oldest received first (stock's startup_mode=1).
	LoadPresentities(now int64) ([]Presentity, error)
	// LoadWatchers returns every subscription not expired at now.
	LoadWatchers(now int64) ([]Watcher, error)
	// LoadAuthorizations returns every row of the watchers table.
	LoadAuthorizations() ([]Authorization, error)
	// Apply writes a batch of changes in one transaction: all or none.
	Apply(ops []Op) error
	Close() error
}

// Driver opens a db_url of the scheme it registered for: it connects, creates Kamailio's tables
// when missing (with their version rows), and returns the backend. Open checks the versions.
type Driver func(dbURL string, t Tables) (Backend, error)

// Tables names the three tables the presence modparams can rename.
type Tables struct {
	Presentity, ActiveWatchers, Watchers string
}

// DefaultTables are the stock names.
var DefaultTables = Tables{"presentity", "active_watchers", "watchers"}

// Renamed maps each stock table name to its configured one.
func (t Tables) Renamed() map[string]string {
	return map[string]string{"presentity": t.Presentity, "active_watchers": t.ActiveWatchers, "watchers": t.Watchers}
}

// RequiredVersions are the versions Kamailio 5.6.3 requires (presence.c:80-82), by stock name.
var RequiredVersions = map[string]int{"presentity": 5, "active_watchers": 12, "watchers": 3}

// ErrVersion: a table's version is not the one Kamailio 5.6.3 presence needs.
var ErrVersion = errors.New("table version mismatch")

// ErrScheme: no backend for the db_url's scheme in this build.
var ErrScheme = errors.New("unsupported database scheme")

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a backend available for db_urls of scheme ("sqlite", "mysql"), as
// database/sql drivers do; backends call it from init, and a build links the backends it
// imports. Registering a scheme twice is a bug.
func Register(scheme string, open Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	scheme = strings.ToLower(scheme)
	if _, dup := drivers[scheme]; dup {
		panic("db: backend registered twice for scheme " + scheme)
	}
	drivers[scheme] = open
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	var out []string
	for s := range drivers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open opens a Kamailio db_url (scheme://...) with the backend registered for its scheme and
// checks the table versions exactly as Kamailio does (db_check_table_version: equality).
func Open(dbURL string, t Tables) (Backend, error) {
	scheme, _, ok := strings.Cut(dbURL, "://")
	if !ok {
		return nil, fmt.Errorf("db_url %q: not of the form scheme://...", RedactURL(dbURL))
	}
	driversMu.RLock()
	open := drivers[strings.ToLower(scheme)]
	driversMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("db_url %q: %w %q (this build has: %s)", RedactURL(dbURL), ErrScheme, scheme, strings.Join(Schemes(), ", "))
	}
	b, err := open(dbURL, t)
	if err != nil {
		return nil, err
	}
	if err := checkVersions(b, t); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func checkVersions(b Backend, t Tables) error {
	for stock, name := range t.Renamed() {
		v, err := b.TableVersion(name)
		if err != nil {
			return fmt.Errorf("table %q: no row in the version table: %w", name, err)
		}
		if v != RequiredVersions[stock] {
			return fmt.Errorf("table %q has version %d, Kamailio 5.6.3 presence needs %d: %w", name, v, RequiredVersions[stock], ErrVersion)
		}
	}
	return nil
}
