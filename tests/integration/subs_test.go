//go:build integration

package integration

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// subsAttrs are every $subs attribute of stock 5.6.3 (subscribe.c:747-775).
var subsAttrs = []string{"uri", "pres_uri", "to_user", "to_domain", "from_user", "from_domain",
	"watcher_username", "watcher_domain", "event", "event_id", "to_tag", "from_tag", "callid",
	"remote_cseq", "local_cseq", "contact", "local_contact", "record_route", "expires", "status",
	"reason", "version", "flags", "user_agent", "sockinfo"}

// xlogSubs is an xlog statement printing marker and every $subs attribute as |name=value.
func xlogSubs(marker string) string {
	var b strings.Builder
	b.WriteString(`xlog("L_NOTICE", "` + marker)
	for _, a := range subsAttrs {
		b.WriteString("|" + a + "=$subs(" + a + ")")
	}
	b.WriteString(`|\n");`)
	return b.String()
}

// subsRoutes log $subs after handle_subscribe, in tm:local-request for each NOTIFY, and in
// presence:notify-reply with the reply ($notify_reply) and the NOTIFY ($msg); a NOTIFY answered
// 403 has the route ask for the subscription's end (xavp_cfg's delete_subscription).
var subsOptions = options{
	presence:       map[string]any{"xavp_cfg": "pres"},
	afterSubscribe: "\t\t" + xlogSubs("SUBS-AFTER"),
	routes: `event_route[tm:local-request] {
	if (is_method("NOTIFY")) {
		` + xlogSubs("SUBS-NOTIFY") + `
	}
}
event_route[presence:notify-reply] {
	xlog("L_NOTICE", "NOTIFY-REPLY|code=$notify_reply($rs)|reason=$notify_reply($rr)|method=$rm|cseq=$cs|callid=$subs(callid)|status=$subs(status)|\n");
	if ($notify_reply($rs) == 403) {
		$xavp(pres=>delete_subscription) = 1;
	}
}`,
}

