//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Steps 6 to 8: subscribe, refresh and un-subscribe one dialog, with the published state
// in the first NOTIFYs; on SQLite and on MariaDB.
func TestSubscribeLifecycle(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{dbs: bothDBs}, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "subscribe-me")
		k.runSipp(t, "subscribe_lifecycle", "note", "subscribe-me")
		k.waitQuery(t, "SELECT count(*) FROM active_watchers", "0", dbWait)
	})
}

// Step 9: a subscribed watcher is notified when another party modifies and removes the
// publication, and its subscription is stored while it lasts; on SQLite and on MariaDB.
func TestWatcherNotifiedOfPublish(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{dbs: bothDBs}, func(t *testing.T, k *kamailio) {
		etag := k.runSipp(t, "publish_initial", "note", "first")["etag"]
		subscribing := time.Now()
		watcher := k.startSipp(t, "watch_presence", "note1", "first", "note2", "second")
		watcher.waitVar(t, "subscribed", 10*time.Second)
		subscribed := time.Now()
		k.waitQuery(t, "SELECT presentity_uri, event, watcher_username, status FROM active_watchers",
			"sip:alice@127.0.0.1|presence|watcher|1", dbWait)

		// Two seconds gone from the 120 of the subscription, so the NOTIFYs of the modify and
		// the remove must say what is left, not 120.
		time.Sleep(2 * time.Second)
		publishing := time.Now()
		k.runSipp(t, "publish_modify_remove", "etag", etag, "note", "second")
		published := time.Now()
		watcher.wait(t)
		lo := 120 - int(published.Sub(subscribing).Seconds()) - 1
		hi := 120 - int(publishing.Sub(subscribed).Seconds())
		for i, n := range watcher.notifies(t, 4)[1:3] {
			var left int
			ss := n.header("Subscription-State")
			if _, err := fmt.Sscanf(ss, "active;expires=%d", &left); err != nil || left < lo || left > hi {
				t.Errorf("NOTIFY %d for a PUBLISH: Subscription-State %q, want active;expires= %d..%d", i+2, ss, lo, hi)
			}
		}
		k.waitQuery(t, "SELECT count(*) FROM active_watchers", "0", dbWait)
		k.waitQuery(t, "SELECT count(*) FROM presentity", "0", dbWait)
	})
}

// A fetch (RFC 6665 section 4.4.3): an initial SUBSCRIBE with Expires 0 gets 200 and exactly
// one NOTIFY, terminated, with the current state; nothing is stored.
func TestSubscribeFetch(t *testing.T) {
	t.Parallel()
	eachTarget(t, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "fetched")
		s := k.startSipp(t, "subscribe_fetch")
		s.wait(t)
		r := s.responses()[0]
		wantStatus(t, r, "200 OK")
		wantHeader(t, r, "Expires", "0")
		n := s.notifies(t, 1)[0]
		wantHeader(t, n, "Subscription-State", "terminated;reason=timeout")
		wantNote(t, n, "fetched")
		k.waitQuery(t, "SELECT count(*) FROM active_watchers", "0", dbWait)
	})
}

// min_expires: a shorter Expires gets 423 with Min-Expires (min_expires_action 1, the default),
// or is raised to min_expires (min_expires_action 2).
func TestSubscribeMinExpires(t *testing.T) {
	t.Parallel()
	t.Run("reject", func(t *testing.T) {
		t.Parallel()
		eachTargetWith(t, options{presence: map[string]any{"min_expires": 60}}, func(t *testing.T, k *kamailio) {
			r, s := k.answer(t, "subscribe_any", "expires", "10")
			wantStatus(t, r, "423 Interval Too Brief")
			wantHeader(t, r, "Min-Expires", "60")
			s.notifies(t, 0)
		})
	})
	t.Run("raise", func(t *testing.T) {
		t.Parallel()
		o := options{presence: map[string]any{"min_expires": 60, "min_expires_action": 2}}
		eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
			wantGranted(t, k, "10", "60")
		})
	})
}

// min_expires above max_expires is lowered to max_expires (stock mod_init), so both bounds
// are max_expires: 7200 is capped to 3600, 60 is refused with Min-Expires 3600.
func TestMinExpiresAboveMax(t *testing.T) {
	t.Parallel()
	o := options{presence: map[string]any{"min_expires": 7200, "max_expires": 3600}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		wantGranted(t, k, "7200", "3600")
		r, _ := k.answer(t, "subscribe_any", "expires", "60")
		wantStatus(t, r, "423 Interval Too Brief")
		wantHeader(t, r, "Min-Expires", "3600")
	})
}

