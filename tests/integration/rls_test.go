//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// rlsServices is the SQL that stores the watcher's rls-services document (RFC 4826; rls looks
// it up by the subscriber's user and domain, doc_type RLS_SERVICE = 8): the service
// sip:friends@127.0.0.1 is a presence list of alice and bob.
const rlsServices = `INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES ` +
	`('watcher', '127.0.0.1', '<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">
<service uri="sip:friends@127.0.0.1"><list name="friends">
<rl:entry uri="sip:alice@127.0.0.1"/><rl:entry uri="sip:bob@127.0.0.1"/>
</list><packages><package>presence</package></packages></service></rls-services>', ` +
	`8, 'e-rls', 1, 'sip:watcher@127.0.0.1/index', 0)`

// Debian's rls (RFC 4662 resource lists) on our presence.so: rls keeps its subscriptions in its
// own table through bind_presence's table helpers and extract_sdialog_info. A SUBSCRIBE to a
// list with Supported: eventlist gets 200 with Require: eventlist and a multipart/related
// NOTIFY whose RLMI names both members; the in-dialog refresh finds the subscription in rls's
// table, and rls's timer (update_db_subs_timer) expires it with a terminated NOTIFY whose CSeq
// follows the first; a list SUBSCRIBE without an Event header gets rls's 489 with the events
// of bind_presence's get_event_list. The back-end half (the members' NOTIFYs coming back through pua) is not
// driven: it crashes stock rls on SQLite.
func TestResourceListSubscription(t *testing.T) {
	t.Parallel()
	o := options{companions: []string{"presence_xml", "pua", "rls"},
		modparams: map[string]map[string]any{"rls": {"integrated_xcap_server": 1, "clean_period": 1}},
		expectedLog: []expectedLog{{"", `database is locked|deleting expired (information|subscriptions) from( the)? database`,
			"rls's timer deletes from its table every second through db_sqlite, which sets no busy timeout: " +
				"a write of another process at that moment fails it (retried a second later)"},
			{"", `rls_handle_subscribe\(\): occurred in rls_handle_subscribe`, "rls logs its 489 to a SUBSCRIBE without Event"}}}
	for _, target := range selectedTargets(t) {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			k := newKamailio(t, target, o)
			// rls checks its tables' versions in mod_init, before our engine creates its own:
			// every table is there from the start on both targets.
			if target == harness.Ours {
				if err := harness.CreateStockDB(k.DB, false); err != nil {
					t.Fatal(err)
				}
			}
			k.sqlite(t, ".read "+harness.SchemaDir+"/rls-create.sql", rlsServices)
			k.launch(t)

			got := k.runSipp(t, "list_lifecycle", "list", "friends", "expires", "3")
			for name, want := range map[string]string{
				"require1": "eventlist", "expires1": "3", "state1": "active;expires=3", "cseq1": "1",
				"ctype1": "multipart/related", "members1": `<resource uri="sip:alice@127.0.0.1 <resource uri="sip:bob@127.0.0.1`,
				"require2": "eventlist", "expires2": "3",
				"state3": "terminated;reason=timeout", "cseq3": "2",
			} {
				if strings.TrimSpace(got[name]) != want {
					t.Errorf("%s = %q, want %q", name, got[name], want)
				}
			}
			// a list SUBSCRIBE without an Event header: rls's own 489, whose Allow-Events is
			// get_event_list's (rls frees the list and its string apart)
			r, _ := k.answer(t, "list_no_event")
			wantStatus(t, r, "489 Bad Event")
			wantHeader(t, r, "Allow-Events", "xcap-diff, presence.winfo, presence")
			k.alive(t)
			k.checkLogClean(t)
		})
	}
}

// Issue 10: rls and pua end to end on MariaDB (Debian's rls cannot run its back-end on SQLite:
// db_sqlite has no affected_rows). A SUBSCRIBE to the list sip:friends@127.0.0.1 makes rls
// subscribe, through pua, to alice and bob at this same Kamailio, where the presence module
// under test serves those back-end subscriptions; alice has published before, bob publishes
// after; the list watcher gets an RLMI multipart NOTIFY carrying both members' states.
func TestResourceListBackEnd(t *testing.T) {
	t.Parallel()
	o := options{companions: []string{"presence_xml", "pua", "rls"}, rlsBackEnd: true,
		modparams: map[string]map[string]any{"rls": {"integrated_xcap_server": 1, "waitn_time": 1}}}
	for _, target := range selectedTargets(t) {
		t.Run(variant(target, mysqlDB), func(t *testing.T) {
			t.Parallel()
			k := newKamailioOn(t, target, mysqlDB, o)
			// rls and pua check their tables' versions in mod_init, before our engine
			// creates its own: every table is there from the start on both targets.
			if target == harness.Ours {
				if err := k.CreateStockTables("standard", "presence"); err != nil {
					t.Fatal(err)
				}
			}
			if err := k.CreateStockTables("rls"); err != nil {
				t.Fatal(err)
			}
			k.query(t, rlsServices)
			k.launch(t)

			k.runSipp(t, "publish_user", "user", "alice", "note", "alice-before")
			w := k.startSippWith(t, sippOptions{autoAnswer: true, timeout: 30 * time.Second}, "list_watch", "list", "friends")
			w.waitVar(t, "subscribed", dbWait)
			k.runSipp(t, "publish_user", "user", "bob", "note", "bob-after")

			// rls sends the list's state at most waitn_time (1 s) after a change
			deadline := time.Now().Add(8 * time.Second)
			for {
				if n := fullListNotify(w); n != nil {
					if ss := n.header("Subscription-State"); !strings.HasPrefix(ss, "active;expires=") {
						t.Errorf("list NOTIFY: Subscription-State %q, want active", ss)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no list NOTIFY with both members' states within 8 s of bob's PUBLISH\n%s", w.report())
				}
				time.Sleep(200 * time.Millisecond)
			}
			// the back-end subscriptions are rls's, stored by the presence module under test
			k.waitQuery(t, "SELECT presentity_uri, event FROM active_watchers ORDER BY presentity_uri",
				"sip:alice@127.0.0.1|presence\nsip:bob@127.0.0.1|presence", dbWait)
			w.Kill()
			k.checkLogClean(t)
		})
	}
}

// fullListNotify is the first NOTIFY of the list watcher whose multipart body holds an RLMI
// with both members active and both members' PIDF notes.
func fullListNotify(w *sipp) *sipMessage {
	for _, n := range w.requests("NOTIFY") {
		body := n.text
		if strings.HasPrefix(n.header("Content-Type"), "multipart/related") &&
			strings.Contains(body, "application/rlmi+xml") &&
			strings.Count(body, `state="active"`) >= 2 &&
			strings.Contains(body, "<note>alice-before</note>") && strings.Contains(body, "<note>bob-after</note>") {
			return &n
		}
	}
	return nil
}
