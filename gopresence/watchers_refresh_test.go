package gopresence

import (
	"fmt"
	"testing"
	"time"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// pres_has_subscribers counts any subscription of the presentity and event (stock's memory
// scan); 5.7's presentity_show filters by user and domain, "*" any; watcher_list lists the
// subscriptions of one URI with 5.7's fields.
func TestWatcherCommands(t *testing.T) {
	e, c := newTestEngine(t, "", "")
	do(t, e, wire.TPublish, publish("", "60", pidf1))
	count := func() string {
		return rpcRows(rpc(t, e, "_has_subscribers", "sip:alice@ex.com", "presence"))[0]["count"]
	}
	if got := count(); got != "0" {
		t.Fatalf("count before any: %s", got)
	}
	do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 1))
	do(t, e, wire.TSubscribe, subscribe("c2", "", "60", 1))
	if got := count(); got != "2" {
		t.Fatalf("count with two: %s", got)
	}
	for _, q := range []struct {
		user, domain string
		want         int
	}{{"alice", "ex.com", 1}, {"ALICE", "*", 1}, {"*", "*", 1}, {"bob", "*", 0}, {"*", "other.org", 0}} {
		if got := len(rpcRows(rpc(t, e, "presentity_show", "basic", q.user, q.domain))); got != q.want {
			t.Errorf("presentity_show %s %s: %d rows, want %d", q.user, q.domain, got, q.want)
		}
	}
	basic := rpcRows(rpc(t, e, "watcher_list", "basic", "sip:alice@ex.com"))
	full := rpcRows(rpc(t, e, "watcher_list", "full", "sip:alice@ex.com"))
	if len(basic) != 2 || len(full) != 2 || len(basic[0]) != 15 || len(full[0]) != 23 {
		t.Fatalf("watcher_list: basic %v, full %v", basic, full)
	}
	if r := full[0]; r["pres_uri"] != "sip:alice@ex.com" || r["status"] != "1" || r["remote_cseq"] != "1" ||
		r["expires"] != fmt.Sprint(c.t.Unix()+60) || r["to_tag"] == "" {
		t.Errorf("watcher_list row: %v", r)
	}
	if got := len(rpcRows(rpc(t, e, "watcher_list", "basic", "sip:bob@ex.com"))); got != 0 {
		t.Errorf("watcher_list of bob: %d rows", got)
	}
}

// presence.status: held state by subscription state and event, and the database's numbers.
func TestStatus(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	do(t, e, wire.TPublish, publish("", "60", pidf1))
	do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 1))
	r := rpcRows(rpc(t, e, "status"))[0]
	for name, want := range map[string]string{"up": "1", "presentities": "1", "publications": "1",
		"subscriptions": "1", "subscriptions_active": "1", "subscriptions_pending": "0",
		"subscriptions_event_presence": "1"} {
		if r[name] != want {
			t.Errorf("status %s = %q, want %q (%v)", name, r[name], want, r)
		}
	}
	for _, name := range []string{"db_queue", "db_last_us", "db_mean_us", "db_transactions", "uptime", "conflicts_retried"} {
		if _, ok := r[name]; !ok {
			t.Errorf("status has no %s: %v", name, r)
		}
	}
}

// presence.status's uptime is the seconds since the engine started, by the engine's clock.
func TestStatusUptime(t *testing.T) {
	e, c := newTestEngine(t, "", "")
	e.startTime = c.t.Unix() // New read the real clock before the test's was installed
	c.t = c.t.Add(90 * time.Second)
	if r := rpcRows(rpc(t, e, "status"))[0]; r["uptime"] != "90" {
		t.Errorf("uptime %q after 90 s, want 90", r["uptime"])
	}
}

// coreCaseHash is Kamailio's core_case_hash(s1, s2, 0): values printed by the C function of
// Kamailio 5.6.3's src/core/hashes.h (case folded, bytes as signed chars).
func TestCoreCaseHash(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want uint32
	}{{"alice", "127.0.0.1", 3668210421}, {"Alice", "Example.COM", 1442294598}, {"a", "b", 219},
		{"\xe9t\xe9", "d\xf6m", 3769040016}} {
		if got := coreCaseHash(c.a, c.b); got != c.want {
			t.Errorf("coreCaseHash(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// core_case_hash folds exactly 'A'..'Z': the two ends fold, the bytes beside them ('@' and '['
// before 'a' and after 'z' in ASCII: '`' and '{') do not.
func TestCoreCaseHashFoldsAToZ(t *testing.T) {
	if a, b := coreCaseHash("AZ", "ZA"), coreCaseHash("az", "za"); a != b {
		t.Errorf("coreCaseHash(AZ, ZA) = %d, coreCaseHash(az, za) = %d: not folded", a, b)
	}
	if a, b := coreCaseHash("@[", "[@"), coreCaseHash("`{", "{`"); a == b {
		t.Errorf("coreCaseHash folds '@' and '[' (%d)", a)
	}
}

// presentity_show "full" shows the bodies, "basic" does not (presentity_list's two modes).
func TestPresentityShowModes(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	do(t, e, wire.TPublish, publish("", "60", pidf1))
	full := rpcRows(rpc(t, e, "presentity_show", "full", "alice", "ex.com"))
	basic := rpcRows(rpc(t, e, "presentity_show", "basic", "alice", "ex.com"))
	if len(full) != 1 || full[0]["body"] != pidf1 {
		t.Errorf("full: %v", full)
	}
	if _, ok := basic[0]["body"]; len(basic) != 1 || ok {
		t.Errorf("basic: %v", basic)
	}
}
