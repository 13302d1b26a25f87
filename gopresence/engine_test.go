package gopresence

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopresence/gopresence/gopresence/wire"
)

const pidf1 = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@ex.com"><tuple id="t1"><status><basic>open</basic></status><note>one</note></tuple></presence>`
const pidf2 = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@ex.com"><tuple id="t1"><status><basic>open</basic></status><note>two</note></tuple></presence>`

type testLog struct{ t testing.TB }

func (l testLog) Log(level, msg string) { l.t.Logf("[%s] %s", level, msg) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// newTestEngine starts an engine on dbURL ("": a new in-memory database; benchmarks: a new
// benchBackend database).
func newTestEngine(t testing.TB, dbURL string, extra string) (*Engine, *clock) {
	t.Helper()
	if dbURL == "" {
		dbURL = memBackend.newURL(t)
		if _, bench := t.(*testing.B); bench {
			dbURL = benchBackend.newURL(t)
		}
	}
	cfg, err := ParseConfig("db_url=" + dbURL + "\n" + extra)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { forgetModuleEvents(cfg) })
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	e.now = c.now
	t.Cleanup(e.Close)
	return e, c
}

// result is a decoded answer.
type result struct {
	code    int
	reason  string
	toTag   string
	headers map[string]string
	notifs  []map[wire.Tag]string
}

func do(t *testing.T, e *Engine, typ wire.Type, fields map[wire.Tag]string) result {
	t.Helper()
	b := wire.NewBuilder(typ, 1)
	for _, tag := range []wire.Tag{wire.RURI, wire.FromURI, wire.FromTag, wire.ToURI, wire.ToTag,
		wire.CallID, wire.CSeq, wire.Event, wire.Expires, wire.IfMatch, wire.ContentType,
		wire.Body, wire.Contact, wire.RecordRoute, wire.Socket, wire.Advertised, wire.Source,
		wire.ScriptParam, wire.Duplicate, wire.Deadline, wire.BadHeader, wire.ContentLength, wire.ContactCount,
		wire.AuthStatus, wire.AuthReason, wire.SetETag} {
		if v, ok := fields[tag]; ok {
			b.AddStr(tag, v)
		}
	}
	f, err := wire.Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	out, err := wire.Decode(e.Handle(f))
	if err != nil {
		t.Fatal(err)
	}
	var r result
	r.code, _ = strconv.Atoi(out.Str(wire.Code))
	r.reason = out.Str(wire.Reason)
	r.toTag = out.Str(wire.ToTagOut)
	r.headers = map[string]string{}
	for _, line := range strings.Split(out.Str(wire.Headers), "\r\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			r.headers[k] = v
		}
	}
	for _, fl := range out.Fields {
		if fl.Tag == wire.NotifyBegin {
			r.notifs = append(r.notifs, map[wire.Tag]string{})
		} else if len(r.notifs) > 0 {
			r.notifs[len(r.notifs)-1][fl.Tag] = string(fl.Value)
		}
	}
	return r
}

func publish(etag, expires, body string) map[wire.Tag]string {
	m := map[wire.Tag]string{wire.RURI: "sip:alice@ex.com", wire.Event: "presence",
		wire.Expires: expires, wire.ContentLength: "1"}
	if etag != "" {
		m[wire.IfMatch] = etag
	}
	if body != "" {
		m[wire.Body] = body
		m[wire.ContentType] = "application/pidf+xml"
	}
	return m
}

func subscribe(callID, toTag, expires string, cseq int) map[wire.Tag]string {
	m := map[wire.Tag]string{wire.RURI: "sip:alice@ex.com", wire.FromURI: "sip:bob@ex.com",
		wire.FromTag: "ft-" + callID, wire.ToURI: "sip:alice@ex.com", wire.CallID: callID,
		wire.CSeq: strconv.Itoa(cseq), wire.Event: "presence", wire.Expires: expires,
		wire.Contact: "sip:bob@10.0.0.2:5060", wire.ContactCount: "1",
		wire.Socket: "udp:127.0.0.1:5060", wire.Advertised: "udp:127.0.0.1:5060",
	}
	if toTag != "" {
		m[wire.ToTag] = toTag
	}
	return m
}

