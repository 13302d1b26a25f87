package db_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/memdb"
)

var seq atomic.Int64

// openTemp opens a new in-memory database (the writer is the same over every backend; the
// backends' own behaviour is db/storagetest's).
func openTemp(t *testing.T) *memdb.DB {
	t.Helper()
	s, err := Open(fmt.Sprintf("memory://%s-%d", t.Name(), seq.Add(1)), DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*memdb.DB)
}

func pres(ruid, etag string) *Presentity {
	return &Presentity{Username: "a", Domain: "b", Event: "presence", ETag: etag, RUID: ruid, Body: []byte{}, Expires: 5000}
}

func rowsOf(t *testing.T, s Backend) map[string]string {
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

// logLines keeps what the writer logs.
type logLines struct {
	mu  sync.Mutex
	got []string
}

func (l *logLines) log(level, msg string) {
	l.mu.Lock()
	l.got = append(l.got, "["+level+"] "+msg)
	l.mu.Unlock()
}

func (l *logLines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.got {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// A backend that panics on one op: the panic is logged at CRIT, the request that waits gets
// ErrPanic, a written-behind op reaches OnError, their neighbours are written (the batch is
// retried request by request), and the writer goes on.
func TestBackendPanicFailsItsRequestsOnly(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	logs := &logLines{}
	w.Log = logs.log
	var lost atomic.Int64
	w.OnError = func(err error, ops []Op) {
		if errors.Is(err, ErrPanic) {
			lost.Add(int64(len(ops)))
		}
	}
	s.FailWith(func(op Op) error {
		if strings.HasPrefix(op.Presentity.RUID, "poison") {
			panic("driver bug")
		}
		return nil
	})
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("poison-posted", "e0")})
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("ok1", "e1")})
	waiting := w.Enqueue(Op{Kind: InsertPresentity, Presentity: pres("poison-waited", "e2")})
	if err := <-waiting; !errors.Is(err, ErrPanic) {
		t.Fatalf("waiting request got %v, want ErrPanic", err)
	}
	if err := <-w.Enqueue(Op{Kind: InsertPresentity, Presentity: pres("ok2", "e3")}); err != nil {
		t.Fatalf("the writer did not go on: %v", err)
	}
	w.Close()
	if lost.Load() != 1 {
		t.Errorf("OnError heard of %d panicked written-behind ops, want 1", lost.Load())
	}
	if m := rowsOf(t, s); len(m) != 2 || m["ok1"] != "e1" || m["ok2"] != "e3" {
		t.Errorf("rows %v", m)
	}
	if logs.count("[crit] BUG: panic in database backend: driver bug") == 0 {
		t.Errorf("panic not logged at crit: %q", logs.got)
	}
}

// A panic in the writer's own work (here OnError, run by a leader goroutine of the timer):
// logged, every op of the batch in hand reported once (with ErrPanic when the panic cut its
// turn short), nothing left waiting, later writes committed.
func TestWriterPanicLeavesNobodyWaiting(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	logs := &logLines{}
	w.Log = logs.log
	var mu sync.Mutex
	reported := map[string]error{}
	w.OnError = func(err error, ops []Op) {
		mu.Lock()
		defer mu.Unlock()
		if _, twice := reported[ops[0].Presentity.ETag]; twice {
			t.Errorf("%s reported twice", ops[0].Presentity.ETag)
		}
		reported[ops[0].Presentity.ETag] = err
		panic("OnError bug")
	}
	s.FailWith(func(op Op) error {
		if op.Presentity.RUID == "refused" {
			return errors.New("refused")
		}
		return nil
	})
	// one batch of three: the timer is due only once all are queued
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("refused", "e0")})
	w.Post(time.Time{}, time.Hour, Op{Kind: InsertPresentity, Presentity: pres("refused", "e1")})
	w.Post(time.Time{}, time.Millisecond, Op{Kind: InsertPresentity, Presentity: pres("ok1", "e2")})
	deadline := time.Now().Add(5 * time.Second)
	for logs.count("[crit] BUG: panic in database writer: OnError bug") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no panic logged: %q", logs.got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- <-w.Enqueue(Op{Kind: InsertPresentity, Presentity: pres("ok2", "e3")}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write after the panic never finished")
	}
	w.Close()
	// e0 failed on its own; the panic in its report cut the turn short: e1 and e2 failed
	// with ErrPanic, reported, not written
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 3 || errors.Is(reported["e0"], ErrPanic) ||
		!errors.Is(reported["e1"], ErrPanic) || !errors.Is(reported["e2"], ErrPanic) {
		t.Errorf("reported %v", reported)
	}
	if m := rowsOf(t, s); len(m) != 1 || m["ok2"] != "e3" {
		t.Errorf("rows %v", m)
	}
}

// db_commit_delay 0: Post is a write-through, its answer comes after the commit (a slow
// backend makes a written-behind answer come first).
func TestPostZeroDelayAnswersAfterCommit(t *testing.T) {
	s := openTemp(t)
	s.FailWith(func(Op) error { time.Sleep(50 * time.Millisecond); return nil })
	w := NewWriter(s)
	defer w.Close()
	if err := <-w.Post(time.Time{}, 0, Op{Kind: InsertPresentity, Presentity: pres("r1", "e1")}); err != nil {
		t.Fatal(err)
	}
	s.FailWith(nil)
	if n := len(rowsOf(t, s)); n != 1 {
		t.Fatalf("%d rows when the answer came: not committed first", n)
	}
}

