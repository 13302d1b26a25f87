//go:build integration

package integration

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// pidf-manipulation hard state (RFC 4827): pres_refresh_watchers(uri, event, 2, file_uri,
// filename) applies the document presence_xml keeps in its xcap table (doc_type 16) as the
// presentity's publication named filename, which never expires, and notifies the watchers; with
// the document gone, the same call removes it. Side by side with stock on MariaDB (stock on
// SQLite cannot: "replace is required for pidf-manipulation support", db_sqlite has no replace;
// ours can, on both).
func TestHardState(t *testing.T) {
	t.Parallel()
	o := options{dbs: bothDBs, companions: []string{"presence_xml"}, script: callRoute, expectedLog: scriptErrors,
		xml: map[string]any{"force_active": 0, "integrated_xcap_server": 1}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		if k.Target == "stock" && k.db == sqliteDB {
			t.Skip("stock's hard state needs the database's replace, which db_sqlite lacks")
		}
		alice := "sip:alice@127.0.0.1"
		k.query(t, presRules("alice", "allow"))
		doc := `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@127.0.0.1">` +
			`<tuple id="hard"><status><basic>open</basic></status><note>hard-state</note></tuple></presence>`
		k.query(t, "INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port) VALUES "+
			"('alice', '127.0.0.1', '"+doc+"', 16, 'e-hard', 1, 'sip:alice@127.0.0.1/hard', 0)")
		// the Go UA, not sipp: stock sends a second NOTIFY (empty body) right after each
		// refresh's, which sipp's fixed sequence takes as unexpected
		w := newUA(t, "hard-"+k.Target+"-"+strconv.Itoa(k.Port))
		if r := w.subscribe(k.Port, 120); !strings.HasPrefix(r.first, "SIP/2.0 200") {
			t.Fatalf("SUBSCRIBE: %s", r.first)
		}
		w.notify(5 * time.Second)
		settleStockWrites()
		wantRC(t, "pres_refresh_watchers type 2 with a document",
			k.call(t, "refresh5", alice, "presence", "2", "sip:alice@127.0.0.1/hard", "hard.xml"), "1")
		if n := w.notify(5 * time.Second); !strings.Contains(n.body, "<note>hard-state</note>") {
			t.Fatalf("the NOTIFY after the hard state was applied does not show it:\n%s", n.body)
		}
		k.waitQuery(t, "SELECT etag, expires FROM presentity WHERE username='alice'", "hard.xml|-1", dbWait)
		hardStateAfter(t, k, w)
		// the document removed: the same call removes the hard state
		k.query(t, "DELETE FROM xcap WHERE doc_type=16")
		wantRC(t, "pres_refresh_watchers type 2 after the document was removed",
			k.call(t, "refresh5", alice, "presence", "2", "sip:alice@127.0.0.1/hard", "hard.xml"), "1")
		if n := w.notify(5 * time.Second); strings.Contains(n.body, "hard-state") {
			t.Errorf("the NOTIFY after the hard state was removed still shows it:\n%s", n.body)
		}
		k.waitQuery(t, "SELECT COUNT(*) FROM presentity WHERE username='alice'", "0", dbWait)
		hardStateAfter(t, k, w)
	})
}

// hardStateAfter: ours sends one NOTIFY per refresh; stock follows it with one more, with an
// empty body (its refresh notifies twice), which is tolerated for stock only.
func hardStateAfter(t *testing.T, k *kamailio, w *ua) {
	t.Helper()
	if k.Target == "stock" {
		select {
		case n := <-w.notifies:
			if n.body != "" {
				t.Errorf("stock's second NOTIFY after a refresh has a body:\n%s", n.body)
			}
		case <-time.After(time.Second):
		}
	}
	w.quiet(time.Second)
}