func TestPublishLifecycle(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	r := do(t, e, wire.TPublish, publish("", "60", pidf1))
	if r.code != 200 || r.headers["Expires"] != "60" || r.headers["SIP-ETag"] == "" {
		t.Fatalf("initial: %+v", r)
	}
	etag1 := r.headers["SIP-ETag"]
	// (that a refresh notifies nobody is TestBodylessRefreshNotifiesNobody's: it has a watcher)
	r = do(t, e, wire.TPublish, publish(etag1, "60", ""))
	refreshed := r.headers["SIP-ETag"]
	if r.code != 200 || refreshed == etag1 || refreshed != lastETag(t, e) {
		t.Fatalf("refresh: %+v", r)
	}
	if r = do(t, e, wire.TPublish, publish(etag1, "60", "")); r.code != 412 {
		t.Fatalf("old etag after refresh: %d", r.code)
	}
	etag2 := do(t, e, wire.TPublish, publish(refreshed, "60", pidf2)).headers["SIP-ETag"]
	if etag2 == "" || etag2 == refreshed {
		t.Fatalf("modify gave etag %q after %q", etag2, refreshed)
	}
	if r = do(t, e, wire.TPublish, publish("nodot", "60", "")); r.code != 412 {
		t.Fatalf("unknown etag without dot: %d", r.code)
	}
	r = do(t, e, wire.TPublish, publish(etag2, "0", ""))
	if r.code != 200 || r.headers["Expires"] != "0" || r.headers["SIP-ETag"] != etag2 {
		t.Fatalf("remove: %+v", r)
	}
	if s := e.Stats(); s.Publications != 0 {
		t.Fatalf("state left after remove: %+v", s)
	}
}

// lastETag returns the only publication's current etag.
func lastETag(t *testing.T, e *Engine) string {
	for _, sh := range e.shards.s {
		for _, p := range sh.pres {
			return p.pubs[len(p.pubs)-1].etag()
		}
	}
	t.Fatal("no publication")
	return ""
}

func TestPublishErrors(t *testing.T) {
	e, _ := newTestEngine(t, "", "max_expires=100")
	cases := []struct {
		name string
		mod  func(m map[wire.Tag]string)
		code int
	}{
		{"no body", func(m map[wire.Tag]string) { delete(m, wire.Body) }, 400},
		{"no event", func(m map[wire.Tag]string) { delete(m, wire.Event) }, 489},
		{"unknown event", func(m map[wire.Tag]string) { m[wire.Event] = "foo" }, 489},
		{"bad event", func(m map[wire.Tag]string) { m[wire.Event] = "pres ence" }, 400},
		{"bad expires", func(m map[wire.Tag]string) { m[wire.Expires] = "soon" }, 400},
		{"bad ruri", func(m map[wire.Tag]string) { m[wire.RURI] = "http://x" }, 400},
		{"not xml", func(m map[wire.Tag]string) { m[wire.Body] = "<presence" }, 415},
		{"wrong type", func(m map[wire.Tag]string) { m[wire.ContentType] = "text/plain" }, 415},
		{"bad header", func(m map[wire.Tag]string) { m[wire.BadHeader] = "From" }, 400},
		{"huge body", func(m map[wire.Tag]string) { m[wire.Body] = strings.Repeat(" ", 2<<20) }, 413},
		{"long etag", func(m map[wire.Tag]string) { m[wire.IfMatch] = strings.Repeat("a", 200) }, 400},
	}
	for _, c := range cases {
		m := publish("", "60", pidf1)
		c.mod(m)
		r := do(t, e, wire.TPublish, m)
		if r.code != c.code {
			t.Errorf("%s: got %d %s, want %d", c.name, r.code, r.reason, c.code)
		}
		if c.code == 489 && !strings.Contains(r.headers["Allow-Events"], "presence") {
			t.Errorf("%s: no Allow-Events", c.name)
		}
	}
	if r := do(t, e, wire.TPublish, publish("", "7200", pidf1)); r.headers["Expires"] != "100" {
		t.Errorf("max_expires not applied: %v", r.headers)
	}
	if s := e.Stats(); s.Publications != 1 {
		t.Errorf("errors left state: %+v", s)
	}
}

