package gopresence

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/memdb"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// waitLog waits for a log line containing substr.
func waitLog(t *testing.T, logs *captureLog, substr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !logs.has(substr) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q; log: %q", substr, logs.lines)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A timer run that panics is logged at CRIT and the timer runs again at its next tick.
func TestTimerPanicLoggedNextTickRuns(t *testing.T) {
	e, _ := newTestEngine(t, "", "clean_period=0\ndb_update_period=0\n")
	logs := &captureLog{}
	e.log = logs
	var runs atomic.Int64
	again := make(chan struct{})
	e.every(1, func() {
		if runs.Add(1) == 1 {
			panic("timer bug")
		}
		if runs.Load() == 2 {
			close(again)
		}
	})
	select {
	case <-again:
	case <-time.After(5 * time.Second):
		t.Fatalf("the timer did not run after its panic (%d runs)", runs.Load())
	}
	waitLog(t, logs, "[crit] BUG: panic in timer: timer bug")
}

// The database backend panics on a written-behind publication: the panic is logged at CRIT,
// the lost write at ERR, the client kept its 200 and the state is served; the engine goes on
// writing once the backend behaves.
func TestStoragePanicLoggedEngineGoesOn(t *testing.T) {
	e, _ := newTestEngine(t, "", "db_commit_delay=10\n")
	logs := &captureLog{}
	e.log = logs
	store := e.store.(*memdb.DB)
	store.FailWith(func(db.Op) error { panic("driver bug") })
	r := do(t, e, wire.TPublish, publish("", "3600", pidf1))
	if r.code != 200 {
		t.Fatalf("publish %d", r.code)
	}
	waitLog(t, logs, "[crit] BUG: panic in database backend: driver bug")
	waitLog(t, logs, "[err] database write of publication "+r.headers["SIP-ETag"]+" failed: db: panic while writing")
	if st := e.Stats(); st.Publications != 1 {
		t.Fatalf("state lost: %+v", st)
	}
	store.FailWith(nil)
	next := do(t, e, wire.TPublish, publish("", "3600", pidf2))
	if next.code != 200 {
		t.Fatalf("publish after the panic %d", next.code)
	}
	e.Close()
	reopened, err := db.Open(e.cfg.DBURL, db.DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := reopened.LoadPresentities(0); err != nil || len(got) != 1 || got[0].ETag != next.headers["SIP-ETag"] {
		t.Fatalf("stored after the panic: %+v %v, want the second publication", got, err)
	}
}

// db.ErrDeadline reaches the reply decision through the writer: a write-through request
// still queued behind a slow commit when its worker's deadline passes is answered 503 with
// Retry-After (the worker answered 500 already), and nothing of it is applied.
func TestDeadlineInWriterAnswers503(t *testing.T) {
	e, _ := newTestEngine(t, "", "db_commit_delay=0\nsubs_db_mode=1\n")
	store := e.store.(*memdb.DB)
	entered, release := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	store.FailWith(func(db.Op) error {
		if once.CompareAndSwap(false, true) {
			close(entered)
			<-release // a commit that takes long (a locked database)
		}
		return nil
	})
	slow := make(chan result, 1)
	go func() { slow <- do(t, e, wire.TPublish, publish("", "3600", pidf1)) }()
	<-entered
	late := subscribe("c1", "", "3600", 1)
	late[wire.Deadline] = strconv.FormatInt(time.Now().Add(100*time.Millisecond).UnixMilli(), 10)
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	r := do(t, e, wire.TSubscribe, late)
	if r.code != 503 || r.headers["Retry-After"] != "5" {
		t.Fatalf("late subscribe: %d %v, want 503 with Retry-After", r.code, r.headers)
	}
	if (<-slow).code != 200 {
		t.Fatal("the slow publish failed")
	}
	if got, _ := store.LoadWatchers(0); len(got) != 0 || e.Stats().Subscriptions != 0 {
		t.Fatalf("the abandoned subscription was applied: %d rows, %+v", len(got), e.Stats())
	}
}

// A table of the wrong version stops the engine at start, and the cause reaches the caller
// of New as db.ErrVersion.
func TestWrongTableVersionRefusedAtStart(t *testing.T) {
	dbURL := memBackend.newURL(t)
	e, _ := newTestEngine(t, dbURL, "")
	e.store.(*memdb.DB).SetVersion("active_watchers", 11)
	e.Close()
	cfg, err := ParseConfig("db_url=" + dbURL + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, nil); !errors.Is(err, db.ErrVersion) {
		t.Fatalf("New: %v, want ErrVersion", err)
	}
	if err := Validate(cfg); !errors.Is(err, db.ErrVersion) {
		t.Fatalf("Validate: %v, want ErrVersion", err)
	}
}