// Requests queued while a leader commits are committed by the next leader once the first one's
// own request is answered: none is left waiting (a slow backend keeps the first batch open
// while the others queue).
func TestQueuedBehindALeaderAllCommitted(t *testing.T) {
	s := openTemp(t)
	started := slowApply(s)
	w := NewWriter(s)
	defer w.Close()
	firstCh := make(chan (<-chan error), 1)
	go func() { // the first request leads: its goroutine commits
		firstCh <- w.EnqueueBy(time.Time{}, Op{Kind: InsertPresentity, Presentity: pres("r0", "e0")})
	}()
	<-started
	var rest []<-chan error
	for i := 1; i <= 3; i++ {
		rest = append(rest, w.EnqueueBy(time.Time{}, Op{Kind: InsertPresentity, Presentity: pres(fmt.Sprint("r", i), fmt.Sprint("e", i))}))
	}
	for i, ch := range append([]<-chan error{<-firstCh}, rest...) {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d still waiting: nobody took the queue over", i)
		}
	}
	s.FailWith(nil)
	if n := len(rowsOf(t, s)); n != 4 {
		t.Fatalf("%d rows, want 4", n)
	}
}

// A request that waited in the queue past its deadline is refused and not applied: its worker
// has answered 500 by then (a slow commit ahead of it keeps it queued).
func TestQueuedPastDeadlineRefused(t *testing.T) {
	s := openTemp(t)
	started := slowApply(s)
	w := NewWriter(s)
	defer w.Close()
	go w.EnqueueBy(time.Time{}, Op{Kind: InsertPresentity, Presentity: pres("r0", "e0")})
	<-started
	late := w.EnqueueBy(time.Now().Add(20*time.Millisecond), Op{Kind: InsertPresentity, Presentity: pres("r1", "e1")})
	if err := <-late; !errors.Is(err, ErrDeadline) {
		t.Fatalf("a request queued past its deadline: %v, want ErrDeadline", err)
	}
	s.FailWith(nil)
	if _, applied := rowsOf(t, s)["r1"]; applied {
		t.Fatal("the refused request was applied")
	}
}

// slowApply makes every write of s take 100 ms; the channel closes when the first one starts.
func slowApply(s *memdb.DB) <-chan struct{} {
	var applying sync.Once
	started := make(chan struct{})
	s.FailWith(func(Op) error {
		applying.Do(func() { close(started) })
		time.Sleep(100 * time.Millisecond)
		return nil
	})
	return started
}

// The database unavailable (down, restarting): written-behind ops, acknowledged already, stay
// queued in order and are written when it is back; a request waiting for its commit meanwhile
// gets the error and its ops are never written; one outage is logged once, and its end.
func TestUnavailableKeepsWrittenBehind(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	w.RetryDelay = 50 * time.Millisecond
	var mu sync.Mutex
	var logs []string
	var lost []Op
	w.Log = func(level, msg string) { mu.Lock(); logs = append(logs, level+": "+msg); mu.Unlock() }
	w.OnError = func(err error, ops []Op) { mu.Lock(); lost = append(lost, ops...); mu.Unlock() }
	var down atomic.Bool
	down.Store(true)
	s.FailWith(func(Op) error {
		if down.Load() {
			return fmt.Errorf("%w: connection refused", ErrUnavailable)
		}
		return nil
	})
	w.Post(time.Time{}, time.Millisecond, Op{Kind: InsertPresentity, Presentity: pres("r1", "e1")})
	w.Post(time.Time{}, time.Millisecond, Op{Kind: UpdatePresentity, Presentity: pres("r1", "e2")})
	time.Sleep(150 * time.Millisecond) // several retries
	if err := <-w.Enqueue(Op{Kind: InsertPresentity, Presentity: pres("r2", "x")}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a write-through request during the outage: %v", err)
	}
	down.Store(false)
	deadline := time.Now().Add(2 * time.Second)
	for rowsOf(t, s)["r1"] != "e2" {
		if time.Now().After(deadline) {
			t.Fatalf("written-behind ops not written after the database came back: %v", rowsOf(t, s))
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.Close()
	mu.Lock()
	defer mu.Unlock()
	if _, ok := rowsOf(t, s)["r2"]; ok || len(lost) != 0 {
		t.Fatalf("the refused request was written (%v) or ops reported lost: %v", rowsOf(t, s), lost)
	}
	var errs, infos int
	for _, l := range logs {
		switch {
		case strings.HasPrefix(l, "err: ") && strings.Contains(l, "written-behind changes kept"):
			errs++
		case strings.HasPrefix(l, "info: database available again"):
			infos++
		}
	}
	if errs != 1 || infos != 1 {
		t.Fatalf("one outage logged %d times, its end %d times: %q", errs, infos, logs)
	}
}

// Closing while the database is unavailable does not wait for it: what cannot be written is
// reported (OnError, logged by the engine), and Close returns.
func TestCloseWhileUnavailableReportsLost(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	w.RetryDelay = time.Hour
	var lost atomic.Int64
	w.OnError = func(err error, ops []Op) { lost.Add(int64(len(ops))) }
	s.FailWith(func(Op) error { return fmt.Errorf("%w: connection refused", ErrUnavailable) })
	w.Post(time.Time{}, time.Millisecond, Op{Kind: InsertPresentity, Presentity: pres("r1", "e1")})
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { w.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for an unavailable database")
	}
	if lost.Load() != 1 {
		t.Fatalf("%d ops reported lost at Close, want 1", lost.Load())
	}
}
