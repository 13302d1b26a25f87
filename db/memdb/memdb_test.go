package memdb_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/memdb"
	"github.com/gopresence/gopresence/db/storagetest"
)

var seq atomic.Int64

// NewURL names a database no other test uses.
func NewURL(t *testing.T) string {
	return fmt.Sprintf("memory://%s-%d", t.Name(), seq.Add(1))
}

func TestStorageSuite(t *testing.T) {
	storagetest.Run(t, storagetest.Target{
		NewURL: NewURL,
		SetVersion: func(t *testing.T, dbURL, table string, v int) {
			b, err := db.Open(dbURL, db.DefaultTables)
			if err != nil {
				t.Fatal(err)
			}
			b.(*memdb.DB).SetVersion(table, v)
			b.Close()
		},
	})
}

// FailWith refuses writes, whole batches, until healed; a panic in it rolls back too.
func TestFailWith(t *testing.T) {
	b, err := db.Open(NewURL(t), db.DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	broken := errors.New("disk on fire")
	ins := func(ruid string) db.Op {
		return db.Op{Kind: db.InsertPresentity, Presentity: &db.Presentity{ETag: "e" + ruid, RUID: ruid, Expires: -1}}
	}
	b.(*memdb.DB).FailWith(func(op db.Op) error {
		if op.Presentity.RUID == "bad" {
			return broken
		}
		return nil
	})
	if err := b.Apply([]db.Op{ins("ok"), ins("bad")}); !errors.Is(err, broken) {
		t.Fatalf("got %v, want the injected error", err)
	}
	b.(*memdb.DB).FailWith(func(op db.Op) error { panic("injected") })
	func() {
		defer func() { recover() }()
		b.Apply([]db.Op{ins("ok")})
	}()
	if got, _ := b.LoadPresentities(0); len(got) != 0 {
		t.Fatalf("a refused batch left %d rows", len(got))
	}
	b.(*memdb.DB).FailWith(nil)
	if err := b.Apply([]db.Op{ins("ok")}); err != nil {
		t.Fatal(err)
	}
}

// memory:// without a name is a private database; a closed handle refuses work.
func TestPrivateAndClosed(t *testing.T) {
	a, _ := db.Open("memory://", db.DefaultTables)
	a.Apply([]db.Op{{Kind: db.InsertPresentity, Presentity: &db.Presentity{RUID: "r", Expires: -1}}})
	b, _ := db.Open("memory://", db.DefaultTables)
	if got, _ := b.LoadPresentities(0); len(got) != 0 {
		t.Fatal("two memory:// databases share rows")
	}
	a.Close()
	if err := a.Apply(nil); !errors.Is(err, memdb.ErrClosed) {
		t.Fatalf("closed handle: %v", err)
	}
}