// logRecords waits until the log has n lines with marker and returns each as name=value.
func (k *kamailio) logRecords(t *testing.T, marker string, n int, within time.Duration) []map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		lines, _ := k.LogLines(0)
		var out []map[string]string
		for _, l := range lines {
			_, rest, ok := strings.Cut(l, marker+"|")
			if !ok {
				continue
			}
			rec := map[string]string{}
			for _, kv := range strings.Split(rest, "|") {
				if name, v, ok := strings.Cut(kv, "="); ok {
					rec[name] = v
				}
			}
			out = append(out, rec)
		}
		if len(out) >= n || time.Now().After(deadline) {
			if len(out) < n {
				t.Fatalf("%d %s lines in the log, want %d", len(out), marker, n)
			}
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var tagParam = regexp.MustCompile(`;tag=([^;>\s]+)`)

// $subs holds the subscription after handle_subscribe and while each NOTIFY is sent
// (event_route[tm:local-request]); every attribute has stock's value, read from what the
// watcher sent and received.
func TestSubsPV(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, subsOptions, func(t *testing.T, k *kamailio) {
		etag := k.runSipp(t, "publish_initial", "note", "pv")["etag"]
		w := k.startSipp(t, "watch_notifies", "count", "1")
		w.waitVar(t, "subscribed", 10*time.Second)
		k.runSipp(t, "publish_modify", "etag", etag, "note", "pv2")
		w.wait(t)
		ok := w.responses()[0]
		notify := w.notifies(t, 2)[0]
		toTag := tagParam.FindStringSubmatch(ok.header("To"))
		fromTag := tagParam.FindStringSubmatch(notify.header("To"))
		if toTag == nil || fromTag == nil {
			t.Fatalf("no tags: 200 To %q, NOTIFY To %q", ok.header("To"), notify.header("To"))
		}
		contact := strings.Trim(strings.TrimSpace(notify.startLine()[len("NOTIFY "):strings.LastIndex(notify.startLine(), " ")]), "<>")
		cseq, _, _ := strings.Cut(notify.header("CSeq"), " ")
		want := map[string]string{
			"uri": "sip:alice@127.0.0.1", "pres_uri": "sip:alice@127.0.0.1", "to_user": "alice",
			"to_domain": "127.0.0.1", "from_user": "watcher", "from_domain": "127.0.0.1",
			"watcher_username": "watcher", "watcher_domain": "127.0.0.1", "event": "presence",
			"event_id": "<null>", "to_tag": toTag[1], "from_tag": fromTag[1],
			"callid": notify.header("Call-ID"), "remote_cseq": "1", "contact": contact,
			"record_route": "<null>", "status": "1", "flags": "0", "user_agent": "<null>",
			"sockinfo":      "udp:127.0.0.1:" + strconv.Itoa(k.Port),
			"local_contact": "sip:127.0.0.1:" + strconv.Itoa(k.Port),
		}
		if k.Target == "stock" {
			// stock stores ;transport=udp in its local Contact (ours adds it for stream
			// transports only, in the Contact it sends too): docs/conformance.md
			want["local_contact"] += ";transport=udp"
		}
		after := k.logRecords(t, "SUBS-AFTER", 1, 5*time.Second)[0]
		sent := k.logRecords(t, "SUBS-NOTIFY", 1, 5*time.Second)[0]
		for name, v := range want {
			for what, rec := range map[string]map[string]string{"after handle_subscribe": after, "in tm:local-request": sent} {
				if got := normalizeNull(rec[name]); got != normalizeNull(v) {
					t.Errorf("$subs(%s) %s = %q, want %q", name, what, rec[name], v)
				}
			}
		}
		if after["expires"] != "120" {
			t.Errorf("$subs(expires) after handle_subscribe = %q, want 120", after["expires"])
		}
		if e, err := strconv.Atoi(sent["expires"]); err != nil || e < 115 || e > 120 {
			t.Errorf("$subs(expires) in tm:local-request = %q, want about 120", sent["expires"])
		}
		// stock's local_cseq is the last CSeq sent before this NOTIFY (tm adds one); its version
		// counts the NOTIFYs, this one included, and a new subscription starts at 1
		if n, _ := strconv.Atoi(cseq); sent["local_cseq"] != strconv.Itoa(n-1) {
			t.Errorf("$subs(local_cseq) in tm:local-request = %q, want the NOTIFY's CSeq %s less one", sent["local_cseq"], cseq)
		}
		for name, v := range map[string]string{"version": "1", "local_cseq": "0", "reason": "<null>"} {
			if normalizeNull(after[name]) != normalizeNull(v) {
				t.Errorf("$subs(%s) after handle_subscribe = %q, want %q", name, after[name], v)
			}
		}
		if sent["version"] != "1" {
			t.Errorf("$subs(version) in tm:local-request = %q, want 1", sent["version"])
		}
	})
}

// normalizeNull: xlog prints an empty string as "" and a null as "<null>"; stock keeps some
// absent values as empty strings, some as NULL.
func normalizeNull(s string) string {
	if s == "<null>" {
		return ""
	}
	return s
}

// event_route[presence:notify-reply] runs for every NOTIFY's final reply with the NOTIFY as
// $msg, $notify_reply on the reply and $subs on the subscription; a route that sets
// $xavp(<xavp_cfg>=>delete_subscription) ends the subscription whatever the code (here a 403,
// which alone keeps it).
func TestNotifyReplyRoute(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, subsOptions, func(t *testing.T, k *kamailio) {
		notifyFailureEndsSubscription(t, k, "watch_refuse_notify", "refused", 2*time.Second)
		recs := k.logRecords(t, "NOTIFY-REPLY", 2, 5*time.Second)
		if r := recs[0]; r["code"] != "200" || r["reason"] != "OK" || r["method"] != "NOTIFY" || r["status"] != "1" || r["callid"] == "" {
			t.Errorf("first notify-reply: %v", r)
		}
		if r := recs[1]; r["code"] != "403" || r["reason"] != "Refused By Test" || r["method"] != "NOTIFY" {
			t.Errorf("second notify-reply: %v", r)
		}
	})
}

// A NOTIFY nobody answers runs the route too, with stock's faked reply "408 TIMEOUT".
func TestNotifyReplyRouteTimeout(t *testing.T) {
	t.Parallel()
	o := subsOptions
	o.tm = map[string]any{"fr_timer": 1000}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		notifyFailureEndsSubscription(t, k, "watch_ignore_notify", "ignored", 4*time.Second)
		recs := k.logRecords(t, "NOTIFY-REPLY", 2, 5*time.Second)
		if r := recs[1]; r["code"] != "408" || r["reason"] != "TIMEOUT" || r["method"] != "NOTIFY" {
			t.Errorf("timeout notify-reply: %v", r)
		}
	})
}
