package gopresence

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// PUBLISH rules whose breakage no other test would see.

// rpcRows decodes an RPC answer's rows as name → value maps.
func rpcRows(f *wire.Frame) []map[string]string {
	var rows []map[string]string
	for _, fl := range f.Fields {
		switch fl.Tag {
		case wire.RPCRow:
			rows = append(rows, map[string]string{})
		case wire.RPCStr, wire.RPCInt:
			k, v, _ := strings.Cut(string(fl.Value), "=")
			rows[len(rows)-1][k] = v
		}
	}
	return rows
}

// The priority of a publication is its age in seconds since stock's PRES_PRIORITY_TBASE
// (2015-01-01), set again by every refresh, so a newer publication wins.
func TestPublishPriorityIsSecondsSince2015(t *testing.T) {
	e, c := newTestEngine(t, "", "")
	etag := do(t, e, wire.TPublish, publish("", "600", pidf1)).headers["SIP-ETag"]
	want := strconv.FormatInt(c.t.Unix()-1420070400, 10)
	if rows := rpcRows(rpc(t, e, "presentity_list", "full")); len(rows) != 1 || rows[0]["priority"] != want {
		t.Fatalf("initial: %v, want priority %s", rows, want)
	}
	c.t = c.t.Add(30 * time.Second)
	do(t, e, wire.TPublish, publish(etag, "600", ""))
	want = strconv.FormatInt(c.t.Unix()-1420070400, 10)
	if rows := rpcRows(rpc(t, e, "presentity_list", "full")); len(rows) != 1 || rows[0]["priority"] != want {
		t.Fatalf("refresh: %v, want priority %s", rows, want)
	}
}

// RFC 3903 §6 step 4: an entity-tag for a presentity that has no publication at all is 412,
// as for one that has others.
func TestPublishUnknownETagOfEmptyPresentity(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	if r := do(t, e, wire.TPublish, publish("a.1.2.3.0", "60", "")); r.code != 412 || r.reason != "Conditional request failed" {
		t.Fatalf("%d %s", r.code, r.reason)
	}
}

// A refresh (RFC 3903 §4.2) gets a new entity-tag of stock's shape
// a.<start>.<pid>.<counter>.<generation>, its generation one above the refreshed tag's, and a
// new expiry counted from the refresh.
func TestPublishRefreshETagAndExpiry(t *testing.T) {
	e, c := newTestEngine(t, "", "")
	etag := do(t, e, wire.TPublish, publish("", "600", pidf1)).headers["SIP-ETag"]
	if want := fmt.Sprintf("a.%d.%d.1.0", e.startTime, e.pid); etag != want { // counter 2 is the RUID
		t.Fatalf("initial ETag %q, want %q", etag, want)
	}
	c.t = c.t.Add(100 * time.Second)
	r := do(t, e, wire.TPublish, publish(etag, "300", ""))
	if want := fmt.Sprintf("a.%d.%d.3.1", e.startTime, e.pid); r.headers["SIP-ETag"] != want {
		t.Fatalf("refreshed ETag %q, want %q", r.headers["SIP-ETag"], want)
	}
	r = do(t, e, wire.TPublish, publish(r.headers["SIP-ETag"], "300", pidf2))
	if want := fmt.Sprintf("a.%d.%d.4.2", e.startTime, e.pid); r.headers["SIP-ETag"] != want {
		t.Fatalf("modified ETag %q, want %q", r.headers["SIP-ETag"], want)
	}
	rows := rpcRows(rpc(t, e, "presentity_list"))
	if want := strconv.FormatInt(c.t.Unix()+300, 10); len(rows) != 1 || rows[0]["expires"] != want {
		t.Fatalf("after refresh: %v, want expires %s", rows, want)
	}
}