func TestSubscribeNotify(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	do(t, e, wire.TPublish, publish("", "60", pidf1))
	r := do(t, e, wire.TSubscribe, subscribe("c1", "", "120", 1))
	if r.code != 200 || r.headers["Expires"] != "120" || r.headers["Contact"] != "<sip:127.0.0.1:5060>" {
		t.Fatalf("subscribe: %+v", r)
	}
	if len(r.notifs) != 1 || !strings.HasPrefix(r.toTag, "10") {
		t.Fatalf("want 1 NOTIFY and a To tag with the default prefix, got %+v", r)
	}
	tt := r.toTag
	n := r.notifs[0]
	if !strings.Contains(n[wire.NHeaders], "Subscription-State: active;expires=120\r\n") ||
		!strings.Contains(n[wire.NHeaders], "Content-Type: application/pidf+xml\r\n") ||
		!strings.Contains(n[wire.NHeaders], "Event: presence\r\n") ||
		n[wire.NBody] != pidf1 || n[wire.NCSeq] != "1" || n[wire.NLocalTag] != tt ||
		n[wire.NRemoteTag] != "ft-c1" || n[wire.NTarget] != "sip:bob@10.0.0.2:5060" {
		t.Fatalf("NOTIFY: %+v", n)
	}
	// modify → NOTIFY with the new body
	r = do(t, e, wire.TPublish, publish(lastETag(t, e), "60", pidf2))
	if len(r.notifs) != 1 || r.notifs[0][wire.NBody] != pidf2 || r.notifs[0][wire.NCSeq] != "2" {
		t.Fatalf("modify NOTIFY: %+v", r.notifs)
	}
	// refresh in dialog
	r = do(t, e, wire.TSubscribe, subscribe("c1", tt, "60", 2))
	if r.code != 200 || len(r.notifs) != 1 || r.notifs[0][wire.NCSeq] != "3" ||
		!strings.Contains(r.notifs[0][wire.NHeaders], "active;expires=60") {
		t.Fatalf("refresh: %+v", r)
	}
	// stale CSeq
	if r = do(t, e, wire.TSubscribe, subscribe("c1", tt, "60", 2)); r.code != 500 {
		t.Fatalf("stale CSeq: %d", r.code)
	}
	// unknown dialog
	if r = do(t, e, wire.TSubscribe, subscribe("nope", "x", "60", 5)); r.code != 481 {
		t.Fatalf("unknown dialog: %d", r.code)
	}
	// remove publication → NOTIFY rendered closed
	r = do(t, e, wire.TPublish, publish(lastETag(t, e), "0", ""))
	if len(r.notifs) != 1 || !strings.Contains(r.notifs[0][wire.NBody], "<basic>closed</basic>") {
		t.Fatalf("remove NOTIFY: %+v", r.notifs)
	}
	// unsubscribe
	r = do(t, e, wire.TSubscribe, subscribe("c1", tt, "0", 3))
	if r.code != 200 || r.headers["Expires"] != "0" || len(r.notifs) != 1 ||
		!strings.Contains(r.notifs[0][wire.NHeaders], "Subscription-State: terminated;reason=timeout") {
		t.Fatalf("unsubscribe: %+v", r)
	}
	if s := e.Stats(); s.Subscriptions != 0 {
		t.Fatalf("subscription left: %+v", s)
	}
}

func TestFetchStoresNothing(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	do(t, e, wire.TPublish, publish("", "60", pidf1))
	r := do(t, e, wire.TSubscribe, subscribe("f1", "", "0", 1))
	if r.code != 200 || len(r.notifs) != 1 || r.notifs[0][wire.NBody] != pidf1 ||
		!strings.Contains(r.notifs[0][wire.NHeaders], "terminated;reason=timeout") {
		t.Fatalf("fetch: %+v", r)
	}
	if e.Stats().Subscriptions != 0 {
		t.Fatal("fetch stored a subscription")
	}
}

func TestSubscribeErrors(t *testing.T) {
	e, _ := newTestEngine(t, "", "min_expires=60")
	cases := []struct {
		name string
		mod  func(m map[wire.Tag]string)
		code int
	}{
		{"short", func(m map[wire.Tag]string) { m[wire.Expires] = "10" }, 423},
		{"no contact", func(m map[wire.Tag]string) { delete(m, wire.Contact) }, 400},
		{"star contact", func(m map[wire.Tag]string) { m[wire.ContactCount] = "*" }, 400},
		{"no from tag", func(m map[wire.Tag]string) { delete(m, wire.FromTag) }, 400},
		{"bad cseq", func(m map[wire.Tag]string) { m[wire.CSeq] = "x" }, 400},
		{"no event", func(m map[wire.Tag]string) { delete(m, wire.Event) }, 489},
		{"two Expires", func(m map[wire.Tag]string) { m[wire.Duplicate] = "Expires" }, 400},
	}
	for _, c := range cases {
		m := subscribe("e-"+strings.ReplaceAll(c.name, " ", "-"), "", "120", 1)
		c.mod(m)
		r := do(t, e, wire.TSubscribe, m)
		if r.code != c.code {
			t.Errorf("%s: got %d, want %d", c.name, r.code, c.code)
		}
		if c.code == 423 && r.headers["Min-Expires"] != "60" {
			t.Errorf("no Min-Expires: %v", r.headers)
		}
	}
	if e.Stats().Subscriptions != 0 {
		t.Fatal("error left a subscription")
	}
}

