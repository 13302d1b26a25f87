// Package storagetest is the behaviour every db.Backend must show, as one suite: each backend's
// tests call Run with a way to make fresh databases. What a backend does beyond it (its URL
// forms, its SQL) its own tests check.
package storagetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopresence/gopresence/db"
)

// Target is the backend under test.
type Target struct {
	// NewURL returns the db_url of a new, empty database (a different one at every call).
	NewURL func(t *testing.T) string
	// SetVersion rewrites a table's row in the version table of the database at dbURL behind
	// the backend's back, as a database made for another Kamailio version would have it.
	SetVersion func(t *testing.T, dbURL, table string, version int)
	// LockRows, for a backend that keeps a row per presentity for the shared mode's locks
	// (MySQL's gopresence_lock), returns those rows' URIs in the database at dbURL; nil: the
	// backend keeps none (its lock is the database's).
	LockRows func(t *testing.T, dbURL string) []string
}

// Run runs the suite.
func Run(t *testing.T, tg Target) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, Target)
	}{
		{"TablesAndVersions", tablesAndVersions},
		{"WrongVersionRefused", wrongVersionRefused},
		{"PresentityRoundTrip", presentityRoundTrip},
		{"PresentityLoadOrderAndExpiry", presentityLoadOrderAndExpiry},
		{"PresentityUniqueKeys", presentityUniqueKeys},
		{"WatcherRoundTrip", watcherRoundTrip},
		{"AuthorizationRoundTrip", authorizationRoundTrip},
		{"MissingRowsNoError", missingRowsNoError},
		{"BatchAllOrNothing", batchAllOrNothing},
		{"OpWithoutKindRefused", opWithoutKindRefused},
		{"ReopenKeepsRows", reopenKeepsRows},
		{"RenamedTables", renamedTables},
		{"GroupCommitConcurrent", groupCommitConcurrent},
		{"FailedOpDoesNotFailNeighbours", failedOpDoesNotFailNeighbours},
		{"DeadlinePassedNotApplied", deadlinePassedNotApplied},
		{"Shared", sharedSuite},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, tg) })
	}
}

