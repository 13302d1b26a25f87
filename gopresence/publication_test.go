package gopresence

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/wire"
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

func TestPublicationDeflate(t *testing.T) {
	pidf := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:h1@127.0.0.1">
<tuple id="t1"><status><basic>open</basic></status><note>held 1</note></tuple>
</presence>
`)
	noise := make([]byte, 4096)
	x := uint32(1)
	for i := range noise { // xorshift: bytes deflate cannot shrink
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		noise[i] = byte(x)
	}
	huge := bytes.Repeat(pidf, 20000) // 4 MB
	cases := []struct {
		name   string
		body   []byte
		packed bool
	}{
		{"pidf", pidf, true},
		{"empty", []byte{}, false},
		{"short", []byte("<presence/>"), false},
		{"incompressible", noise, false},
		{"huge", huge, true},
	}
	for _, c := range cases {
		row := db.Presentity{Username: "h1", Domain: "127.0.0.1", ETag: "a.1", Sender: "sip:x@y",
			RUID: "pres-1", Body: c.body, Expires: 5, ReceivedTime: 4, Priority: 3}
		p := newPublication(&row)
		plainSize := len(p.data)
		p.deflate()
		if got := p.plainLen != 0; got != c.packed {
			t.Errorf("%s: deflated %v, want %v", c.name, got, c.packed)
		}
		if c.packed && len(p.data) >= plainSize {
			t.Errorf("%s: %d bytes held deflated, %d plain", c.name, len(p.data), plainSize)
		}
		got := p.row("presence")
		if !bytes.Equal(got.Body, c.body) || got.ETag != "a.1" || got.RUID != "pres-1" ||
			got.Sender != "sip:x@y" || got.Username != "h1" || got.Domain != "127.0.0.1" {
			t.Errorf("%s: after deflate the row is %+.100v", c.name, *got)
		}
		if ev := p.event(); !bytes.Equal(ev.Body, c.body) || ev.ETag != "a.1" {
			t.Errorf("%s: after deflate event() = %+.100v", c.name, ev)
		}
		again := p.data
		p.deflate() // a deflated body stays as it is
		if &again[0] != &p.data[0] {
			t.Errorf("%s: deflated twice", c.name)
		}
	}
	if z := deflateBody(pidf); len(z) > len(pidf)/3 {
		t.Errorf("the bench's PIDF body deflates to %d of %d bytes: the dictionary does not match it", len(z), len(pidf))
	}
}

// A body packed while idle still reaches a new watcher whole, and a later modify replaces it
// with a plain one.
func TestIdleBodiesPacked(t *testing.T) {
	e, clk := newTestEngine(t, "", "")
	pub := do(t, e, wire.TPublish, publish("", "3600", pidf1))
	if pub.code != 200 {
		t.Fatalf("PUBLISH: %d", pub.code)
	}
	held := func() *publication {
		for _, sh := range e.shards.s {
			for _, pr := range sh.pres {
				return &pr.pubs[0]
			}
		}
		t.Fatal("no publication held")
		return nil
	}
	e.packIdleBodies()
	if held().plainLen != 0 {
		t.Fatal("a body packed before it was idle")
	}
	clk.t = clk.t.Add(bodyIdle)
	e.packIdleBodies()
	if held().plainLen == 0 {
		t.Fatalf("an idle body of %d bytes not packed", len(pidf1))
	}
	r := do(t, e, wire.TSubscribe, subscribe("w1", "", "3600", 1))
	if r.code != 200 || len(r.notifs) != 1 || !strings.Contains(r.notifs[0][wire.NBody], "<note>one</note>") {
		t.Fatalf("SUBSCRIBE after packing: %d, NOTIFYs %v", r.code, r.notifs)
	}
	// a modify replaces the packed body with its own, held plain until it is idle in turn
	r = do(t, e, wire.TPublish, publish(pub.headers["SIP-ETag"], "3600", pidf2))
	if r.code != 200 || len(r.notifs) != 1 || !strings.Contains(r.notifs[0][wire.NBody], "<note>two</note>") {
		t.Fatalf("modify of a packed publication: %d, NOTIFYs %v", r.code, r.notifs)
	}
	if held().plainLen != 0 || string(held().body()) != pidf2 {
		t.Fatalf("after the modify: packed %v, body %q", held().plainLen != 0, held().body())
	}
	// a refresh without body keeps the packed body's document
	clk.t = clk.t.Add(bodyIdle)
	e.packIdleBodies()
	r = do(t, e, wire.TPublish, publish(r.headers["SIP-ETag"], "3600", ""))
	if r.code != 200 || string(held().body()) != pidf2 {
		t.Fatalf("refresh of a packed publication: %d, body %q", r.code, held().body())
	}
}