func TestRestartRestoresState(t *testing.T) { forEachBackend(t, testRestartRestoresState) }

func testRestartRestoresState(t *testing.T, b testBackend) {
	dbURL := b.newURL(t)
	e1, _ := newTestEngine(t, dbURL, "")
	etag := do(t, e1, wire.TPublish, publish("", "600", pidf1)).headers["SIP-ETag"]
	tt := do(t, e1, wire.TSubscribe, subscribe("c1", "", "600", 1)).toTag
	do(t, e1, wire.TPublish, publish(etag, "600", pidf2)) // NOTIFY CSeq 2
	e1.Close()

	e2, _ := newTestEngine(t, dbURL, "")
	if s := e2.Stats(); s.Publications != 1 || s.Subscriptions != 1 {
		t.Fatalf("restored %+v", s)
	}
	r := do(t, e2, wire.TSubscribe, subscribe("c1", tt, "600", 2))
	if r.code != 200 || len(r.notifs) != 1 || r.notifs[0][wire.NBody] != pidf2 {
		t.Fatalf("refresh after restart: %+v", r)
	}
	// CSeq 2 written back at the clean stop, cseqRestartMargin added at restore, then this one
	if got, want := r.notifs[0][wire.NCSeq], strconv.Itoa(2+cseqRestartMargin+1); got != want {
		t.Fatalf("CSeq after restart %s, want %s", got, want)
	}
}

func TestExpiry(t *testing.T) {
	e, c := newTestEngine(t, "", "")
	var sent [][]byte
	e.SetEngineNotifier(func(b []byte) { sent = append(sent, b) })
	do(t, e, wire.TPublish, publish("", "30", pidf1))
	do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 1))
	c.t = c.t.Add(31 * time.Second)
	e.expirePublications()
	if e.Stats().Publications != 0 || len(sent) != 1 {
		t.Fatalf("publication not expired: %+v, %d frames", e.Stats(), len(sent))
	}
	c.t = c.t.Add(30 * time.Second)
	e.expireSubscriptions()
	if e.Stats().Subscriptions != 0 || len(sent) != 2 {
		t.Fatalf("subscription not expired: %+v", e.Stats())
	}
	f, _ := wire.Decode(sent[1])
	if !strings.Contains(f.Str(wire.NHeaders), "terminated;reason=timeout") {
		t.Fatalf("expiry NOTIFY: %q", f.Str(wire.NHeaders))
	}
}

func TestNotifyResultRemoves(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	tags := map[string]string{
		"c1": do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 1)).toTag,
		"c2": do(t, e, wire.TSubscribe, subscribe("c2", "", "60", 1)).toTag,
	}
	res := func(callID, code string) {
		b := wire.NewBuilder(wire.TNotifyResult, 0).AddStr(wire.NCallID, callID).
			AddStr(wire.NLocalTag, tags[callID]).AddStr(wire.NRemoteTag, "ft-"+callID).
			AddStr(wire.ReplyCode, code)
		f, _ := wire.Decode(b.Bytes())
		if out := e.Handle(f); out != nil {
			t.Fatal("NotifyResult answered")
		}
	}
	res("c1", "500")
	if e.Stats().Subscriptions != 2 {
		t.Fatal("500 removed a subscription")
	}
	res("c1", "481")
	res("c2", "408")
	if e.Stats().Subscriptions != 0 {
		t.Fatalf("481/408 kept: %+v", e.Stats())
	}
}

// A crash loses the write-back of local CSeqs: after restore the CSeq must still be above
// everything sent before.
func TestCSeqGrowsAfterCrash(t *testing.T) { forEachBackend(t, testCSeqGrowsAfterCrash) }

