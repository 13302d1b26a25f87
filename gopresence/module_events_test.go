package gopresence

import (
	"strings"
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// Events a C module registered (bind_presence add_event) are served like ours, but the C side
// finishes their NOTIFYs: the stored bodies go to agg_nbody, and Content-Type, presentity and
// version travel as fields (module/notify.c).
const moduleEvents = "module_event=x-agg\tapplication/x-agg+xml\t600\tagg\n" +
	"module_event=x-plain\tapplication/x-plain\t300\t-\n"

func modulePublish(event, etag, expires, body string) map[wire.Tag]string {
	m := publish(etag, expires, body)
	m[wire.Event] = event
	if body != "" {
		m[wire.ContentType] = map[string]string{"x-agg": "application/x-agg+xml", "x-plain": "application/x-plain"}[event]
	}
	return m
}

func moduleSubscribe(event, callID, toTag, expires string, cseq int) map[wire.Tag]string {
	m := subscribe(callID, toTag, expires, cseq)
	m[wire.Event] = event
	if expires == "" {
		delete(m, wire.Expires) // no header: the event's default
	}
	return m
}

func parts(t *testing.T, n map[wire.Tag]string) (bodies []string, off string) {
	t.Helper()
	fs, err := wire.DecodeFields([]byte(n[wire.NBodyParts]))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		switch f.Tag {
		case wire.NBodyPart:
			bodies = append(bodies, string(f.Value))
		case wire.NOffIndex:
			off = string(f.Value)
		default:
			t.Fatalf("unexpected field %d in NBodyParts", f.Tag)
		}
	}
	return bodies, off
}

func TestModuleEventAggregatedByC(t *testing.T) {
	e, _ := newTestEngine(t, "", moduleEvents)
	r := do(t, e, wire.TPublish, modulePublish("x-agg", "", "60", "<a/>"))
	if r.code != 200 {
		t.Fatalf("publish: %+v", r)
	}
	first := r.headers["SIP-ETag"]
	do(t, e, wire.TPublish, modulePublish("x-agg", "", "60", "<b/>"))

	r = do(t, e, wire.TSubscribe, moduleSubscribe("x-agg", "w1", "", "", 1))
	if r.code != 200 || r.headers["Expires"] != "600" || len(r.notifs) != 1 {
		t.Fatalf("subscribe (default expires of the module's event): %+v", r)
	}
	n := r.notifs[0]
	if _, has := n[wire.NBody]; has || strings.Contains(n[wire.NHeaders], "Content-Type") {
		t.Fatalf("the C side must build body and Content-Type: %+v", n)
	}
	if n[wire.NContentType] != "application/x-agg+xml" || n[wire.NPresURI] != "sip:alice@ex.com" || n[wire.NVersion] != "1" {
		t.Fatalf("module fields: %q %q %q", n[wire.NContentType], n[wire.NPresURI], n[wire.NVersion])
	}
	if b, off := parts(t, n); strings.Join(b, ",") != "<a/>,<b/>" || off != "" {
		t.Fatalf("parts %q, off %q", b, off)
	}

	r = do(t, e, wire.TPublish, modulePublish("x-agg", first, "0", ""))
	if len(r.notifs) != 1 || r.notifs[0][wire.NVersion] != "2" {
		t.Fatalf("remove: %+v", r.notifs)
	}
	if b, off := parts(t, r.notifs[0]); strings.Join(b, ",") != "<a/>,<b/>" || off != "0" {
		t.Fatalf("remove: parts %q, off %q (the removed one stays, marked)", b, off)
	}
}

func TestModuleEventWithoutAggregation(t *testing.T) {
	e, _ := newTestEngine(t, "", moduleEvents)
	do(t, e, wire.TPublish, modulePublish("x-plain", "", "60", "old"))
	do(t, e, wire.TPublish, modulePublish("x-plain", "", "60", "new"))
	r := do(t, e, wire.TSubscribe, moduleSubscribe("x-plain", "w1", "", "60", 1))
	if len(r.notifs) != 1 {
		t.Fatalf("%+v", r)
	}
	n := r.notifs[0]
	if n[wire.NBody] != "new" || n[wire.NContentType] != "application/x-plain" || n[wire.NVersion] != "1" {
		t.Fatalf("newest body and module fields: %+v", n)
	}
	if _, has := n[wire.NBodyParts]; has {
		t.Fatal("parts for an event that does not aggregate")
	}
	if r := do(t, e, wire.TSubscribe, moduleSubscribe("x-nope", "w2", "", "60", 1)); r.code != 489 ||
		!strings.Contains(r.headers["Allow-Events"], "x-agg") || !strings.Contains(r.headers["Allow-Events"], "x-plain") {
		t.Fatalf("unknown event: %+v", r)
	}
}

func TestModuleEventConfigRefused(t *testing.T) {
	for _, bad := range []string{"module_event=x\tctype\t60", "module_event=\tctype\t60\tagg", "module_event=x\tctype\tsoon\tagg"} {
		if _, err := ParseConfig(bad + "\n"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
