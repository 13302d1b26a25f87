package db_test

import (
	"testing"
	"time"

	. "github.com/gopresence/gopresence/db"
)

// Op.String names the row an error or a log line is about.
func TestOpString(t *testing.T) {
	for _, c := range []struct {
		op   Op
		want string
	}{
		{Op{Kind: InsertPresentity, Presentity: &Presentity{ETag: "e1", RUID: "r1"}}, "publication e1"},
		{Op{Kind: DeletePresentity, RUID: "r1"}, "publication r1"},
		{Op{Kind: InsertWatcher, Watcher: &Watcher{CallID: "c1"}, Dialog: DialogKey{CallID: "c2"}}, "subscription c1"},
		{Op{Kind: DeleteWatcher, Dialog: DialogKey{CallID: "c2"}}, "subscription c2"},
	} {
		if got := c.op.String(); got != c.want {
			t.Errorf("%+v: String() = %q, want %q", c.op, got, c.want)
		}
	}
}

// Registering a scheme twice is a bug, and the panic names the scheme.
func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "db: backend registered twice for scheme memory" {
			t.Errorf("recovered %v, want the duplicate scheme named", r)
		}
	}()
	Register("MEMORY", nil)
	t.Error("a second backend for memory:// registered")
}

// A Post with a shorter delay than the one the timer is armed for brings the commit forward.
func TestPostShorterDelayRearms(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	<-w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("r1", "e1")})
	<-w.Post(time.Time{}, 50*time.Millisecond, Op{Kind: InsertPresentity, Presentity: pres("r2", "e2")})
	deadline := time.Now().Add(5 * time.Second)
	for len(rowsOf(t, s)) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("rows %v 5 s after a Post with a 50 ms delay: the timer kept the hour", rowsOf(t, s))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