func testCSeqGrowsAfterCrash(t *testing.T, b testBackend) {
	dbURL := b.newURL(t)
	e1, _ := newTestEngine(t, dbURL, "")
	etag := do(t, e1, wire.TPublish, publish("", "600", pidf1)).headers["SIP-ETag"]
	tt := do(t, e1, wire.TSubscribe, subscribe("c1", "", "600", 1)).toTag
	e1.writeBack() // CSeq 1 on disk
	var last int
	for i := 0; i < 5; i++ {
		r := do(t, e1, wire.TPublish, publish(etag, "600", pidf2))
		etag = r.headers["SIP-ETag"]
		last, _ = strconv.Atoi(r.notifs[0][wire.NCSeq])
	}
	// "crash": a second engine on the same database without e1.Close()
	e2, _ := newTestEngine(t, dbURL, "")
	r := do(t, e2, wire.TSubscribe, subscribe("c1", tt, "600", 2))
	// CSeq 1 on disk plus cseqRestartMargin is above every CSeq sent since (up to last)
	c, _ := strconv.Atoi(r.notifs[0][wire.NCSeq])
	if c != 1+cseqRestartMargin+1 || c <= last {
		t.Fatalf("CSeq %d after crash, want %d (last sent %d)", c, 1+cseqRestartMargin+1, last)
	}
}

func TestRetransmittedInitialSubscribeNamesSameDialog(t *testing.T) {
	e, _ := newTestEngine(t, "", "to_tag_pref=pres")
	a := do(t, e, wire.TSubscribe, subscribe("r1", "", "60", 1))
	b := do(t, e, wire.TSubscribe, subscribe("r1", "", "60", 1))
	if a.toTag != b.toTag || !strings.HasPrefix(a.toTag, "pres") || e.Stats().Subscriptions != 1 {
		t.Fatalf("tags %q %q, %d subscriptions", a.toTag, b.toTag, e.Stats().Subscriptions)
	}
}

func TestNotifyReusesStreamConnection(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	m := subscribe("tcp1", "", "60", 1)
	m[wire.Socket] = "tcp:127.0.0.1:5060"
	m[wire.Source] = "127.0.0.1:40000"
	r := do(t, e, wire.TSubscribe, m)
	if got := r.notifs[0][wire.NDst]; got != "sip:127.0.0.1:40000;transport=tcp" {
		t.Fatalf("dst %q", got)
	}
	if r.headers["Contact"] != "<sip:127.0.0.1:5060;transport=tcp>" {
		t.Fatalf("contact %q", r.headers["Contact"])
	}
	m = subscribe("tcp2", "", "60", 1)
	m[wire.Socket], m[wire.Source], m[wire.RecordRoute] = "tcp:127.0.0.1:5060", "127.0.0.1:40001", "<sip:p.ex.com;lr>"
	if r := do(t, e, wire.TSubscribe, m); r.notifs[0][wire.NDst] != "" || r.notifs[0][wire.NRouteSet] != "<sip:p.ex.com;lr>" {
		t.Fatalf("with Record-Route: %+v", r.notifs[0])
	}
	m = subscribe("udp1", "", "60", 1)
	m[wire.Source] = "127.0.0.1:40002"
	if r := do(t, e, wire.TSubscribe, m); r.notifs[0][wire.NDst] != "" {
		t.Fatal("UDP subscription got a connection")
	}
}

func TestLateRequestShed(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	m := publish("", "60", pidf1)
	m[wire.Deadline] = strconv.FormatInt(time.Now().Add(-time.Millisecond).UnixMilli(), 10)
	if r := do(t, e, wire.TPublish, m); r.code != 503 || r.headers["Retry-After"] == "" {
		t.Fatalf("late request: %+v", r)
	}
	if e.Stats().Publications != 0 {
		t.Fatal("a late request changed state")
	}
	m[wire.Deadline] = strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)
	if r := do(t, e, wire.TPublish, m); r.code != 200 {
		t.Fatalf("timely request: %d", r.code)
	}
}

func TestFanOutSplit(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	var engineSent int
	e.SetEngineNotifier(func(b []byte) {
		f, _ := wire.Decode(b)
		for _, fl := range f.Fields {
			if fl.Tag == wire.NotifyBegin {
				engineSent++
			}
		}
	})
	etag := do(t, e, wire.TPublish, publish("", "600", pidf1)).headers["SIP-ETag"]
	for i := 0; i < 200; i++ {
		do(t, e, wire.TSubscribe, subscribe(fmt.Sprint("f", i), "", "600", 1))
	}
	r := do(t, e, wire.TPublish, publish(etag, "600", pidf2))
	if len(r.notifs) != 100 || engineSent != 100 {
		t.Fatalf("worker %d + engine %d NOTIFYs, want 200 split in halves", len(r.notifs), engineSent)
	}
}