// max_expires caps a SUBSCRIBE's Expires, in the 2xx and in the NOTIFY.
func TestSubscribeMaxExpires(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{presence: map[string]any{"max_expires": 100}}, func(t *testing.T, k *kamailio) {
		wantGranted(t, k, "7200", "100")
	})
}

// wantGranted subscribes for asked seconds: 200 with Expires granted, and the first NOTIFY says
// active;expires=granted.
func wantGranted(t *testing.T, k *kamailio, asked, granted string) {
	t.Helper()
	r, s := k.answer(t, "subscribe_any", "expires", asked)
	wantStatus(t, r, "200 OK")
	wantHeader(t, r, "Expires", granted)
	wantHeader(t, s.notifies(t, 1)[0], "Subscription-State", "active;expires="+granted)
}

// server_address is the Contact of the SUBSCRIBE 2xx and of the NOTIFYs.
func TestSubscribeServerAddress(t *testing.T) {
	t.Parallel()
	o := options{presence: map[string]any{"server_address": "sip:10.9.8.7:5060"}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		r, s := k.answer(t, "subscribe_any")
		wantStatus(t, r, "200 OK")
		wantHeader(t, r, "Contact", "<sip:10.9.8.7:5060>")
		wantHeader(t, s.notifies(t, 1)[0], "Contact", "<sip:10.9.8.7:5060>")
	})
}

// subs_respond_200=0: SUBSCRIBE is accepted with 202. Stock 5.6.3 sends "202 OK" (its reason
// phrase is always "OK"); ours sends RFC 3261's "202 Accepted".
func TestSubscribeRespond202(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{presence: map[string]any{"subs_respond_200": 0}}, func(t *testing.T, k *kamailio) {
		r, s := k.answer(t, "subscribe_any")
		if k.Target == "stock" {
			wantStatus(t, r, "202 OK")
		} else {
			wantStatus(t, r, "202 Accepted")
		}
		wantHeader(t, s.notifies(t, 1)[0], "Subscription-State", "active;expires=60")
	})
}

// The route set of a record-routed SUBSCRIBE is the NOTIFYs' Route (RFC 3261 12.1.1): tm
// builds it from the stored Record-Route, and the NOTIFY's Request-URI stays the Contact.
func TestSubscribeRecordRoute(t *testing.T) {
	t.Parallel()
	eachTarget(t, func(t *testing.T, k *kamailio) {
		s := k.startSipp(t, "subscribe_rr")
		s.wait(t)
		n := s.notifies(t, 1)[0]
		wantHeader(t, n, "Route", fmt.Sprintf("<sip:127.0.0.1:%d;lr>", s.Port))
		if want := fmt.Sprintf("NOTIFY sip:watcher@127.0.0.1:%d SIP/2.0", s.Port); n.startLine() != want {
			t.Errorf("NOTIFY request line %q, want %q", n.startLine(), want)
		}
	})
}

// Several Record-Route entries, in two headers, become the NOTIFY's route set in the order
// received (RFC 3261 12.1.1: the UAS keeps them as they are, no reversal).
func TestNotifyRouteSetOrder(t *testing.T) {
	t.Parallel()
	eachTarget(t, func(t *testing.T, k *kamailio) {
		s := k.startSipp(t, "subscribe_rr_set")
		s.wait(t)
		n := s.notifies(t, 1)[0]
		want := fmt.Sprintf("<sip:127.0.0.1:%d;lr;n=1>, <sip:10.0.0.2;lr;n=2>, <sip:10.0.0.3;lr;n=3>", s.Port)
		var route []string
		for _, h := range n.headers("Route") {
			for _, r := range strings.Split(h, ",") {
				route = append(route, strings.TrimSpace(r))
			}
		}
		if got := strings.Join(route, ", "); got != want {
			t.Errorf("NOTIFY route set %q, want %q", got, want)
		}
	})
}

// handle_subscribe(watcher_uri): the watcher stored is the URI the script gives, not the From.
func TestSubscribeWatcherURI(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{subscribeWatcher: true}, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "subscribe_as", "watcher", "sip:bob@example.org")
		k.waitQuery(t, "SELECT watcher_username||' '||watcher_domain||' '||from_user||' '||from_domain "+
			"FROM active_watchers", "bob example.org watcher 127.0.0.1", dbWait)
	})
}

