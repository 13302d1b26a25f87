package gopresence

import (
	"strings"
	"testing"
	"time"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// Behaviours docs/conformance.md promises that other tests could not see break: each test
// here has a watcher in place, so a NOTIFY that must not be sent would be seen.

// subscribed returns an engine with one active watcher of sip:alice@ex.com (dialog "w1",
// Expires 600 at the clock's start) and the watcher's To tag.
func subscribed(t *testing.T, extra string) (*Engine, *clock, string) {
	t.Helper()
	e, c := newTestEngine(t, "", extra)
	r := do(t, e, wire.TSubscribe, subscribe("w1", "", "600", 1))
	if r.code != 200 || len(r.notifs) != 1 {
		t.Fatalf("subscribe: %+v", r)
	}
	return e, c, r.toTag
}

func subscriptionState(n map[wire.Tag]string) string {
	for _, l := range strings.Split(n[wire.NHeaders], "\r\n") {
		if v, ok := strings.CutPrefix(l, "Subscription-State: "); ok {
			return v
		}
	}
	return ""
}

// RFC 3903 §4.2: a refresh changes no state, so watchers hear nothing.
func TestBodylessRefreshNotifiesNobody(t *testing.T) {
	e, _, _ := subscribed(t, "")
	r := do(t, e, wire.TPublish, publish("", "60", pidf1))
	if r.code != 200 || len(r.notifs) != 1 {
		t.Fatalf("initial publish: %d, %d NOTIFYs", r.code, len(r.notifs))
	}
	r = do(t, e, wire.TPublish, publish(r.headers["SIP-ETag"], "60", ""))
	if r.code != 200 || r.headers["SIP-ETag"] == "" {
		t.Fatalf("refresh: %+v", r)
	}
	if len(r.notifs) != 0 {
		t.Fatalf("refresh sent %d NOTIFYs", len(r.notifs))
	}
}

// Stock stores the row until the next cleanup and notifies; we store nothing, tell nobody.
func TestInitialPublishExpiresZeroStoresNothing(t *testing.T) {
	e, _, _ := subscribed(t, "")
	r := do(t, e, wire.TPublish, publish("", "0", pidf1))
	if r.code != 200 || r.headers["Expires"] != "0" {
		t.Fatalf("initial publish with Expires 0: %+v", r)
	}
	if len(r.notifs) != 0 {
		t.Fatalf("%d NOTIFYs for a publication that never existed", len(r.notifs))
	}
	if s := e.Stats(); s.Publications != 0 {
		t.Fatalf("stored: %+v", s)
	}
	if got, _ := storedRows(t, e); got != 0 {
		t.Fatalf("%d presentity rows", got)
	}
}

// The expires of Subscription-State is what is left of the subscription when the NOTIFY
// leaves (RFC 6665 §4.1.3), not the interval it was granted.
func TestPublishNotifyExpiresIsWhatIsLeft(t *testing.T) {
	e, c, _ := subscribed(t, "")
	c.t = c.t.Add(100 * time.Second)
	r := do(t, e, wire.TPublish, publish("", "60", pidf1))
	if len(r.notifs) != 1 {
		t.Fatalf("%d NOTIFYs", len(r.notifs))
	}
	if got := subscriptionState(r.notifs[0]); got != "active;expires=500" {
		t.Fatalf("Subscription-State %q, want active;expires=500", got)
	}
}

// The un-SUBSCRIBE's NOTIFY continues the dialog's CSeq and carries the last state.
func TestUnsubscribeNotifyCSeqAndBody(t *testing.T) {
	e, _, tt := subscribed(t, "")                     // NOTIFY CSeq 1
	do(t, e, wire.TPublish, publish("", "60", pidf1)) // NOTIFY CSeq 2
	r := do(t, e, wire.TSubscribe, subscribe("w1", tt, "0", 2))
	if r.code != 200 || len(r.notifs) != 1 {
		t.Fatalf("un-SUBSCRIBE: %+v", r)
	}
	n := r.notifs[0]
	if n[wire.NCSeq] != "3" || subscriptionState(n) != "terminated;reason=timeout" || n[wire.NBody] != pidf1 {
		t.Fatalf("un-SUBSCRIBE NOTIFY: CSeq %q, state %q, body %q", n[wire.NCSeq], subscriptionState(n), n[wire.NBody])
	}
}

// Expiry NOTIFYs: an expired publication is rendered closed to its watchers; an expired
// subscription ends with the current state.
func TestExpiryNotifyBodies(t *testing.T) {
	e, c, _ := subscribed(t, "")
	var sent []*wire.Frame
	e.SetEngineNotifier(func(b []byte) {
		f, err := wire.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, f)
	})
	do(t, e, wire.TPublish, publish("", "30", pidf1))
	do(t, e, wire.TPublish, publish("", "900", pidf2))
	c.t = c.t.Add(31 * time.Second)
	e.expirePublications()
	if len(sent) != 1 {
		t.Fatalf("%d NOTIFYs for one expired publication", len(sent))
	}
	body := sent[0].Str(wire.NBody)
	if !strings.Contains(body, "<note>two</note>") || strings.Contains(body, "<note>one</note>") {
		t.Fatalf("after the first publication expired the watcher got %q", body)
	}
	if got := subscriptionState(map[wire.Tag]string{wire.NHeaders: sent[0].Str(wire.NHeaders)}); got != "active;expires=569" {
		t.Fatalf("Subscription-State %q, want active;expires=569", got)
	}
	c.t = c.t.Add(600 * time.Second)
	e.expireSubscriptions()
	if len(sent) != 2 {
		t.Fatalf("%d NOTIFYs after the subscription expired", len(sent))
	}
	if got := sent[1].Str(wire.NBody); got != pidf2 {
		t.Fatalf("subscription expiry NOTIFY body %q", got)
	}
	if !strings.Contains(sent[1].Str(wire.NHeaders), "Subscription-State: terminated;reason=timeout\r\n") {
		t.Fatalf("subscription expiry NOTIFY headers %q", sent[1].Str(wire.NHeaders))
	}
}

