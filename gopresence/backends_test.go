package gopresence

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/memdb"
)

// testBackend is a database the engine's tests run on.
type testBackend struct {
	name string
	// newURL names a new, empty database.
	newURL func(t testing.TB) string
	// refuseWrites makes the engine's database refuse every write from now on, from outside
	// the engine (an operator's mistake, a full disk).
	refuseWrites func(t testing.TB, e *Engine)
}

var memSeq atomic.Int64

var memBackend = testBackend{
	name: "memdb",
	newURL: func(t testing.TB) string {
		return fmt.Sprintf("memory://%s-%d", t.Name(), memSeq.Add(1))
	},
	refuseWrites: func(t testing.TB, e *Engine) {
		e.store.(*memdb.DB).FailWith(func(db.Op) error { return errors.New("no space left on device") })
	},
}

// storageBackends are the databases the storage tests run on: the in-memory one always,
// SQLite too when cgo is on (sqlite_test.go), so CGO_ENABLED=0 still tests every storage mode.
var storageBackends = []testBackend{memBackend}

// benchBackend is what the benchmarks measure with: SQLite, the production backend, when cgo
// is on (sqlite_test.go).
var benchBackend = memBackend

// forEachBackend runs a storage test on every backend.
func forEachBackend(t *testing.T, test func(t *testing.T, b testBackend)) {
	for _, b := range storageBackends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}
