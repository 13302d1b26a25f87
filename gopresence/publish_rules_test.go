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
