package gopresence

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/gopresence/gopresence/db"
)

func TestPublicationRoundTrip(t *testing.T) {
	huge := bytes.Repeat([]byte("<tuple id=\"x\"/>"), 100000) // 1.5 MB: lengths past 16 bits
	cases := []db.Presentity{
		{Username: "alice", Domain: "ex.com", Event: "presence", ETag: "a.1.2", Expires: 1700000000,
			ReceivedTime: 1699996400, Body: []byte("<presence/>"), Sender: "sip:alice@10.0.0.1",
			Priority: 7, RUID: "pres-1-2-3"},
		{Username: "", Domain: "ex.com", Event: "dialog", ETag: "e", Expires: -1, Body: []byte{},
			RUID: "r"}, // no user, no sender, empty body
		{Username: "u", Domain: "d", Event: "presence", ETag: strings.Repeat("t", 70000), Body: huge,
			Sender: strings.Repeat("s", 300), RUID: "r2", Priority: -5},
		{}, // every field empty
	}
	for i, want := range cases {
		p := newPublication(&want)
		got := p.row(want.Event)
		if len(want.Body) == 0 && len(got.Body) == 0 {
			if got.Body == nil {
				t.Errorf("case %d: nil body (the column is NOT NULL)", i)
			}
			got.Body = want.Body
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("case %d: round trip changed the row:\n got %+.80v\nwant %+.80v", i, *got, want)
		}
		if !p.etagIs(want.ETag) || p.etagIs(want.ETag+"x") {
			t.Errorf("case %d: etagIs", i)
		}
		ev := p.event()
		if ev.ETag != want.ETag || ev.Sender != want.Sender || !bytes.Equal(ev.Body, want.Body) {
			t.Errorf("case %d: event() = %+.80v", i, ev)
		}
	}
}

// The body shares the packed bytes: an append to it must not write over them, and the row it
// was packed from may change afterwards without changing the publication.
func TestPublicationBodyIsolated(t *testing.T) {
	src := db.Presentity{ETag: "e1", RUID: "r1", Body: []byte("abc")}
	p := newPublication(&src)
	src.Body[0] = 'X'
	b := p.body()
	_ = append(b, "zzz"...)
	if got := string(p.body()); got != "abc" {
		t.Fatalf("body = %q, want abc", got)
	}
	if cap(b) != len(b) {
		t.Fatalf("body capacity %d past its length %d", cap(b), len(b))
	}
}

func TestPresentityManyPublications(t *testing.T) {
	var pr presentity
	const n = 50
	for i := 0; i < n; i++ {
		pr.pubs = append(pr.pubs, newPublication(&db.Presentity{ETag: "e" + strings.Repeat("x", i),
			Body: []byte(strings.Repeat("b", i))}))
	}
	if got := pr.find("e" + strings.Repeat("x", 17)); got != 17 {
		t.Fatalf("find = %d, want 17", got)
	}
	if pr.find("nope") != -1 {
		t.Fatal("found a tag never published")
	}
	// replace moves a publication to the end (newest), remove keeps the order of the rest
	pr.replace(17, newPublication(&db.Presentity{ETag: "new", Body: []byte("nb")}))
	pr.remove(0)
	if len(pr.pubs) != n-1 || pr.pubs[len(pr.pubs)-1].etag() != "new" || pr.find("e") != -1 {
		t.Fatalf("after replace and remove: %d publications, newest %q", len(pr.pubs), pr.pubs[len(pr.pubs)-1].etag())
	}
	for i := 0; i < len(pr.pubs)-1; i++ {
		want := i + 1
		if want >= 17 {
			want++
		}
		if got := len(pr.pubs[i].body()); got != want {
			t.Fatalf("publication %d: body of %d bytes, want %d (order kept)", i, got, want)
		}
	}
	// the slot freed at the end holds nothing
	if spare := pr.pubs[:len(pr.pubs)+1]; spare[len(spare)-1].data != nil {
		t.Fatal("a removed publication's bytes are still referenced by the spare capacity")
	}
	pubs := pr.publications()
	if len(pubs) != len(pr.pubs) || pubs[len(pubs)-1].ETag != "new" || string(pubs[len(pubs)-1].Body) != "nb" {
		t.Fatalf("publications() = %d, newest %+v", len(pubs), pubs[len(pubs)-1])
	}
}