// Over TCP the NOTIFY comes back on the connection the SUBSCRIBE came in on, and the 2xx
// Contact says ;transport=tcp.
func TestSubscribeTCP(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{tcp: true}, func(t *testing.T, k *kamailio) {
		s := k.startSippWith(t, sippOptions{tcp: true}, "subscribe_tcp")
		s.waitVar(t, "notified", 10*time.Second)
		// While sipp holds its connection: the two ends of one connection between sipp's port
		// and Kamailio's, and no other (a NOTIFY on a new connection would make two more).
		if conns := tcpConnections(t, k.Port, s.Port); len(conns) != 2 {
			t.Errorf("established TCP sockets on ports %d/%d: %q, want the two ends of one connection",
				k.Port, s.Port, conns)
		}
		s.wait(t)
		r := s.responses()[0]
		wantStatus(t, r, "200 OK")
		wantHeader(t, r, "Contact", fmt.Sprintf("<sip:127.0.0.1:%d;transport=tcp>", k.Port))
		if n := s.notifies(t, 1)[0]; n.transport != "TCP" {
			t.Errorf("NOTIFY came over %s, want TCP", n.transport)
		}
	})
}

// A subscriber behind a NAT over TCP: its Contact names an address nothing listens on, and the
// NOTIFY still reaches it through the connection its SUBSCRIBE came on (ours names that
// connection as the NOTIFY's destination); the Request-URI stays the Contact.
func TestNotifyThroughSubscribersConnection(t *testing.T) {
	t.Parallel()
	o := options{tcp: true, skip: map[string]string{
		"stock": "stock 5.6.3 sends the NOTIFY to the Contact's address, where nothing listens",
	}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		s := k.startSippWith(t, sippOptions{tcp: true}, "subscribe_tcp_nat")
		s.wait(t)
		wantStatus(t, s.responses()[0], "200 OK")
		n := s.notifies(t, 1)[0]
		if n.transport != "TCP" {
			t.Errorf("NOTIFY came over %s, want TCP", n.transport)
		}
		if want := "NOTIFY sip:watcher@127.0.0.1:1;transport=tcp SIP/2.0"; n.startLine() != want {
			t.Errorf("NOTIFY request line %q, want %q", n.startLine(), want)
		}
	})
}

// to_tag_pref, of the 2008 guide: the To-tag of the 2xx to an initial SUBSCRIBE starts with it.
func TestSubscribeToTagPref(t *testing.T) {
	t.Parallel()
	o := options{
		presence: map[string]any{"to_tag_pref": "pres"},
		skip: map[string]string{
			"stock": "stock 5.6.3 has no to_tag_pref parameter (removed in 2020): Kamailio would refuse to start",
		},
	}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		r, s := k.answer(t, "subscribe_any")
		wantStatus(t, r, "200 OK")
		if totag := tag(r.header("To")); !strings.HasPrefix(totag, "pres") {
			t.Errorf("To-tag %q does not start with \"pres\"", totag)
		}
		n := s.notifies(t, 1)[0]
		if got, want := tag(n.header("From")), tag(r.header("To")); got != want {
			t.Errorf("NOTIFY From-tag %q, want the 2xx To-tag %q", got, want)
		}
	})
}

// The NOTIFY CSeq of one dialog grows strictly (RFC 3261 12.2.1.1), by one, over the initial
// NOTIFY, two NOTIFYs for modifying PUBLISHes, a refresh and the un-SUBSCRIBE.
func TestSubscribeNotifyCSeqIncreases(t *testing.T) {
	t.Parallel()
	eachTarget(t, func(t *testing.T, k *kamailio) {
		etag := k.runSipp(t, "publish_initial", "note", "n1")["etag"]
		w := k.startSipp(t, "watch_cseq")
		w.waitVar(t, "subscribed", 10*time.Second)
		etag = k.runSipp(t, "publish_modify", "etag", etag, "note", "n2")["etag"]
		w.waitVar(t, "notified2", 10*time.Second)
		settleStockWrites()
		k.runSipp(t, "publish_modify", "etag", etag, "note", "n3")
		w.wait(t)
		var cseqs []int
		for _, n := range w.notifies(t, 5) {
			cseqs = append(cseqs, n.cseq())
		}
		// one more per NOTIFY, from 1 (stock: from 2)
		first := map[string]int{"stock": 2, "ours": 1}[k.Target]
		want := []int{first, first + 1, first + 2, first + 3, first + 4}
		if fmt.Sprint(cseqs) != fmt.Sprint(want) {
			t.Errorf("NOTIFY CSeqs %v, want %v", cseqs, want)
		}
	})
}
