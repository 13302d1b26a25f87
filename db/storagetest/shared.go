package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gopresence/gopresence/db"
)

// The shared mode's contract (db.Shared), for backends that offer it: run by Run as "Shared/…".

func sharedSuite(t *testing.T, tg Target) {
	probe := open(t, tg.NewURL(t), db.DefaultTables)
	if _, ok := probe.(db.Shared); !ok {
		t.Skip("backend does not offer the shared mode")
	}
	for _, c := range []struct {
		name string
		run  func(*testing.T, Target)
	}{
		{"LoadOnePresentity", sharedLoad},
		{"RollbackLeavesNothing", sharedRollback},
		{"LockExcludesOtherHandle", sharedLockExcludes},
		{"DialogAndDueRows", sharedDialogAndDue},
		{"LockRowGoesWithLastRow", sharedLockRowGoes},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, tg) })
	}
}

func lock(t *testing.T, b db.Backend, uri string) db.Tx {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	tx, err := b.(db.Shared).Lock(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// Load gives the presentity's rows of every event, expired ones too, and no other's.
func sharedLoad(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	p1, p2, other := pres("r1", "e1"), pres("r2", "e2"), pres("r3", "e3")
	p2.Event, p2.Expires, p2.ReceivedTime = "dialog", 10, 900 // expired, received first
	other.Username = "carol"
	w1, w2 := watcher("c1"), watcher("c2")
	w2.PresentityURI = "sip:carol@ex.com"
	a1 := &db.Authorization{PresentityURI: "sip:alice@ex.com", WatcherUsername: "bob", WatcherDomain: "ex.com", Event: "presence", Status: 1}
	a2 := *a1
	a2.PresentityURI = "sip:carol@ex.com"
	apply(t, b, db.Op{Kind: db.InsertPresentity, Presentity: p1}, db.Op{Kind: db.InsertPresentity, Presentity: p2},
		db.Op{Kind: db.InsertPresentity, Presentity: other}, db.Op{Kind: db.InsertWatcher, Watcher: w1},
		db.Op{Kind: db.InsertWatcher, Watcher: w2}, db.Op{Kind: db.SetAuthorization, Auth: a1},
		db.Op{Kind: db.SetAuthorization, Auth: &a2})
	tx := lock(t, b, "sip:alice@ex.com")
	defer tx.Rollback()
	r, err := tx.Load("sip:alice@ex.com", "alice", "ex.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Presentities) != 2 || r.Presentities[0].RUID != "r2" || r.Presentities[1].RUID != "r1" {
		t.Fatalf("publications: %+v", r.Presentities)
	}
	if string(r.Presentities[1].Body) != string(p1.Body) || r.Presentities[1].ETag != "e1" {
		t.Fatalf("publication row: %+v", r.Presentities[1])
	}
	if len(r.Watchers) != 1 || r.Watchers[0] != *w1 {
		t.Fatalf("subscriptions: %+v", r.Watchers)
	}
	if len(r.Authorizations) != 1 || r.Authorizations[0].PresentityURI != "sip:alice@ex.com" {
		t.Fatalf("authorizations: %+v", r.Authorizations)
	}
}

// Apply inside a transaction, then Rollback: nothing of it stays; Commit: all of it.
func sharedRollback(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	tx := lock(t, b, "sip:alice@ex.com")
	if err := tx.Apply([]db.Op{{Kind: db.InsertPresentity, Presentity: pres("r1", "e1")}, {Kind: db.InsertWatcher, Watcher: watcher("c1")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := len(etags(t, b, 0)) + len(watchers(t, b, 0)); n != 0 {
		t.Fatalf("%d rows after rollback", n)
	}
	tx = lock(t, b, "sip:alice@ex.com")
	if err := tx.Apply([]db.Op{{Kind: db.InsertPresentity, Presentity: pres("r1", "e1")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := len(etags(t, b, 0)); n != 1 {
		t.Fatalf("%d publications after commit", n)
	}
}

// A second handle (another node) cannot lock the presentity until the first commits, and then
// sees what it wrote.
func sharedLockExcludes(t *testing.T, tg Target) {
	url := tg.NewURL(t)
	b1, b2 := open(t, url, db.DefaultTables), open(t, url, db.DefaultTables)
	tx := lock(t, b1, "sip:alice@ex.com")
	got := make(chan db.Rows, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tx2, err := b2.(db.Shared).Lock(ctx, "sip:alice@ex.com")
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		r, err := tx2.Load("sip:alice@ex.com", "alice", "ex.com")
		if err != nil {
			t.Error(err)
		}
		tx2.Rollback()
		got <- r
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("a second handle locked the presentity while the first held it")
	default:
	}
	if err := tx.Apply([]db.Op{{Kind: db.InsertPresentity, Presentity: pres("r1", "e1")}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if len(r.Presentities) != 1 {
			t.Fatalf("the second handle loaded %d publications after the commit", len(r.Presentities))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second handle never got the lock")
	}
}

// DialogURI finds a dialog's presentity; DueSubscriptions and DuePublications name the
// presentities with expired rows (a publication of expires -1 never is).
func sharedDialogAndDue(t *testing.T, tg Target) {
	b := open(t, tg.NewURL(t), db.DefaultTables)
	s := b.(db.Shared)
	live, old := watcher("c1"), watcher("c2")
	old.PresentityURI, old.Expires = "sip:carol@ex.com", 100
	forever, gone := pres("r1", "e1"), pres("r2", "e2")
	forever.Expires = -1
	gone.Username, gone.Expires = "dave", 100
	apply(t, b, db.Op{Kind: db.InsertWatcher, Watcher: live}, db.Op{Kind: db.InsertWatcher, Watcher: old},
		db.Op{Kind: db.InsertPresentity, Presentity: forever}, db.Op{Kind: db.InsertPresentity, Presentity: gone})
	ctx := context.Background()
	if u, err := s.DialogURI(ctx, db.DialogKey{CallID: "c2", ToTag: "tt", FromTag: "ft"}); err != nil || u != "sip:carol@ex.com" {
		t.Fatalf("DialogURI: %q, %v", u, err)
	}
	if u, err := s.DialogURI(ctx, db.DialogKey{CallID: "c2", ToTag: "other", FromTag: "ft"}); err != nil || u != "" {
		t.Fatalf("DialogURI of no dialog: %q, %v", u, err)
	}
	subs, err := s.DueSubscriptions(100)
	if err != nil || !slices.Equal(subs, []string{"sip:carol@ex.com"}) {
		t.Fatalf("DueSubscriptions(100): %v, %v", subs, err)
	}
	if subs, _ = s.DueSubscriptions(99); len(subs) != 0 {
		t.Fatalf("DueSubscriptions(99): %v", subs)
	}
	pubs, err := s.DuePublications(1 << 40)
	if err != nil || len(pubs) != 1 || pubs[0] != [2]string{"dave", "ex.com"} {
		t.Fatalf("DuePublications: %v, %v", pubs, err)
	}
	// due from its expires second on, as DueSubscriptions
	if pubs, _ = s.DuePublications(100); len(pubs) != 1 || pubs[0] != [2]string{"dave", "ex.com"} {
		t.Fatalf("DuePublications(100): %v", pubs)
	}
	if pubs, _ = s.DuePublications(99); len(pubs) != 0 {
		t.Fatalf("DuePublications(99): %v", pubs)
	}
	// expires 0 is no expiry time either: every backend answers as the SQL one (expires > 0)
	zero := pres("r3", "e3")
	zero.Username, zero.Expires = "erin", 0
	apply(t, b, db.Op{Kind: db.InsertPresentity, Presentity: zero})
	if pubs, _ = s.DuePublications(100); len(pubs) != 1 || pubs[0] != [2]string{"dave", "ex.com"} {
		t.Fatalf("DuePublications(100) with a publication of expires 0: %v", pubs)
	}
}

// A presentity's lock row (where the backend has one) stays while any publication,
// subscription or authorization of it does, and goes with the change that deletes the last.
func sharedLockRowGoes(t *testing.T, tg Target) {
	if tg.LockRows == nil {
		t.Skip("the backend keeps no lock rows")
	}
	url := tg.NewURL(t)
	b := open(t, url, db.DefaultTables)
	const uri = "sip:alice@ex.com"
	change := func(ops ...db.Op) {
		t.Helper()
		tx := lock(t, b, uri)
		if _, err := tx.Load(uri, "alice", "ex.com"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Apply(ops); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	want := func(what string, rows ...string) {
		t.Helper()
		if got := tg.LockRows(t, url); !slices.Equal(got, rows) {
			t.Fatalf("%s: lock rows %q, want %q", what, got, rows)
		}
	}
	p, w := pres("r1", "e1"), watcher("c1")
	a := &db.Authorization{PresentityURI: uri, WatcherUsername: "bob", WatcherDomain: "ex.com", Event: "presence", Status: 1}
	change(db.Op{Kind: db.InsertPresentity, Presentity: p}, db.Op{Kind: db.InsertWatcher, Watcher: w},
		db.Op{Kind: db.SetAuthorization, Auth: a})
	want("after the first change", uri)
	change(db.Op{Kind: db.DeletePresentity, RUID: p.RUID})
	want("with a subscription and an authorization left", uri)
	change(db.Op{Kind: db.DeleteWatcher, Dialog: db.DialogKey{CallID: w.CallID, ToTag: w.ToTag, FromTag: w.FromTag}})
	want("with an authorization left", uri)
	change(db.Op{Kind: db.DeleteAuthorization, Auth: a})
	want("with nothing left")
	change(db.Op{Kind: db.InsertPresentity, Presentity: p})
	want("after a new first change", uri)
}
