package db

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open("sqlite://"+filepath.Join(t.TempDir(), "p.db"), DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenCreatesSchemaAndVersions(t *testing.T) {
	s := openTemp(t)
	for name, want := range requiredVersions {
		var v int
		if err := s.c.QueryRowContext(context.Background(), "SELECT table_version FROM version WHERE table_name=?", name).Scan(&v); err != nil || v != want {
			t.Errorf("%s: version %d %v", name, v, err)
		}
	}
}

func TestOpenRejectsWrongVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := Open("sqlite://"+path, DefaultTables)
	if err != nil {
		t.Fatal(err)
	}
	s.c.ExecContext(context.Background(), "UPDATE version SET table_version=4 WHERE table_name='presentity'")
	s.Close()
	if _, err := Open("sqlite://"+path, DefaultTables); err == nil {
		t.Fatal("opened a table of the wrong version")
	}
}

func TestBadURLs(t *testing.T) {
	for _, u := range []string{"postgres://x/y", "sqlite://", "sqlite:///nonexistent-dir/x/y.db", "::"} {
		if s, err := Open(u, DefaultTables); err == nil {
			s.Close()
			t.Errorf("%q opened", u)
		}
	}
}

func TestPresentityRoundTrip(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	p := &Presentity{Username: "alice", Domain: "ex.com", Event: "presence", ETag: "a.1", Expires: 2000,
		ReceivedTime: 1000, Body: []byte("<presence/>"), RUID: "r1"}
	if err := <-w.Enqueue(Op{Kind: InsertPresentity, Presentity: p}); err != nil {
		t.Fatal(err)
	}
	p2 := *p
	p2.ETag, p2.Expires = "a.2", 3000
	if err := <-w.Enqueue(Op{Kind: UpdatePresentity, Presentity: &p2}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadPresentities(1500)
	if err != nil || len(got) != 1 || got[0].ETag != "a.2" || string(got[0].Body) != "<presence/>" {
		t.Fatalf("%+v %v", got, err)
	}
	if got, _ := s.LoadPresentities(3000); len(got) != 0 {
		t.Fatal("expired row loaded")
	}
	if err := <-w.Enqueue(Op{Kind: DeletePresentity, RUID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadPresentities(0); len(got) != 0 {
		t.Fatal("row not deleted")
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			wt := &Watcher{PresentityURI: "sip:a@b", CallID: string(rune('A'+i%26)) + string(rune('a'+i/26)), ToTag: "t", FromTag: "f", Expires: 5000, Status: 1, Event: "presence"}
			if err := <-w.Enqueue(Op{Kind: InsertWatcher, Watcher: wt}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	got, err := s.LoadWatchers(0)
	if err != nil || len(got) != 200 {
		t.Fatalf("%d rows, %v", len(got), err)
	}
}

func TestFailedOpDoesNotFailNeighbours(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	p := &Presentity{Username: "a", Domain: "b", Event: "presence", ETag: "e", RUID: "same", Body: []byte{}}
	if err := <-w.Enqueue(Op{Kind: InsertPresentity, Presentity: p}); err != nil {
		t.Fatal(err)
	}
	dup := *p
	dup.ETag = "e2" // same ruid: violates the unique constraint
	bad := w.Enqueue(Op{Kind: InsertPresentity, Presentity: &dup})
	ok := *p
	ok.ETag, ok.RUID = "e3", "other"
	good := w.Enqueue(Op{Kind: InsertPresentity, Presentity: &ok})
	if <-bad == nil {
		t.Error("duplicate ruid accepted")
	}
	if err := <-good; err != nil {
		t.Errorf("neighbour failed: %v", err)
	}
}

func TestParseURLForms(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:///var/lib/k.db":  "file:/var/lib/k.db?",
		"sqlite:////var/lib/k.db": "file:/var/lib/k.db?",
		"sqlite://rel/k.db":       "file:rel/k.db?",
	} {
		_, dsn, err := ParseURL(in)
		if err != nil || len(dsn) < len(want) || dsn[:len(want)] != want {
			t.Errorf("%s: %s %v", in, dsn, err)
		}
	}
	for _, in := range []string{"sqlite://", "sqlite:///", "nothing", "sqlite:///a.db?x=1"} {
		if _, _, err := ParseURL(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestDeadlinePassedNotApplied(t *testing.T) {
	s := openTemp(t)
	w := NewWriter(s)
	defer w.Close()
	p := &Presentity{Username: "a", Domain: "b", Event: "presence", ETag: "e", RUID: "r", Body: []byte{}}
	if err := <-w.EnqueueBy(time.Now().Add(-time.Second), Op{Kind: InsertPresentity, Presentity: p}); err != ErrDeadline {
		t.Fatalf("got %v, want ErrDeadline", err)
	}
	if got, _ := s.LoadPresentities(0); len(got) != 0 {
		t.Fatal("an abandoned op was applied")
	}
	if err := <-w.EnqueueBy(time.Now().Add(time.Minute), Op{Kind: InsertPresentity, Presentity: p}); err != nil {
		t.Fatal(err)
	}
}