// RFC 3261 §12.1.1: the UAS's route set is the Record-Route list in order.
func TestNotifyRouteSetKeepsRecordRouteOrder(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	m := subscribe("rr", "", "60", 1)
	m[wire.RecordRoute] = "<sip:p1.ex.com;lr>,<sip:p2.ex.com;lr;ftag=x>,<sip:p3.ex.com;lr>"
	r := do(t, e, wire.TSubscribe, m)
	if len(r.notifs) != 1 {
		t.Fatalf("%+v", r)
	}
	if got := r.notifs[0][wire.NRouteSet]; got != m[wire.RecordRoute] {
		t.Fatalf("route set %q, want %q", got, m[wire.RecordRoute])
	}
	do(t, e, wire.TPublish, publish("", "60", pidf1))
	r = do(t, e, wire.TPublish, publish("", "60", pidf2))
	if got := r.notifs[0][wire.NRouteSet]; got != m[wire.RecordRoute] {
		t.Fatalf("route set of a later NOTIFY %q", got)
	}
}

// notifyResult reports a NOTIFY's final reply code for dialog callID, as tm's callback does.
func notifyResult(t *testing.T, e *Engine, callID, toTag, code string) {
	t.Helper()
	b := wire.NewBuilder(wire.TNotifyResult, 0).AddStr(wire.NCallID, callID).
		AddStr(wire.NLocalTag, toTag).AddStr(wire.NRemoteTag, "ft-"+callID).AddStr(wire.ReplyCode, code)
	f, err := wire.Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if out := e.Handle(f); out != nil {
		t.Fatal("NotifyResult answered")
	}
}

// timeout_rm_subs: a NOTIFY that timed out removes the subscription only when it is 1.
func TestTimeoutRmSubs(t *testing.T) {
	for _, c := range []struct {
		param string
		left  int
	}{{"", 0}, {"timeout_rm_subs=1", 0}, {"timeout_rm_subs=0", 1}} {
		e, _, tt := subscribed(t, c.param)
		notifyResult(t, e, "w1", tt, "408")
		if got := e.Stats().Subscriptions; got != c.left {
			t.Errorf("%q: %d subscriptions after a 408, want %d", c.param, got, c.left)
		}
		notifyResult(t, e, "w1", tt, "481")
		if got := e.Stats().Subscriptions; got != 0 {
			t.Errorf("%q: a 481 kept the subscription", c.param)
		}
	}
}

// send_fast_notify=0: no NOTIFY right after an initial or refreshing SUBSCRIBE; a fetch, an
// un-SUBSCRIBE and a PUBLISH still notify.
func TestSendFastNotifyOff(t *testing.T) {
	e, _ := newTestEngine(t, "", "send_fast_notify=0")
	do(t, e, wire.TPublish, publish("", "600", pidf1))
	r := do(t, e, wire.TSubscribe, subscribe("w1", "", "600", 1))
	if r.code != 200 || len(r.notifs) != 0 {
		t.Fatalf("initial SUBSCRIBE: %d, %d NOTIFYs", r.code, len(r.notifs))
	}
	tt := r.toTag
	if r = do(t, e, wire.TSubscribe, subscribe("w1", tt, "600", 2)); r.code != 200 || len(r.notifs) != 0 {
		t.Fatalf("refresh: %d, %d NOTIFYs", r.code, len(r.notifs))
	}
	if r = do(t, e, wire.TPublish, publish("", "600", pidf2)); len(r.notifs) != 1 {
		t.Fatalf("PUBLISH: %d NOTIFYs", len(r.notifs))
	}
	if r = do(t, e, wire.TSubscribe, subscribe("f1", "", "0", 1)); len(r.notifs) != 1 ||
		subscriptionState(r.notifs[0]) != "terminated;reason=timeout" {
		t.Fatalf("fetch: %+v", r.notifs)
	}
	if r = do(t, e, wire.TSubscribe, subscribe("w1", tt, "0", 3)); len(r.notifs) != 1 ||
		subscriptionState(r.notifs[0]) != "terminated;reason=timeout" {
		t.Fatalf("un-SUBSCRIBE: %+v", r.notifs)
	}
}

// handle_publish(sender): the watcher whose Contact is the sender is not notified; with
// sip_uri_match=1 the comparison ignores case.
func TestSenderMatch(t *testing.T) {
	for _, c := range []struct {
		param, sender string
		notified      int
	}{
		{"", "sip:bob@10.0.0.2:5060", 0},
		{"", "sip:BOB@10.0.0.2:5060", 1},
		{"sip_uri_match=1", "sip:BOB@10.0.0.2:5060", 0},
		{"sip_uri_match=1", "sip:carol@10.0.0.2:5060", 1},
	} {
		e, _, _ := subscribed(t, c.param)
		m := publish("", "60", pidf1)
		m[wire.ScriptParam] = c.sender
		if r := do(t, e, wire.TPublish, m); r.code != 200 || len(r.notifs) != c.notified {
			t.Errorf("%q, sender %s: %d, %d NOTIFYs, want %d", c.param, c.sender, r.code, len(r.notifs), c.notified)
		}
	}
}
