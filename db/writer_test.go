package db

import (
	"sync"
	"testing"
	"time"
)

func pres(ruid, etag string) *Presentity {
	return &Presentity{Username: "a", Domain: "b", Event: "presence", ETag: etag, RUID: ruid, Body: []byte{}, Expires: 5000}
}

func rowsOf(t *testing.T, s *Store) map[string]string {
	t.Helper()
	got, err := s.LoadPresentities(0)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range got {
		m[p.RUID] = p.ETag
	}
	return m
}

// A posted op is not waited for, is not in the database at once, and is there after its delay.
func TestPostWritesBehind(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	if err := <-w.Post(time.Time{}, 300*time.Millisecond, Op{Kind: InsertPresentity, Presentity: pres("r1", "e1")}); err != nil {
		t.Fatal(err)
	}
	if n := len(rowsOf(t, s)); n != 0 {
		t.Fatalf("%d rows right after Post: not written behind", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rowsOf(t, s)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("posted op never committed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ops commit in submission order whether posted or enqueued: an Enqueue after Posts commits them
// first (an update posted after an insert never reaches the database before it).
func TestPostThenEnqueueKeepsOrder(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("r1", "e1")})
	w.Post(time.Time{}, time.Hour, Op{Kind: UpdatePresentity, Presentity: pres("r1", "e2")})
	if err := <-w.Enqueue(Op{Kind: InsertPresentity, Presentity: pres("r2", "x")}); err != nil {
		t.Fatal(err)
	}
	if m := rowsOf(t, s); m["r1"] != "e2" || m["r2"] != "x" {
		t.Fatalf("rows %v", m)
	}
}

// Past MaxQueued, Post waits for the commit like Enqueue (back-pressure, not an endless queue).
func TestPostFullQueueWaits(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	w.MaxQueued = 2
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("r1", "e")})
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("r2", "e2")})
	if err := <-w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("r3", "e3")}); err != nil {
		t.Fatal(err)
	}
	if n := len(rowsOf(t, s)); n != 3 {
		t.Fatalf("%d rows after the over-bound Post returned, want 3", n)
	}
}

// A posted op that fails reaches OnError; its neighbours in the batch are written.
func TestPostFailureReported(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	var mu sync.Mutex
	var failed []Op
	w.OnError = func(err error, ops []Op) { mu.Lock(); failed = append(failed, ops...); mu.Unlock() }
	if err := <-w.Enqueue(Op{Kind: InsertPresentity, Presentity: pres("dup", "e")}); err != nil {
		t.Fatal(err)
	}
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("dup", "e2")})
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("ok", "e3")})
	w.Close() // commits what is queued
	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 1 || failed[0].Presentity.ETag != "e2" {
		t.Fatalf("OnError got %+v", failed)
	}
	if m := rowsOf(t, s); m["ok"] != "e3" || m["dup"] != "e" {
		t.Fatalf("rows %v", m)
	}
}

// Close writes every posted op before returning (a clean stop loses nothing).
func TestCloseCommitsPosted(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	for i := 0; i < 100; i++ {
		w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres(string(rune('A'+i)), string(rune('a'+i)))})
	}
	w.Close()
	if n := len(rowsOf(t, s)); n != 100 {
		t.Fatalf("%d of 100 posted rows after Close", n)
	}
}

// A posted op of a request past its deadline is refused, not queued.
func TestPostPastDeadlineRefused(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	if err := <-w.Post(time.Now().Add(-time.Millisecond), time.Hour, Op{Kind: InsertPresentity, Presentity: pres("r1", "e1")}); err != ErrDeadline {
		t.Fatalf("got %v, want ErrDeadline", err)
	}
	w.Close()
	if n := len(rowsOf(t, s)); n != 0 {
		t.Fatalf("%d rows: a late request's op was written", n)
	}
}
