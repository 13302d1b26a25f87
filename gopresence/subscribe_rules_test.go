package gopresence

import (
	"sort"
	"strings"
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// SUBSCRIBE rules and parameters whose breakage no other test would see.

// min_expires: an Expires equal to it is fine; below it, action 1 answers 423 and action 2
// raises it to min_expires. Expires 0 (un-SUBSCRIBE, fetch) is never below it.
func TestMinExpires(t *testing.T) {
	for _, c := range []struct {
		param, expires string
		code           int
		granted        string
	}{
		{"min_expires=60", "60", 200, "60"},
		{"min_expires=60", "59", 423, ""},
		{"min_expires=60\nmin_expires_action=2", "59", 200, "60"},
		{"min_expires=60", "0", 200, "0"},
	} {
		e, _ := newTestEngine(t, "", c.param)
		r := do(t, e, wire.TSubscribe, subscribe("m1", "", c.expires, 1))
		if r.code != c.code || r.headers["Expires"] != c.granted {
			t.Errorf("%q, Expires %s: %d, Expires %q; want %d, %q", c.param, c.expires, r.code, r.headers["Expires"], c.code, c.granted)
		}
		if c.code == 200 && c.granted != "0" && subscriptionState(r.notifs[0]) != "active;expires="+c.granted {
			t.Errorf("%q, Expires %s: NOTIFY %q", c.param, c.expires, subscriptionState(r.notifs[0]))
		}
	}
}

// subs_respond_200=0: SUBSCRIBEs are accepted with 202 (initial and in-dialog).
func TestSubsRespond200Off(t *testing.T) {
	e, _ := newTestEngine(t, "", "subs_respond_200=0")
	r := do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 1))
	if r.code != 202 || r.reason != "Accepted" {
		t.Fatalf("initial: %d %s", r.code, r.reason)
	}
	if r = do(t, e, wire.TSubscribe, subscribe("c1", r.toTag, "60", 2)); r.code != 202 || r.reason != "Accepted" {
		t.Fatalf("refresh: %d %s", r.code, r.reason)
	}
}

// cseq_offset: a re-SUBSCRIBE is refused when CSeq + cseq_offset <= the last CSeq.
func TestCSeqOffset(t *testing.T) {
	e, _ := newTestEngine(t, "", "cseq_offset=2")
	tt := do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 5)).toTag
	if r := do(t, e, wire.TSubscribe, subscribe("c1", tt, "60", 4)); r.code != 200 {
		t.Fatalf("CSeq 4 after 5 with cseq_offset=2: %d", r.code)
	}
	if r := do(t, e, wire.TSubscribe, subscribe("c1", tt, "60", 2)); r.code != 500 {
		t.Fatalf("CSeq 2 after 4 with cseq_offset=2: %d", r.code)
	}
}

// The watcher URI parameter of handle_subscribe changes who is watching, not the dialog:
// NOTIFYs still go to the From URI.
func TestWatcherParameterKeepsDialogURIs(t *testing.T) {
	e, _ := newTestEngine(t, "", "db_commit_delay=0")
	m := subscribe("c1", "", "60", 1)
	m[wire.ScriptParam] = "sip:carol@other.com"
	r := do(t, e, wire.TSubscribe, m)
	if len(r.notifs) != 1 {
		t.Fatalf("%+v", r)
	}
	n := r.notifs[0]
	if n[wire.NRemoteURI] != "sip:bob@ex.com" || n[wire.NLocalURI] != "sip:alice@ex.com" || n[wire.NTarget] != "sip:bob@10.0.0.2:5060" {
		t.Fatalf("NOTIFY remote %q, local %q, target %q", n[wire.NRemoteURI], n[wire.NLocalURI], n[wire.NTarget])
	}
	ws, err := e.store.LoadWatchers(0)
	if err != nil || len(ws) != 1 {
		t.Fatalf("%d rows, %v", len(ws), err)
	}
	if w := ws[0]; w.WatcherUsername != "carol" || w.WatcherDomain != "other.com" || w.FromUser != "bob" {
		t.Fatalf("stored watcher %s@%s, from %s", w.WatcherUsername, w.WatcherDomain, w.FromUser)
	}
}

