package presence

import (
	"strings"
	"testing"

	"github.com/gopresence/gopresence/gopresence/events"
)

const doc1 = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t1"><status><basic>open</basic></status><note>one</note></tuple></presence>`
const doc2 = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t2"><status><basic>open</basic></status><note>two</note></tuple></presence>`
const doc1b = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t1"><status><basic>closed</basic></status></tuple></presence>`

func TestRegistered(t *testing.T) {
	if events.Lookup("presence", []string{"id"}) == nil || events.Lookup("Presence", nil) == nil {
		t.Fatal("presence not registered or not found with an id param")
	}
}

func TestValidate(t *testing.T) {
	p := Package{}
	if err := p.Validate([]byte(doc1)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "<presence", "<other/>", "<presence></presenc>",
		`<!DOCTYPE x [<!ENTITY a "b">]><presence/>`, strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)} {
		if p.Validate([]byte(bad)) == nil {
			t.Errorf("accepted %.40q", bad)
		}
	}
}

func TestAggregate(t *testing.T) {
	p := Package{}
	one := p.NotifyBody([]events.Publication{{ETag: "a", Body: []byte(doc1)}}, "")
	if string(one) != doc1 {
		t.Fatal("a single publication must pass through unchanged")
	}
	both := string(p.NotifyBody([]events.Publication{{ETag: "a", Body: []byte(doc1)}, {ETag: "b", Body: []byte(doc2)}}, ""))
	if !strings.Contains(both, `id="t1"`) || !strings.Contains(both, `id="t2"`) || strings.Count(both, "<presence") != 1 {
		t.Fatalf("aggregate: %s", both)
	}
	// newest first: a document whose first tuple id is already in the base is skipped
	dup := string(p.NotifyBody([]events.Publication{{ETag: "a", Body: []byte(doc1)}, {ETag: "b", Body: []byte(doc1b)}}, ""))
	if strings.Count(dup, `id="t1"`) != 1 || !strings.Contains(dup, "closed") {
		t.Fatalf("duplicate tuple: %s", dup)
	}
	if p.NotifyBody(nil, "") != nil {
		t.Fatal("no publication must give no body")
	}
}

func TestOffline(t *testing.T) {
	p := Package{}
	off := string(p.NotifyBody([]events.Publication{{ETag: "a", Body: []byte(doc1)}}, "a"))
	if !strings.Contains(off, "<basic>closed</basic>") || strings.Contains(off, "<note>") || !strings.Contains(off, `entity="sip:a@x"`) {
		t.Fatalf("offline: %s", off)
	}
}

func FuzzPresenceBody(f *testing.F) {
	f.Add([]byte(doc1), []byte(doc2))
	f.Add([]byte(doc1b), []byte("<presence/>"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		p := Package{}
		if p.Validate(a) != nil || p.Validate(b) != nil {
			return
		}
		out := p.NotifyBody([]events.Publication{{ETag: "a", Body: a}, {ETag: "b", Body: b}}, "a")
		if out != nil && p.Validate(out) != nil {
			t.Fatalf("aggregate of valid documents is invalid: %q", out)
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	p := Package{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := p.Validate([]byte(doc1)); err != nil {
			b.Fatal(err)
		}
	}
}