// Removing one of two publications keeps the other; removing the last forgets the presentity.
func TestPublishRemoveOneOfTwo(t *testing.T) {
	e, _, tt := subscribed(t, "")
	first := do(t, e, wire.TPublish, publish("", "600", pidf1)).headers["SIP-ETag"]
	second := do(t, e, wire.TPublish, publish("", "600", pidf2)).headers["SIP-ETag"]
	do(t, e, wire.TPublish, publish(first, "0", ""))
	if s := e.Stats(); s.Presentities != 1 || s.Publications != 1 {
		t.Fatalf("after removing one of two: %+v", s)
	}
	if r := do(t, e, wire.TSubscribe, subscribe("w1", tt, "600", 2)); len(r.notifs) != 1 || r.notifs[0][wire.NBody] != pidf2 {
		t.Fatalf("the other publication is not served: %+v", r.notifs)
	}
	do(t, e, wire.TPublish, publish(second, "0", ""))
	if s := e.Stats(); s.Presentities != 0 || s.Publications != 0 {
		t.Fatalf("after removing both: %+v", s)
	}
}

// A refresh without body keeps the body; the sender URI changes only when the refresh names
// one (handle_publish(sender)).
func TestPublishRefreshKeepsBodyAndSender(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	m := publish("", "600", pidf1)
	m[wire.ScriptParam] = "sip:first@ex.com"
	etag := do(t, e, wire.TPublish, m).headers["SIP-ETag"]
	etag = do(t, e, wire.TPublish, publish(etag, "600", "")).headers["SIP-ETag"]
	if rows := rpcRows(rpc(t, e, "presentity_list", "full")); len(rows) != 1 || rows[0]["body"] != pidf1 || rows[0]["sender"] != "sip:first@ex.com" {
		t.Fatalf("after a refresh without body or sender: %v", rows)
	}
	m = publish(etag, "600", "")
	m[wire.ScriptParam] = "sip:second@ex.com"
	do(t, e, wire.TPublish, m)
	if rows := rpcRows(rpc(t, e, "presentity_list", "full")); len(rows) != 1 || rows[0]["body"] != pidf1 || rows[0]["sender"] != "sip:second@ex.com" {
		t.Fatalf("after a refresh naming a sender: %v", rows)
	}
}

// Up to fanOutSplit NOTIFYs go with the answer; one more and the engine's thread sends half.
func TestFanOutSplitAtItsBound(t *testing.T) {
	for _, c := range []struct{ watchers, answer, engine int }{{fanOutSplit, fanOutSplit, 0}, {fanOutSplit + 1, 32, 33}} {
		e, _ := newTestEngine(t, "", "")
		engineSent := 0
		e.SetEngineNotifier(func(b []byte) {
			f, _ := wire.Decode(b)
			for _, fl := range f.Fields {
				if fl.Tag == wire.NotifyBegin {
					engineSent++
				}
			}
		})
		for i := 0; i < c.watchers; i++ {
			do(t, e, wire.TSubscribe, subscribe(fmt.Sprint("w", i), "", "600", 1))
		}
		if r := do(t, e, wire.TPublish, publish("", "600", pidf1)); len(r.notifs) != c.answer || engineSent != c.engine {
			t.Errorf("%d watchers: %d NOTIFYs in the answer, %d from the engine; want %d, %d",
				c.watchers, len(r.notifs), engineSent, c.answer, c.engine)
		}
	}
}

// A subscription whose expiry second has come is not notified, even before the timer ends it;
// one second earlier it is, with expires=1.
func TestPublishSkipsWatcherExpiringNow(t *testing.T) {
	e, c, _ := subscribed(t, "") // expires at the clock's start + 600
	c.t = c.t.Add(599 * time.Second)
	r := do(t, e, wire.TPublish, publish("", "60", pidf1))
	if len(r.notifs) != 1 || subscriptionState(r.notifs[0]) != "active;expires=1" {
		t.Fatalf("one second before expiry: %+v", r.notifs)
	}
	c.t = c.t.Add(time.Second)
	if r = do(t, e, wire.TPublish, publish("", "60", pidf2)); len(r.notifs) != 0 {
		t.Fatalf("at expiry: %d NOTIFYs", len(r.notifs))
	}
}
