//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const dbWait = 5 * time.Second

// Steps 1, 2, 3 and 5 of an RFC 3903 publication: initial, refresh, modify, remove; on SQLite
// and on MariaDB.
func TestPublishLifecycle(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{dbs: bothDBs}, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_lifecycle", "note1", "one", "note2", "two")
		k.waitQuery(t, "SELECT count(*) FROM presentity WHERE username='alice'", "0", dbWait)
	})
}

// An initial PUBLISH is stored in the Kamailio schema, under the ETag the 200 gave; on SQLite
// and on MariaDB (the queries read alike on both).
func TestPublishStoresPresentity(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{dbs: bothDBs}, func(t *testing.T, k *kamailio) {
		etag := k.runSipp(t, "publish_initial", "note", "stored-note")["etag"]
		k.waitQuery(t, fmt.Sprintf("SELECT domain, event, etag, expires > %d FROM presentity WHERE username='alice'",
			time.Now().Unix()), "127.0.0.1|presence|"+etag+"|1", dbWait)
		k.waitQuery(t, "SELECT CAST(body AS CHAR) LIKE '%<note>stored-note</note>%' FROM presentity WHERE username='alice'", "1", dbWait)
		// Same versions as stock's schema, so kamctl/kamcli and stock itself accept the DB.
		k.waitQuery(t, "SELECT table_name, table_version FROM version WHERE table_name IN "+
			"('presentity','active_watchers','watchers') ORDER BY table_name",
			"active_watchers|12\npresentity|5\nwatchers|3", dbWait)
	})
}

// Step 4: a SIP-If-Match naming no publication gets 412 (RFC 3903 section 6), here while
// alice has a publication, so only the ETag is wrong.
func TestPublishUnknownETag(t *testing.T) {
	t.Parallel()
	eachTarget(t, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "present")
		k.runSipp(t, "publish_unknown_etag", "etag", "a.1.2.3.4")
	})
}

// An unknown ETag without a dot is just as unknown: 412. Stock 5.6.3 parses the number after
// the last '.' of the SIP-If-Match to build the next ETag before looking the publication up,
// and answers 500 when there is none (RFC 3903 section 6 wants 412).
func TestPublishUnknownETagWithoutDot(t *testing.T) {
	t.Parallel()
	skip := map[string]string{"stock": "stock 5.6.3 answers 500 to a SIP-If-Match without a '.' (RFC 3903 wants 412)"}
	eachTargetSkipping(t, skip, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "present")
		k.runSipp(t, "publish_unknown_etag", "etag", "nodotetag")
	})
}

// An Event header naming no registered package, or none at all, gets 489 Bad Event (RFC 6665
// 8.2.1, RFC 3903 7), for PUBLISH and SUBSCRIBE; for an unknown package, Allow-Events lists
// the ones there are.
func TestUnknownEvent(t *testing.T) {
	t.Parallel()
	o := options{expectedLog: []expectedLog{
		{"stock", `ERROR: presence \[publish\.c:\d+\]: ki_handle_publish_uri\(\):\s+event=\[foo\]$`,
			"stock logs the unknown event of a PUBLISH at ERROR"},
		{"stock", `ERROR: presence \[subscribe\.c:\d+\]: handle_subscribe\(\): Missing event header field value$`,
			"stock's message for an unknown event in a SUBSCRIBE"},
	}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		check := func(t *testing.T, r sipMessage, allowEvents bool) {
			t.Helper()
			wantStatus(t, r, "489 Bad Event")
			if !allowEvents {
				return
			}
			allow := r.header("Allow-Events")
			for _, ev := range strings.Split(allow, ",") {
				if strings.TrimSpace(ev) == "presence" {
					return
				}
			}
			t.Errorf("Allow-Events %q does not list presence\n%s", allow, r.text)
		}
		r, _ := k.answer(t, "publish_any", "event", "foo")
		check(t, r, true)
		r, _ = k.answer(t, "subscribe_any", "event", "foo")
		check(t, r, true)
		r, _ = k.answer(t, "publish_no_event")
		check(t, r, false)
		r, _ = k.answer(t, "subscribe_no_event")
		check(t, r, false)
	})
}

// max_expires caps a PUBLISH's Expires (RFC 3903 leaves the server its choice).
func TestPublishMaxExpires(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{presence: map[string]any{"max_expires": 100}}, func(t *testing.T, k *kamailio) {
		r, _ := k.answer(t, "publish_any", "expires", "7200")
		wantStatus(t, r, "200 OK")
		wantHeader(t, r, "Expires", "100")
	})
}

// expires_offset is taken off the Expires of a PUBLISH 200, so the client refreshes early.
func TestPublishExpiresOffset(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{presence: map[string]any{"expires_offset": 10}}, func(t *testing.T, k *kamailio) {
		r, _ := k.answer(t, "publish_any", "expires", "60")
		wantStatus(t, r, "200 OK")
		wantHeader(t, r, "Expires", "50")
	})
}

// handle_publish(sender): the watcher whose Contact is the sender is not told of its own
// publication; the other one is.
func TestPublishSenderNotNotified(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{publishSender: true}, func(t *testing.T, k *kamailio) {
		etag := k.runSipp(t, "publish_initial", "note", "first")["etag"]
		// One after the other: two SUBSCRIBEs at once make stock's SQLite writes collide
		// ("database is locked", a 500).
		sender := k.startSipp(t, "watch_silent")
		sender.waitVar(t, "subscribed", 10*time.Second)
		other := k.startSipp(t, "watch_notifies")
		other.waitVar(t, "subscribed", 10*time.Second)
		k.runSipp(t, "publish_modify_as", "etag", etag, "note", "second",
			"sender", fmt.Sprintf("sip:watcher@127.0.0.1:%d", sender.Port))
		other.wait(t)
		wantNote(t, other.notifies(t, 2)[1], "second")
		sender.wait(t) // no NOTIFY within 3 s of subscribing
	})
}
