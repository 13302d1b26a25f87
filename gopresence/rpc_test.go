package gopresence

import (
	"fmt"
	"testing"
	"time"

	"github.com/gopresence/gopresence/gopresence/wire"
)

func rpc(t *testing.T, e *Engine, cmd string, args ...string) *wire.Frame {
	t.Helper()
	b := wire.NewBuilder(wire.TRPC, 3).AddStr(wire.RPCCommand, cmd)
	for _, a := range args {
		b.AddStr(wire.RPCArg, a)
	}
	in, _ := wire.Decode(b.Bytes())
	out, err := wire.Decode(e.Handle(in))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRPC(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	do(t, e, wire.TPublish, publish("", "60", pidf1))
	do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 1))

	out := rpc(t, e, "presentity_list", "full")
	rows, ints := 0, 0
	for _, f := range out.Fields {
		switch f.Tag {
		case wire.RPCRow:
			rows++
		case wire.RPCInt:
			ints++
		}
	}
	if out.Str(wire.Code) != "200" || rows != 1 || ints != 4 {
		t.Fatalf("presentity_list: code %s rows %d ints %d", out.Str(wire.Code), rows, ints)
	}
	out = rpc(t, e, "refreshWatchers", "sip:alice@ex.com", "presence", "1")
	if out.Str(wire.Code) != "200" || !out.Has(wire.NotifyBegin) {
		t.Fatalf("refreshWatchers 1: %s, notify %v", out.Str(wire.Code), out.Has(wire.NotifyBegin))
	}
	for args, want := range map[[3]string]string{
		{"", "presence", "1"}:                 "Empty presentity URI",
		{"sip:alice@ex.com", "", "1"}:         "Empty event parameter",
		{"sip:alice@ex.com", "presence", "2"}: "Execution failed",
		{"sip:alice@ex.com", "nosuchev", "1"}: "Unknown event nosuchev",
	} {
		if out := rpc(t, e, "refreshWatchers", args[:]...); out.Str(wire.Reason) != want {
			t.Errorf("%v: %q, want %q", args, out.Str(wire.Reason), want)
		}
	}
	if out := rpc(t, e, "refreshWatchers", "sip:alice@ex.com"); out.Str(wire.Reason) != "Not enough parameters" {
		t.Errorf("short: %q", out.Str(wire.Reason))
	}
	if out := rpc(t, e, "cleanup"); out.Str(wire.Reason) != "Reload OK" {
		t.Errorf("cleanup: %q", out.Str(wire.Reason))
	}
}

// refreshWatchers type 2 (hard state): the document becomes the publication named filename,
// never expiring, and watchers are notified; again without a document, it is removed.
func TestRPCHardState(t *testing.T) {
	e, c, _ := subscribed(t, "")
	hard := `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@ex.com"><tuple id="h"><status><basic>open</basic></status><note>hard</note></tuple></presence>`
	do(t, e, wire.TPublish, publish("", "60", pidf1))
	f := rpc(t, e, "refreshWatchers", "sip:alice@ex.com", "presence", "2", "hard.xml", hard)
	if f.Str(wire.Code) != "200" {
		t.Fatalf("type 2 with a document: %s %s", f.Str(wire.Code), f.Str(wire.Reason))
	}
	if s := e.Stats(); s.Publications != 2 {
		t.Fatalf("%d publications held, want the published one and the hard state", s.Publications)
	}
	c.t = c.t.Add(1000 * time.Hour) // the soft publication expires, the hard state never
	e.expirePublications()
	if s := e.Stats(); s.Publications != 1 || lastETag(t, e) != "hard.xml" {
		t.Fatalf("after the soft one expired: %+v", s)
	}
	if f = rpc(t, e, "refreshWatchers", "sip:alice@ex.com", "presence", "2", "hard.xml"); f.Str(wire.Code) != "200" {
		t.Fatalf("type 2 without a document: %s", f.Str(wire.Code))
	}
	if s := e.Stats(); s.Publications != 0 {
		t.Fatalf("the hard state was not removed: %+v", s)
	}
	if f = rpc(t, e, "refreshWatchers", "sip:alice@ex.com", "presence", "2"); f.Str(wire.Code) != "500" {
		t.Fatalf("type 2 without a file name: %s", f.Str(wire.Code))
	}
}

// A hard state for a presentity that holds no publication is its first one (never expiring);
// removing one that is not held changes nothing and still answers 200.
func TestRPCHardStateWithoutPublication(t *testing.T) {
	e, c, _ := subscribed(t, "")
	hard := `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@ex.com"><tuple id="h"><status><basic>open</basic></status></tuple></presence>`
	if f := rpc(t, e, "refreshWatchers", "sip:alice@ex.com", "presence", "2", "none.xml"); f.Str(wire.Code) != "200" {
		t.Fatalf("type 2 removing what is not held: %s %s", f.Str(wire.Code), f.Str(wire.Reason))
	}
	if s := e.Stats(); s.Publications != 0 {
		t.Fatalf("%d publications held after removing nothing", s.Publications)
	}
	if f := rpc(t, e, "refreshWatchers", "sip:alice@ex.com", "presence", "2", "hard.xml", hard); f.Str(wire.Code) != "200" {
		t.Fatalf("type 2 with a document: %s %s", f.Str(wire.Code), f.Str(wire.Reason))
	}
	if s := e.Stats(); s.Publications != 1 || lastETag(t, e) != "hard.xml" {
		t.Fatalf("after the first hard state: %+v", s)
	}
	// its priority is a new publication's: seconds since PRES_PRIORITY_TBASE
	want := fmt.Sprint(c.t.Unix() - 1420070400)
	if rows := rpcRows(rpc(t, e, "presentity_list", "full")); len(rows) != 1 || rows[0]["priority"] != want {
		t.Fatalf("hard state row %v, want priority %s", rows, want)
	}
	c.t = c.t.Add(1000 * time.Hour) // stored with expires -1: it never expires
	e.expirePublications()
	if s := e.Stats(); s.Publications != 1 {
		t.Fatalf("the first hard state expired: %+v", s)
	}
}