// Values as long as their table columns are accepted; one byte more is 400.
func TestColumnSizedValues(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	for _, c := range []struct {
		name string
		tag  wire.Tag
		n    int
		make func(n int) string
	}{
		{"Call-ID", wire.CallID, 255, func(n int) string { return strings.Repeat("c", n) }},
		{"From tag", wire.FromTag, 128, func(n int) string { return strings.Repeat("f", n) }},
		{"Contact", wire.Contact, 255, func(n int) string { return "sip:" + strings.Repeat("b", n-11) + "@ex.com" }},
	} {
		for _, extra := range []int{0, 1} {
			m := subscribe("len", "", "0", 1)
			m[c.tag] = c.make(c.n + extra)
			want := 200
			if extra == 1 {
				want = 400
			}
			if r := do(t, e, wire.TSubscribe, m); r.code != want {
				t.Errorf("%s of %d bytes: %d %s, want %d", c.name, c.n+extra, r.code, r.reason, want)
			}
		}
	}
}

// Call-ID and tags are echoed into NOTIFYs: a space, a control, DEL or an angle bracket is 400.
func TestDialogIDCharacters(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	for _, id := range []string{"a b", "a\x01b", "a\x7fb", "a<b", "a>b", "a\xffb"} {
		m := subscribe("x", "", "0", 1)
		m[wire.CallID] = id
		if r := do(t, e, wire.TSubscribe, m); r.code != 400 {
			t.Errorf("Call-ID %q: %d", id, r.code)
		}
	}
	m := subscribe("x", "", "0", 1)
	m[wire.CallID] = "a!~@b"
	if r := do(t, e, wire.TSubscribe, m); r.code != 200 {
		t.Errorf("Call-ID a!~@b: %d", r.code)
	}
}

// A watcher that unsubscribed, or whose initial SUBSCRIBE was retransmitted, is in the list
// of watchers once or not at all: each PUBLISH notifies every remaining watcher exactly once.
func TestWatcherListAfterUnsubscribeAndRetransmission(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	ta := do(t, e, wire.TSubscribe, subscribe("a", "", "600", 1)).toTag
	do(t, e, wire.TSubscribe, subscribe("b", "", "600", 1))
	do(t, e, wire.TSubscribe, subscribe("b", "", "600", 1)) // retransmission: the same dialog
	callIDs := func(r result) string {
		var ids []string
		for _, n := range r.notifs {
			ids = append(ids, n[wire.NCallID])
		}
		sort.Strings(ids)
		return strings.Join(ids, ",")
	}
	if got := callIDs(do(t, e, wire.TPublish, publish("", "600", pidf1))); got != "a,b" {
		t.Fatalf("NOTIFYs to %q, want a,b", got)
	}
	do(t, e, wire.TSubscribe, subscribe("a", ta, "0", 2))
	if got := callIDs(do(t, e, wire.TPublish, publish("", "600", pidf2))); got != "b" {
		t.Fatalf("after a unsubscribed: NOTIFYs to %q, want b", got)
	}
}

// A subscriber reached directly over TCP that refreshes over a new connection gets its NOTIFYs
// on the new one; behind a proxy (Record-Route) the route set leads, and no connection is kept.
func TestRefreshOverNewConnection(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	for _, c := range []struct{ callID, recordRoute, first, refreshed string }{
		{"direct", "", "sip:127.0.0.1:40000;transport=tcp", "sip:127.0.0.1:40009;transport=tcp"},
		{"proxied", "<sip:p.ex.com;lr>", "", ""},
	} {
		m := subscribe(c.callID, "", "600", 1)
		m[wire.Socket], m[wire.Source], m[wire.RecordRoute] = "tcp:127.0.0.1:5060", "127.0.0.1:40000", c.recordRoute
		r := do(t, e, wire.TSubscribe, m)
		if got := r.notifs[0][wire.NDst]; got != c.first {
			t.Fatalf("%s: first NOTIFY to %q, want %q", c.callID, got, c.first)
		}
		m = subscribe(c.callID, r.toTag, "600", 2)
		m[wire.Socket], m[wire.Source] = "tcp:127.0.0.1:5060", "127.0.0.1:40009"
		if got := do(t, e, wire.TSubscribe, m).notifs[0][wire.NDst]; got != c.refreshed {
			t.Fatalf("%s: NOTIFY after the refresh to %q, want %q", c.callID, got, c.refreshed)
		}
	}
}