func open(t *testing.T, dbURL string, tables db.Tables) db.Backend {
	t.Helper()
	b, err := db.Open(dbURL, tables)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func apply(t *testing.T, b db.Backend, ops ...db.Op) {
	t.Helper()
	if err := b.Apply(ops); err != nil {
		t.Fatal(err)
	}
}

func pres(ruid, etag string) *db.Presentity {
	return &db.Presentity{Username: "alice", Domain: "ex.com", Event: "presence", ETag: etag,
		Expires: 5000, ReceivedTime: 1000, Body: []byte("<presence/>"), Sender: "sip:a@h", Priority: 7, RUID: ruid}
}

func watcher(callID string) *db.Watcher {
	return &db.Watcher{PresentityURI: "sip:alice@ex.com", WatcherUsername: "bob", WatcherDomain: "ex.com",
		ToUser: "alice", ToDomain: "ex.com", Event: "presence", EventID: "id1", ToTag: "tt", FromTag: "ft",
		CallID: callID, LocalCSeq: 3, RemoteCSeq: 2, Contact: "sip:bob@10.0.0.2", RecordRoute: "<sip:p;lr>",
		Expires: 5000, Status: 1, Reason: "", Version: 4, SocketInfo: "udp:127.0.0.1:5060",
		LocalContact: "sip:127.0.0.1:5060", FromUser: "bob", FromDomain: "ex.com", UserAgent: "ua", Flags: 2}
}

// etags lists the loaded presentities' ETags by RUID.
func etags(t *testing.T, b db.Backend, now int64) map[string]string {
	t.Helper()
	got, err := b.LoadPresentities(now)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range got {
		m[p.RUID] = p.ETag
	}
	return m
}

func watchers(t *testing.T, b db.Backend, now int64) []db.Watcher {
	t.Helper()
	got, err := b.LoadWatchers(now)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A new database has Kamailio's tables at the versions 5.6.3 requires.
func tablesAndVersions(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	for name, want := range db.RequiredVersions {
		if v, err := b.TableVersion(name); err != nil || v != want {
			t.Errorf("%s: version %d %v, want %d", name, v, err, want)
		}
	}
	if len(etags(t, b, 0)) != 0 || len(watchers(t, b, 0)) != 0 {
		t.Fatal("a new database holds rows")
	}
}

// Kamailio's version check (equality) refuses a table of another version, for every table.
func wrongVersionRefused(t *testing.T, tg Target) {
	for stock := range db.RequiredVersions {
		u := tg.NewURL(t)
		open(t, u, db.DefaultTables).Close()
		tg.SetVersion(t, u, stock, db.RequiredVersions[stock]-1)
		b, err := db.Open(u, db.DefaultTables)
		if err == nil {
			b.Close()
			t.Fatalf("opened with %s at version %d", stock, db.RequiredVersions[stock]-1)
		}
		if !errors.Is(err, db.ErrVersion) {
			t.Errorf("%s: %v, want ErrVersion", stock, err)
		}
	}
}

func presentityRoundTrip(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	p := pres("r1", "a.1")
	apply(t, b, db.Op{Kind: db.InsertPresentity, Presentity: p})
	p.Body[0] = 'X' // the caller's buffer is not the stored row
	got, err := b.LoadPresentities(0)
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	if want := *pres("r1", "a.1"); fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("loaded %+v, stored %+v", got[0], want)
	}
	upd := pres("r1", "a.2")
	upd.Username, upd.Expires, upd.ReceivedTime, upd.Body, upd.Sender, upd.Priority = "other", 3000, 1100, []byte("<p2/>"), "sip:s2", 9
	apply(t, b, db.Op{Kind: db.UpdatePresentity, Presentity: upd})
	got, _ = b.LoadPresentities(0)
	want := pres("r1", "a.2") // the update keeps username, domain, event and ruid
	want.Expires, want.ReceivedTime, want.Body, want.Sender, want.Priority = 3000, 1100, []byte("<p2/>"), "sip:s2", 9
	if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(*want) {
		t.Fatalf("after update %+v, want %+v", got, *want)
	}
	apply(t, b, db.Op{Kind: db.DeletePresentity, RUID: "r1"})
	if n := len(etags(t, b, 0)); n != 0 {
		t.Fatalf("%d rows after delete", n)
	}
}

// Loading keeps rows that expire after now or never (-1), oldest received first, and rows
// received at the same second in insertion order.
func presentityLoadOrderAndExpiry(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	mk := func(ruid string, expires, received int64) db.Op {
		p := pres(ruid, "e-"+ruid)
		p.Expires, p.ReceivedTime = expires, received
		return db.Op{Kind: db.InsertPresentity, Presentity: p}
	}
	apply(t, b, mk("late", 3000, 1200), mk("expired", 1500, 1000), mk("never", -1, 1100),
		mk("first", 2000, 900), mk("second", 2000, 900))
	got, err := b.LoadPresentities(1500)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, p := range got {
		order = append(order, p.RUID)
	}
	if fmt.Sprint(order) != "[first second never late]" {
		t.Fatalf("loaded %v", order)
	}
}

// presentity's unique keys: ruid, and (username, domain, event, etag); an update may not
// take them either.
func presentityUniqueKeys(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	apply(t, b, db.Op{Kind: db.InsertPresentity, Presentity: pres("r1", "e1")},
		db.Op{Kind: db.InsertPresentity, Presentity: pres("r2", "e2")})
	for name, op := range map[string]db.Op{
		"same ruid":              {Kind: db.InsertPresentity, Presentity: pres("r1", "e3")},
		"same etag":              {Kind: db.InsertPresentity, Presentity: pres("r3", "e1")},
		"update to a taken etag": {Kind: db.UpdatePresentity, Presentity: pres("r2", "e1")},
	} {
		if err := b.Apply([]db.Op{op}); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if m := etags(t, b, 0); len(m) != 2 || m["r1"] != "e1" || m["r2"] != "e2" {
		t.Fatalf("rows %v", m)
	}
}

func watcherRoundTrip(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	apply(t, b, db.Op{Kind: db.InsertWatcher, Watcher: watcher("c1")})
	if got := watchers(t, b, 0); len(got) != 1 || got[0] != *watcher("c1") {
		t.Fatalf("loaded %+v", got)
	}
	// UPDATE sets the refresh and NOTIFY bookkeeping columns only
	upd := watcher("c1")
	upd.Expires, upd.Status, upd.Reason, upd.RemoteCSeq, upd.LocalCSeq, upd.Version, upd.Contact, upd.RecordRoute =
		6000, 3, "timeout", 5, 9, 6, "sip:bob@10.0.0.3", ""
	upd.UserAgent, upd.Flags = "changed", 0
	apply(t, b, db.Op{Kind: db.UpdateWatcher, Watcher: upd})
	want := *upd
	want.UserAgent, want.Flags = "ua", 2
	if got := watchers(t, b, 0); len(got) != 1 || got[0] != want {
		t.Fatalf("after update %+v, want %+v", got, want)
	}
	// an insert of the same dialog replaces its row
	again := watcher("c1")
	again.UserAgent = "new"
	apply(t, b, db.Op{Kind: db.InsertWatcher, Watcher: again}, db.Op{Kind: db.InsertWatcher, Watcher: watcher("c2")})
	got := watchers(t, b, 0)
	if len(got) != 2 || got[0] != *again || got[1] != *watcher("c2") {
		t.Fatalf("after replace %+v", got)
	}
	if got := watchers(t, b, 5000); len(got) != 0 {
		t.Fatalf("%d expired subscriptions loaded", len(got))
	}
	apply(t, b, db.Op{Kind: db.DeleteWatcher, Dialog: db.DialogKey{CallID: "c1", ToTag: "tt", FromTag: "ft"}})
	if got := watchers(t, b, 0); len(got) != 1 || got[0].CallID != "c2" {
		t.Fatalf("after delete %+v", got)
	}
}

// Updating or deleting a row that is not there is no error (SQL's UPDATE/DELETE of no row).
func missingRowsNoError(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	apply(t, b, db.Op{Kind: db.UpdatePresentity, Presentity: pres("none", "e")},
		db.Op{Kind: db.DeletePresentity, RUID: "none"},
		db.Op{Kind: db.UpdateWatcher, Watcher: watcher("none")},
		db.Op{Kind: db.DeleteWatcher, Dialog: db.DialogKey{CallID: "none"}})
	if len(etags(t, b, 0)) != 0 || len(watchers(t, b, 0)) != 0 {
		t.Fatal("an update of a missing row created one")
	}
}

// A batch with a failing op applies nothing of it, ops before the failure included.
func batchAllOrNothing(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	apply(t, b, db.Op{Kind: db.InsertPresentity, Presentity: pres("r1", "e1")})
	err := b.Apply([]db.Op{
		{Kind: db.InsertWatcher, Watcher: watcher("c1")},
		{Kind: db.DeletePresentity, RUID: "r1"},
		{Kind: db.InsertPresentity, Presentity: pres("r2", "e2")},
		{Kind: db.InsertPresentity, Presentity: pres("r2", "e3")}, // same ruid: fails
	})
	if err == nil {
		t.Fatal("the failing batch succeeded")
	}
	if m := etags(t, b, 0); len(m) != 1 || m["r1"] != "e1" || len(watchers(t, b, 0)) != 0 {
		t.Fatalf("a failed batch left %v and %d subscriptions", m, len(watchers(t, b, 0)))
	}
	apply(t, b, db.Op{Kind: db.InsertPresentity, Presentity: pres("r2", "e2")}) // and works after
}

// An op whose Kind was never set (the zero OpKind) is refused, naming it, and writes nothing:
// no kind is the zero value, so a forgotten Kind never passes for an update.
func opWithoutKindRefused(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	err := b.Apply([]db.Op{{Presentity: pres("r1", "e1")}})
	if err == nil || !strings.Contains(err.Error(), "unknown op 0") {
		t.Fatalf("an op without a kind: %v, want \"unknown op 0\"", err)
	}
	if len(etags(t, b, 0)) != 0 {
		t.Fatal("an op without a kind wrote a row")
	}
}

// What was written is there after Close and a new Open (an engine restart).
func reopenKeepsRows(t *testing.T, tg Target) {
	u := tg.NewURL(t)
	b := open(t, u, db.DefaultTables)
	apply(t, b, db.Op{Kind: db.InsertPresentity, Presentity: pres("r1", "e1")},
		db.Op{Kind: db.InsertWatcher, Watcher: watcher("c1")})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := open(t, u, db.DefaultTables)
	if m := etags(t, b2, 0); m["r1"] != "e1" || len(watchers(t, b2, 0)) != 1 {
		t.Fatalf("after reopen: %v, %d subscriptions", m, len(watchers(t, b2, 0)))
	}
}

// presentity_table & co.: rows go to the named tables, which have their version rows; the
// stock tables of the same database stay apart.
func renamedTables(t *testing.T, tg Target) {
	u := tg.NewURL(t)
	renamed := db.Tables{Presentity: "pres2", ActiveWatchers: "aw2", Watchers: "w2"}
	b := open(t, u, renamed)
	for name, want := range map[string]int{"pres2": 5, "aw2": 12, "w2": 3} {
		if v, err := b.TableVersion(name); err != nil || v != want {
			t.Errorf("%s: version %d %v", name, v, err)
		}
	}
	apply(t, b, db.Op{Kind: db.InsertPresentity, Presentity: pres("r1", "e1")},
		db.Op{Kind: db.InsertWatcher, Watcher: watcher("c1")})
	stock := open(t, u, db.DefaultTables)
	if len(etags(t, stock, 0)) != 0 || len(watchers(t, stock, 0)) != 0 {
		t.Fatal("rows of renamed tables found in the stock ones")
	}
	if len(etags(t, b, 0)) != 1 || len(watchers(t, b, 0)) != 1 {
		t.Fatal("rows missing from the renamed tables")
	}
}

func groupCommitConcurrent(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	w := db.NewWriter(b)
	defer w.Close()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			wt := watcher(fmt.Sprintf("call-%d", i))
			if err := <-w.Enqueue(db.Op{Kind: db.InsertWatcher, Watcher: wt}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if n := len(watchers(t, b, 0)); n != 200 {
		t.Fatalf("%d rows", n)
	}
}

func failedOpDoesNotFailNeighbours(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	w := db.NewWriter(b)
	defer w.Close()
	if err := <-w.Enqueue(db.Op{Kind: db.InsertPresentity, Presentity: pres("same", "e")}); err != nil {
		t.Fatal(err)
	}
	bad := w.Enqueue(db.Op{Kind: db.InsertPresentity, Presentity: pres("same", "e2")}) // taken ruid
	good := w.Enqueue(db.Op{Kind: db.InsertPresentity, Presentity: pres("other", "e3")})
	if <-bad == nil {
		t.Error("duplicate ruid accepted")
	}
	if err := <-good; err != nil {
		t.Errorf("neighbour failed: %v", err)
	}
}

func deadlinePassedNotApplied(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	w := db.NewWriter(b)
	defer w.Close()
	op := db.Op{Kind: db.InsertPresentity, Presentity: pres("r", "e")}
	if err := <-w.EnqueueBy(time.Now().Add(-time.Second), op); !errors.Is(err, db.ErrDeadline) {
		t.Fatalf("got %v, want ErrDeadline", err)
	}
	if len(etags(t, b, 0)) != 0 {
		t.Fatal("an abandoned op was applied")
	}
	if err := <-w.EnqueueBy(time.Now().Add(time.Minute), op); err != nil {
		t.Fatal(err)
	}
}

// The watchers table: a verdict per (presentity, watcher, event), replaced by a new one for
// the same key, deleted by key, kept across a reopen, and rolled back with its batch.
func authorizationRoundTrip(t *testing.T, tg Target) {
	url := tg.NewURL(t)
	b := open(t, url, db.DefaultTables)
	auth := func(user string, status int, reason string) *db.Authorization {
		return &db.Authorization{PresentityURI: "sip:alice@ex.com", WatcherUsername: user,
			WatcherDomain: "ex.com", Event: "presence", Status: status, Reason: reason, InsertedTime: 1000}
	}
	apply(t, b, db.Op{Kind: db.SetAuthorization, Auth: auth("bob", 2, "")},
		db.Op{Kind: db.SetAuthorization, Auth: auth("carol", 1, "")},
		db.Op{Kind: db.SetAuthorization, Auth: auth("bob", 3, "rejected")},
		db.Op{Kind: db.DeleteAuthorization, Auth: auth("carol", 0, "")},
		db.Op{Kind: db.DeleteAuthorization, Auth: auth("nobody", 0, "")})
	want := []db.Authorization{*auth("bob", 3, "rejected")}
	check := func(b db.Backend, when string) {
		t.Helper()
		got, err := b.LoadAuthorizations()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: %+v, want %+v", when, got, want)
		}
	}
	check(b, "after the batch")
	bad := db.Op{Kind: db.InsertPresentity, Presentity: pres("r1", "e1")}
	if err := b.Apply([]db.Op{bad, {Kind: db.SetAuthorization, Auth: auth("dave", 1, "")}, bad}); err == nil {
		t.Fatal("a batch with a duplicate presentity was applied")
	}
	check(b, "after a failed batch")
	b.Close()
	check(open(t, url, db.DefaultTables), "after a reopen")
}
