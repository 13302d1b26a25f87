//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The members of bind_presence's API that no Debian module calls in this suite, called from
// the script by the test-only module presence_apitest (tests/apitest), on stock presence.so
// and on ours: the expectations are stock's, except where a row of docs/conformance.md says
// ours differs.

// testModuleDir returns GOPRESENCE_TESTMODULE_DIR, by default build/testmodules of this
// checkout (`make testmodules`), failing the test when presence_apitest.so is not there.
func testModuleDir(t *testing.T) string {
	dir := os.Getenv("GOPRESENCE_TESTMODULE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "build", "testmodules")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "presence_apitest.so")); err != nil {
		t.Fatalf("the test module presence_apitest.so (make testmodules): %v", err)
	}
	return abs
}

// apitest runs one presence_apitest command (in an initial SUBSCRIBE) and returns its result.
func (k *kamailio) apitest(t *testing.T, cmd string) string {
	t.Helper()
	r, _ := k.answer(t, "apitest", "cmd", cmd)
	wantStatus(t, r, "200 OK")
	return r.header("X-Result")
}

// wantAPI checks the result of one command.
func wantAPI(t *testing.T, k *kamailio, cmd, want string) {
	t.Helper()
	if got := k.apitest(t, cmd); got != want {
		t.Errorf("%q: got %q, want %q", cmd, got, want)
	}
}

// withParams is eachTargetWith in a parallel subtest named for its set-up, for a test that
// runs under more than one.
func withParams(t *testing.T, name string, o options, fn func(t *testing.T, k *kamailio)) {
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		eachTargetWith(t, o, fn)
	})
}

// extract_sdialog_info for a caller that gives no local contact (rls always gives its
// server_address): the socket the SUBSCRIBE came in on, as stock; with presence's
// server_address set, ours takes it and stock still the socket. A contact the caller gives is
// kept. Expires and the rest of the dialog as the SUBSCRIBE says.
func TestAPIExtractSdialogInfo(t *testing.T) {
	t.Parallel()
	o := options{companions: []string{"presence_xml"}, apitest: true}
	withParams(t, "defaults", o, func(t *testing.T, k *kamailio) {
		socket := fmt.Sprintf("sip:127.0.0.1:%d;transport=udp", k.Port)
		wantAPI(t, k, "sdialog", "rc=0 contact="+socket+" expires=300")
		wantAPI(t, k, "sdialog sip:rls@10.0.0.1", "rc=0 contact=sip:rls@10.0.0.1 expires=300")
	})
	o.presence = map[string]any{"server_address": "sip:10.9.8.7:5060"}
	withParams(t, "server_address", o, func(t *testing.T, k *kamailio) {
		want := map[string]string{"stock": fmt.Sprintf("sip:127.0.0.1:%d;transport=udp", k.Port),
			"ours": "sip:10.9.8.7:5060"}[k.Target]
		wantAPI(t, k, "sdialog", "rc=0 contact="+want+" expires=300")
	})
}

// bind_presence's table helpers on a table of the caller's (as rls keeps its subscriptions):
// a dialog C, then two dialogs A and B of one presentity and Call-ID (not C's) inserted,
// found, copied (mem_copy_subs, expires made absolute), deleted. delete matches the To-tag, or with subs_remove_match=1 all three
// dialog ids; with delete_same_subs=1 the second insert drops the first dialog. (Stock also
// deletes that dialog from its own active_watchers, which this test does not see.)
func TestAPITableHelpers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		params  map[string]any
		deletes string
	}{
		{"defaults", nil, "C=yes A=yes B=yes del_B_other_callid=8 del_B_other_ftag=-1 del_B=-1 del_A=6"},
		{"subs_remove_match", map[string]any{"subs_remove_match": 1},
			"C=yes A=yes B=yes del_B_other_callid=-1 del_B_other_ftag=-1 del_B=8 del_A=6"},
		{"delete_same_subs", map[string]any{"delete_same_subs": 1},
			"C=yes A=no B=yes del_B_other_callid=8 del_B_other_ftag=-1 del_B=-1 del_A=-1"},
	} {
		o := options{companions: []string{"presence_xml"}, apitest: true, presence: c.params}
		withParams(t, c.name, o, func(t *testing.T, k *kamailio) {
			got := strings.Fields(k.apitest(t, "shtable"))
			if len(got) != 9 || got[3] != "expires=abs" || got[4] != "copy=same" ||
				strings.Join(append(got[:3:3], got[5:]...), " ") != c.deletes {
				t.Errorf("shtable: got %q, want %s with expires=abs copy=same", got, c.deletes)
			}
		})
	}
}

