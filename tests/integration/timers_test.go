//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// Timers every second, so expiries show within the test's bounds.
var fastTimers = map[string]any{"clean_period": 1, "db_update_period": 1}

// An expiring publication is taken away from its watchers (RFC 3903 4.4): the watcher gets a
// NOTIFY, still active, and the presentity row goes.
func TestPublicationExpires(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{presence: fastTimers}, func(t *testing.T, k *kamailio) {
		w := k.startSipp(t, "watch_notifies", "count", "2")
		w.waitVar(t, "subscribed", 10*time.Second)
		r, _ := k.answer(t, "publish_any", "expires", "2", "body", pidf("short-lived"))
		wantStatus(t, r, "200 OK")
		published := time.Now()
		w.waitCount(t, "notified", 1, 5*time.Second) // the NOTIFY for the PUBLISH itself
		expired := w.waitCount(t, "notified", 2, 8*time.Second)
		w.wait(t)
		if d := expired.Sub(published); d < time.Second {
			t.Errorf("expiry NOTIFY %v after a PUBLISH with Expires 2", d)
		} else {
			t.Logf("expiry NOTIFY %v after the PUBLISH", d.Round(10*time.Millisecond))
		}
		n := w.notifies(t, 3)
		wantNote(t, n[1], "short-lived")
		last := n[2]
		if ss := last.header("Subscription-State"); !strings.HasPrefix(ss, "active;") {
			t.Errorf("expiry NOTIFY Subscription-State %q, want active", ss)
		}
		if k.Target == "stock" {
			// Stock 5.6.3 sends no body: its expiry timer asks for the document to render as
			// closed, but with startup_mode=1 (the default) the body query only reads rows with
			// expires > now, so the expired one is not found and the NOTIFY goes out empty.
			if last.body() != "" {
				t.Errorf("stock expiry NOTIFY has a body:\n%s", last.text)
			}
		} else if !strings.Contains(last.body(), "<basic>closed</basic>") {
			t.Errorf("expiry NOTIFY body does not say closed:\n%s", last.text)
		}
		k.waitQuery(t, "SELECT count(*) FROM presentity", "0", 3*time.Second)
	})
}

// An expiring subscription ends with NOTIFY terminated;reason=timeout (RFC 6665 4.2.2) and its
// row goes.
func TestSubscriptionExpires(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{presence: fastTimers}, func(t *testing.T, k *kamailio) {
		w := k.startSipp(t, "watch_notifies", "expires", "2")
		w.waitVar(t, "subscribed", 10*time.Second)
		start := time.Now()
		expired := w.waitCount(t, "notified", 1, 8*time.Second)
		w.wait(t)
		if d := expired.Sub(start); d < 500*time.Millisecond {
			t.Errorf("expiry NOTIFY only %v after subscribing for 2 s", d)
		} else {
			t.Logf("expiry NOTIFY %v after the first NOTIFY", d.Round(10*time.Millisecond))
		}
		wantHeader(t, w.notifies(t, 2)[1], "Subscription-State", "terminated;reason=timeout")
		k.waitQuery(t, "SELECT count(*) FROM active_watchers", "0", 3*time.Second)
	})
}

// A NOTIFY answered 481 ends the subscription (RFC 6665 4.1.3): the row goes and a further
// change sends no NOTIFY (watch_reject_notify.xml fails on one).
func TestNotifyRejectedRemovesSubscription(t *testing.T) {
	t.Parallel()
	eachTarget(t, func(t *testing.T, k *kamailio) {
		notifyFailureEndsSubscription(t, k, "watch_reject_notify", "rejected", 2*time.Second)
	})
}

// notifyFailureEndsSubscription: a watcher (scenario watch) subscribes, a modify makes the
// NOTIFY it fails (its variable failed is set), the row is gone within rowGone, and a further
// change sends no NOTIFY (the scenario fails on one).
func notifyFailureEndsSubscription(t *testing.T, k *kamailio, watch, failed string, rowGone time.Duration) {
	t.Helper()
	etag := k.runSipp(t, "publish_initial", "note", "first")["etag"]
	w := k.startSipp(t, watch)
	w.waitVar(t, "subscribed", 10*time.Second)
	etag = k.runSipp(t, "publish_modify", "etag", etag, "note", "second")["etag"]
	w.waitVar(t, failed, 10*time.Second)
	k.waitQuery(t, "SELECT count(*) FROM active_watchers", "0", rowGone)
	settleStockWrites()
	k.runSipp(t, "publish_modify", "etag", etag, "note", "third")
	w.wait(t)
}

// A NOTIFY never answered times out in tm (408 after fr_timer) and, with timeout_rm_subs=1
// (the default), ends the subscription the same way.
func TestNotifyTimeoutRemovesSubscription(t *testing.T) {
	t.Parallel()
	o := options{tm: map[string]any{"fr_timer": 1000}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		notifyFailureEndsSubscription(t, k, "watch_ignore_notify", "ignored", 4*time.Second)
	})
}

// One NOTIFY that cannot be sent never stops the NOTIFYs to the other watchers (stock bug
// #4118 stops them in some paths): a subscription whose NOTIFYs tm refuses at once subscribes
// first, so its NOTIFY comes first in every fan-out; the real watcher must still get each
// change.
func TestUnsendableNotifyDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	o := options{expectedLog: []expectedLog{
		{"", `ERROR: (tm|presence) `, "the NOTIFYs to the SCTP Contact fail by design, and both log each"},
	}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		etag := k.runSipp(t, "publish_initial", "note", "first")["etag"]
		k.runSipp(t, "subscribe_unsendable")
		watcher := k.startSipp(t, "watch_presence", "note1", "first", "note2", "second")
		watcher.waitVar(t, "subscribed", 10*time.Second)
		k.runSipp(t, "publish_modify_remove", "etag", etag, "note", "second")
		watcher.wait(t)
	})
}
