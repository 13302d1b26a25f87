package gopresence

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/memdb"
	"github.com/gopresence/gopresence/gopresence/wire"
)

func storedRows(t *testing.T, e *Engine) (pubs, subs int) {
	t.Helper()
	p, err := e.store.LoadPresentities(0)
	if err != nil {
		t.Fatal(err)
	}
	w, err := e.store.LoadWatchers(0)
	if err != nil {
		t.Fatal(err)
	}
	return len(p), len(w)
}

// Write-through: db_commit_delay=0 and subs_db_mode=1 commit before the reply.
func TestWriteThroughBeforeReply(t *testing.T) { forEachBackend(t, testWriteThroughBeforeReply) }

func testWriteThroughBeforeReply(t *testing.T, b testBackend) {
	e, _ := newTestEngine(t, b.newURL(t), "db_commit_delay=0\nsubs_db_mode=1\n")
	if r := do(t, e, wire.TPublish, publish("", "3600", pidf1)); r.code != 200 {
		t.Fatalf("publish %d", r.code)
	}
	if r := do(t, e, wire.TSubscribe, subscribe("c1", "", "3600", 1)); r.code != 200 {
		t.Fatalf("subscribe %d", r.code)
	}
	if p, s := storedRows(t, e); p != 1 || s != 1 {
		t.Fatalf("stored %d publications, %d subscriptions at reply time; want 1, 1", p, s)
	}
}

// Write-behind (the defaults, with a delay no test outlasts): the reply does not wait for the
// commit, a clean stop writes everything, and a restart restores it.
func TestWriteBehindCommitsAtStop(t *testing.T) { forEachBackend(t, testWriteBehindCommitsAtStop) }

func testWriteBehindCommitsAtStop(t *testing.T, b testBackend) {
	dbURL := b.newURL(t)
	e, _ := newTestEngine(t, dbURL, "db_commit_delay=60000\n")
	do(t, e, wire.TPublish, publish("", "3600", pidf1))
	do(t, e, wire.TSubscribe, subscribe("c1", "", "3600", 1))
	if p, s := storedRows(t, e); p != 0 || s != 0 {
		t.Fatalf("stored %d publications, %d subscriptions before the commit delay: not written behind", p, s)
	}
	e.Close()
	e2, _ := newTestEngine(t, dbURL, "")
	if st := e2.Stats(); st.Publications != 1 || st.Subscriptions != 1 {
		t.Fatalf("after restart: %+v", st)
	}
}

// subs_db_mode=0 (NO_DB): subscriptions are never written, so a restart has none.
func TestSubsDBModeNoDB(t *testing.T) { forEachBackend(t, testSubsDBModeNoDB) }

func testSubsDBModeNoDB(t *testing.T, b testBackend) {
	dbURL := b.newURL(t)
	e, _ := newTestEngine(t, dbURL, "subs_db_mode=0\n")
	do(t, e, wire.TSubscribe, subscribe("c1", "", "3600", 1))
	e.Close()
	e2, _ := newTestEngine(t, dbURL, "subs_db_mode=2\n")
	if _, s := storedRows(t, e2); s != 0 {
		t.Fatalf("%d subscriptions in the database with subs_db_mode=0", s)
	}
}

// captureLog keeps log lines for inspection.
type captureLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *captureLog) Log(level, msg string) {
	l.mu.Lock()
	l.lines = append(l.lines, "["+level+"] "+msg)
	l.mu.Unlock()
}

func (l *captureLog) has(substr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			return true
		}
	}
	return false
}

// A written-behind change the database refuses: the client already has its 200, the state
// stays in memory and is served, and the failure is logged at ERR naming what was lost.
func TestWriteBehindFailureLoggedStateKept(t *testing.T) {
	forEachBackend(t, testWriteBehindFailureLoggedStateKept)
}

func testWriteBehindFailureLoggedStateKept(t *testing.T, b testBackend) {
	e, _ := newTestEngine(t, b.newURL(t), "db_commit_delay=10\n")
	logs := &captureLog{}
	e.log = logs
	b.refuseWrites(t, e)
	if r := do(t, e, wire.TPublish, publish("", "3600", pidf1)); r.code != 200 {
		t.Fatalf("publish %d", r.code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !logs.has("[err] database write of publication") {
		if time.Now().After(deadline) {
			t.Fatalf("no ERR line for the refused write; log: %q", logs.lines)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := e.Stats(); st.Publications != 1 {
		t.Fatalf("state lost: %+v", st)
	}
	if r := do(t, e, wire.TSubscribe, subscribe("c1", "", "3600", 1)); r.code != 200 || len(r.notifs) != 1 || r.notifs[0][wire.NBody] != pidf1 {
		t.Fatalf("the held publication is not served: %d, %d NOTIFYs", r.code, len(r.notifs))
	}
}

// A database server that cannot be used (down, restarting: db.ErrUnavailable) turns a
// write-through request into 503 with Retry-After, logged at err, and changes nothing; once
// the server is back the same request succeeds. Any other refusal stays a 500.
func TestDatabaseUnavailableIs503(t *testing.T) {
	e, _ := newTestEngine(t, "", "db_commit_delay=0\nsubs_db_mode=1\n")
	logs := &captureLog{}
	e.log = logs
	store := e.store.(*memdb.DB)
	store.FailWith(func(db.Op) error { return fmt.Errorf("%w: dial tcp: connection refused", db.ErrUnavailable) })
	for name, m := range map[string]map[wire.Tag]string{"publish": publish("", "3600", pidf1), "subscribe": subscribe("c1", "", "60", 1)} {
		typ := wire.TPublish
		if name == "subscribe" {
			typ = wire.TSubscribe
		}
		if r := do(t, e, typ, m); r.code != 503 || r.headers["Retry-After"] != "5" {
			t.Errorf("%s while the database is down: %d %v, want 503 with Retry-After: 5", name, r.code, r.headers)
		}
	}
	if st := e.Stats(); st.Publications != 0 || st.Subscriptions != 0 {
		t.Fatalf("state changed by refused requests: %+v", st)
	}
	waitLog(t, logs, "database unavailable: dial tcp: connection refused")
	store.FailWith(nil)
	if r := do(t, e, wire.TPublish, publish("", "3600", pidf1)); r.code != 200 {
		t.Fatalf("after the outage: %d", r.code)
	}
	store.FailWith(func(db.Op) error { return errors.New("disk full") })
	if r := do(t, e, wire.TPublish, publish("", "3600", pidf1)); r.code != 500 {
		t.Fatalf("another failure: %d, want 500", r.code)
	}
}