// The API's queries, with presence_xml and pres-rules (force_active=0) for alice: the event
// list; get_presentity (presence_xml's aggregation of alice's two publications, none for a
// presentity without one) and free_presentity; get_sphere (none: enable_sphere_check is
// off); pres_auth_status from the rules (allowed; no rule for the watcher: terminated, as
// presence_xml decides; no rules at all: pending).
func TestAPIQueries(t *testing.T) {
	t.Parallel()
	o := options{companions: []string{"presence_xml"}, apitest: true,
		xml: map[string]any{"force_active": 0, "integrated_xcap_server": 1}}
	device := func(tuple, note string) string {
		return strings.Replace(pidf(note), `tuple id="t1"`, `tuple id="`+tuple+`"`, 1)
	}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		k.sqlite(t, presRules("alice", "allow"))
		for _, body := range []string{device("phone", "desk"), device("mobile", "road")} {
			r, _ := k.answer(t, "publish_any", "body", body)
			wantStatus(t, r, "200 OK")
		}
		wantAPI(t, k, "events", "xcap-diff, presence.winfo, presence")
		doc := k.apitest(t, "presentity sip:alice@127.0.0.1")
		mobile, phone := strings.Index(doc, `id="mobile"`), strings.Index(doc, `id="phone"`)
		if strings.Count(doc, "<presence") != 1 || mobile < 0 || phone < mobile ||
			!strings.Contains(doc, "<note>road</note>") || !strings.Contains(doc, "<note>desk</note>") {
			t.Errorf("get_presentity: want one document, the newest publication's tuple first: %q", doc)
		}
		wantAPI(t, k, "presentity sip:bob@127.0.0.1", "none")
		wantAPI(t, k, "sphere sip:alice@127.0.0.1", "none")
		wantAPI(t, k, "auth sip:watcher@127.0.0.1 sip:alice@127.0.0.1", "1")
		wantAPI(t, k, "auth sip:eve@127.0.0.1 sip:alice@127.0.0.1", "3")
		wantAPI(t, k, "auth sip:watcher@127.0.0.1 sip:bob@127.0.0.1", "2")
	})
}

// pres_refresh_watchers of the API (its callers, app_lua's old API and kazoo, are not in this
// setup). Type 0 re-reads the pres-rules: a pending watcher whose rule now allows it gets an
// active NOTIFY with the PIDF; without a rules document it fails (-1). Type 1 sends every
// watcher the current state. An event nobody registered fails.
func TestAPIRefreshWatchers(t *testing.T) {
	t.Parallel()
	o := options{companions: []string{"presence_xml"}, apitest: true,
		xml: map[string]any{"force_active": 0, "integrated_xcap_server": 1},
		expectedLog: []expectedLog{{"", `no (rules doc found for the user|presence rules for sip:bob@127.0.0.1)`,
			"a refresh of the rules of a presentity that has none"}}}
	withParams(t, "rules", o, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "hello")
		w := k.startSipp(t, "watch_pending")
		w.waitVar(t, "subscribed", 10*time.Second)
		k.waitQuery(t, "SELECT watcher_username||' '||status FROM watchers", "watcher 2", dbWait)
		k.sqlite(t, presRules("alice", "allow"))
		wantAPI(t, k, "refresh sip:alice@127.0.0.1 presence 0", "0")
		if got := w.wait(t)["note"]; got != "hello" {
			t.Fatalf("active NOTIFY note %q", got)
		}
		wantAPI(t, k, "refresh sip:bob@127.0.0.1 presence 0", "-1")
	})
	o = options{companions: []string{"presence_xml"}, apitest: true, expectedLog: []expectedLog{
		{"", `wrong event parameter|refreshWatchers: 500 Unknown event foo`, "a refresh of an event nobody registered"}}}
	withParams(t, "state", o, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "now")
		w := k.startSipp(t, "watch_notifies")
		w.waitVar(t, "subscribed", 10*time.Second)
		settleStockWrites()
		wantAPI(t, k, "refresh sip:alice@127.0.0.1 presence 1", "0")
		w.wait(t)
		n := w.notifies(t, 2)
		if got := n[1].header("Subscription-State"); !strings.HasPrefix(got, "active;expires=") {
			t.Errorf("Subscription-State %q, want active", got)
		}
		wantNote(t, n[1], "now")
		wantAPI(t, k, "refresh sip:alice@127.0.0.1 foo 1", "-1")
	})
}
