//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// callRoute is request_route's first block for the tests of the script functions: a MESSAGE
// names a function in X-Fn and its arguments in X-A1..X-A5 (pseudo-variables, as a real
// script passes them), and is answered "200 rc=<the function's return code>".
const callRoute = `	if (is_method("MESSAGE")) {
		$var(rc) = "none";
		if ($hdr(X-Fn) == "auth") {
			pres_auth_status("$hdr(X-A1)", "$hdr(X-A2)");
			$var(rc) = $rc;
		} else if ($hdr(X-Fn) == "has") {
			pres_has_subscribers("$hdr(X-A1)", "$hdr(X-A2)");
			$var(rc) = $rc;
		} else if ($hdr(X-Fn) == "refresh") {
			$var(type) = $(hdr(X-A3){s.int});
			pres_refresh_watchers("$hdr(X-A1)", "$hdr(X-A2)", "$var(type)");
			$var(rc) = $rc;
		} else if ($hdr(X-Fn) == "refresh5") {
			$var(type) = $(hdr(X-A3){s.int});
			pres_refresh_watchers("$hdr(X-A1)", "$hdr(X-A2)", "$var(type)", "$hdr(X-A4)", "$hdr(X-A5)");
			$var(rc) = $rc;
		} else if ($hdr(X-Fn) == "update") {
			pres_update_watchers("$hdr(X-A1)", "$hdr(X-A2)");
			$var(rc) = $rc;
		}
		sl_send_reply("200", "rc=$var(rc)");
		exit;
	}`

// call runs one function through the MESSAGE route (callRoute, or a KEMI script's) and returns
// its return code as the route answered it.
func (k *kamailio) call(t *testing.T, fn string, args ...string) string {
	t.Helper()
	keys := []string{"fn", fn}
	for i, a := range args {
		keys = append(keys, "a"+string(rune('1'+i)), a)
	}
	return k.runSipp(t, "message_call", keys...)["rc"]
}

func wantRC(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s returned %s, want %s", what, got, want)
	}
}

// The ERR lines stock's functions log for the calls the tests make on purpose; ours logs the
// same situations.
var scriptErrors = []expectedLog{
	{"", `missing watcher uri`, "pres_auth_status without a watcher URI"},
	{"", `Wrong number of parameters for type`, "pres_refresh_watchers type 2 with 3 arguments, type 1 with 5"},
	{"", `refresh watchers authorization status|no rules doc found for the user`, "type 0 without rules"},
	{"ours", `unknown event|Unknown event|refreshWatchers: 500`, "an event nobody registered"},
	{"stock", `wrong event parameter|event is not registered`, "an event nobody registered"},
	{"ours", `pres_has_subscribers: Unknown event`, "pres_has_subscribers of an event nobody registered"},
}

// Every script function of stock 5.6.3 exists with its parameters (pseudo-variables included)
// and answers with stock's return codes: a cfg that uses them starts with our module.
func TestScriptFunctions(t *testing.T) {
	t.Parallel()
	o := options{companions: []string{"presence_xml"}, script: callRoute, expectedLog: scriptErrors}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		alice := "sip:alice@127.0.0.1"
		// presence_xml with force_active: it has the rules callbacks but no document, which
		// stock's pres_auth_status reads as pending
		wantRC(t, "pres_auth_status", k.call(t, "auth", "sip:watcher@127.0.0.1", alice), "2")
		wantRC(t, "pres_auth_status without watcher", k.call(t, "auth", "", alice), "-1")
		wantRC(t, "pres_has_subscribers before any", k.call(t, "has", alice, "presence"), "-1")
		wantRC(t, "pres_has_subscribers of an unknown event", k.call(t, "has", alice, "nosuch"), "-1")
		wantRC(t, "pres_update_watchers without rules", k.call(t, "update", alice, "presence"), "-1")
		wantRC(t, "pres_refresh_watchers type 0 without rules", k.call(t, "refresh", alice, "presence", "0"), "-1")
		wantRC(t, "pres_refresh_watchers type 2 with 3 arguments", k.call(t, "refresh", alice, "presence", "2"), "-1")
		wantRC(t, "pres_refresh_watchers type 1 with 5 arguments",
			k.call(t, "refresh5", alice, "presence", "1", "sip:alice@127.0.0.1/doc", "f"), "-1")
		// no pidf-manipulation document (force_active): nothing to remove, a refresh
		wantRC(t, "pres_refresh_watchers type 2 without a document",
			k.call(t, "refresh5", alice, "presence", "2", "sip:alice@127.0.0.1/doc", "f"), "1")
		wantRC(t, "pres_refresh_watchers of an unknown event", k.call(t, "refresh", alice, "nosuch", "1"), "-1")

		k.runSipp(t, "publish_initial", "note", "by-script")
		w := k.startSipp(t, "watch_notifies", "count", "1")
		w.waitVar(t, "subscribed", 10*time.Second)
		settleStockWrites()
		wantRC(t, "pres_has_subscribers with a watcher", k.call(t, "has", alice, "presence"), "1")
		wantRC(t, "pres_has_subscribers of another presentity", k.call(t, "has", "sip:bob@127.0.0.1", "presence"), "-1")
		wantRC(t, "pres_refresh_watchers type 1", k.call(t, "refresh", alice, "presence", "1"), "1")
		w.waitCount(t, "notified", 1, 5*time.Second)
		w.wait(t)
		wantNote(t, w.notifies(t, 2)[1], "by-script")
	})
}

// With pres-rules (presence_xml without force_active, the rules in its xcap table),
// pres_auth_status gives each sub-handling's status as stock: none 2 (pending), allow 1,
// block 3, polite-block 5, confirm 2; pres_update_watchers fails (-1) without a rules
// document and succeeds (1) with one; so does pres_refresh_watchers type 0.
func TestScriptAuthStatusRules(t *testing.T) {
	t.Parallel()
	o := options{companions: []string{"presence_xml"},
		xml:    map[string]any{"force_active": 0, "integrated_xcap_server": 1},
		script: callRoute, expectedLog: append(scriptErrors, expectedLog{"", `no rules|rules doc`, "no rules document yet"})}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		alice, watcher := "sip:alice@127.0.0.1", "sip:watcher@127.0.0.1"
		wantRC(t, "pres_auth_status without rules", k.call(t, "auth", watcher, alice), "2")
		wantRC(t, "pres_update_watchers without a rules document", k.call(t, "update", alice, "presence"), "-1")
		for _, c := range []struct{ user, handling, want string }{
			{"a1", "allow", "1"}, {"a2", "block", "3"}, {"a3", "polite-block", "5"}, {"a4", "confirm", "2"},
		} {
			k.sqlite(t, presRules(c.user, c.handling))
			wantRC(t, "pres_auth_status "+c.handling, k.call(t, "auth", watcher, "sip:"+c.user+"@127.0.0.1"), c.want)
		}
		wantRC(t, "pres_update_watchers with rules", k.call(t, "update", "sip:a1@127.0.0.1", "presence"), "1")
		wantRC(t, "pres_refresh_watchers type 0 with rules", k.call(t, "refresh", "sip:a1@127.0.0.1", "presence", "0"), "1")
	})
}

// kemiScript is a KEMI routing script: the engine's module loads it and cfgengine names it.
type kemiScript struct {
	engine, module, ext, text string
}

// write puts the script into dir and returns its path.
func (s *kemiScript) write(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "routing."+s.ext)
	if err := os.WriteFile(path, []byte(s.text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// kemiJS serves PUBLISH and SUBSCRIBE and the MESSAGE calls of callRoute through KSR.presence.
const kemiJS = `
function arg(n) { return KSR.pv.gete("$hdr(X-A" + n + ")"); }
function ksr_request_route() {
	if (KSR.is_method("PUBLISH")) { KSR.presence.handle_publish(); return; }
	if (KSR.is_method("SUBSCRIBE")) {
		if (KSR.tm.t_newtran() < 0) { KSR.sl.sl_reply_error(); return; }
		KSR.presence.handle_subscribe();
		return;
	}
	if (KSR.is_method("MESSAGE")) {
		var fn = KSR.pv.gete("$hdr(X-Fn)"), rc = "none";
		if (fn == "auth") rc = KSR.presence.pres_auth_status(arg(1), arg(2));
		else if (fn == "has") rc = KSR.presence.pres_has_subscribers(arg(1), arg(2));
		else if (fn == "refresh") rc = KSR.presence.pres_refresh_watchers(arg(1), arg(2), parseInt(arg(3)));
		else if (fn == "refresh5") rc = KSR.presence.pres_refresh_watchers_file(arg(1), arg(2), parseInt(arg(3)), arg(4), arg(5));
		else if (fn == "update") rc = KSR.presence.pres_update_watchers(arg(1), arg(2));
		else if (fn == "defined") rc = (typeof KSR.presence.handle_publish_uri == "function" &&
			typeof KSR.presence.handle_subscribe_uri == "function") ? 1 : 0;
		KSR.sl.sl_send_reply(200, "rc=" + rc);
		return;
	}
	KSR.sl.sl_send_reply(200, "OK");
}
`

// kemiLua is kemiJS in Lua (app_lua, Debian's kamailio-lua-modules).
const kemiLua = `
local function arg(n) return KSR.pv.gete("$hdr(X-A" .. n .. ")") end
function ksr_request_route()
	if KSR.is_method("PUBLISH") then KSR.presence.handle_publish(); return end
	if KSR.is_method("SUBSCRIBE") then
		if KSR.tm.t_newtran() < 0 then KSR.sl.sl_reply_error(); return end
		KSR.presence.handle_subscribe()
		return
	end
	if KSR.is_method("MESSAGE") then
		local fn, rc = KSR.pv.gete("$hdr(X-Fn)"), "none"
		if fn == "auth" then rc = KSR.presence.pres_auth_status(arg(1), arg(2))
		elseif fn == "has" then rc = KSR.presence.pres_has_subscribers(arg(1), arg(2))
		elseif fn == "refresh" then rc = KSR.presence.pres_refresh_watchers(arg(1), arg(2), tonumber(arg(3)))
		elseif fn == "refresh5" then rc = KSR.presence.pres_refresh_watchers_file(arg(1), arg(2), tonumber(arg(3)), arg(4), arg(5))
		elseif fn == "update" then rc = KSR.presence.pres_update_watchers(arg(1), arg(2))
		end
		KSR.sl.sl_send_reply(200, "rc=" .. tostring(rc))
		return
	end
	KSR.sl.sl_send_reply(200, "OK")
end
`

// KSR.presence is defined with stock's functions: a KEMI script (JavaScript through Debian's
// app_jsdt, Lua through app_lua) serves PUBLISH and SUBSCRIBE and calls the other functions,
// which return stock's codes (KEMI's pres_refresh_watchers returns 0 on success, as stock's
// ki_pres_refresh_watchers).
func TestKEMI(t *testing.T) {
	t.Parallel()
	for _, s := range []*kemiScript{
		{engine: "jsdt", module: "app_jsdt", ext: "js", text: kemiJS},
		{engine: "lua", module: "app_lua", ext: "lua", text: kemiLua},
	} {
		t.Run(s.engine, func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/kamailio/modules/" + s.module + ".so"); err != nil {
				t.Fatalf("%s is not installed (scripts/deps.sh installs it): %v", s.module, err)
			}
			o := options{companions: []string{"presence_xml"}, kemi: s, expectedLog: scriptErrors}
			eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
				alice := "sip:alice@127.0.0.1"
				k.runSipp(t, "publish_initial", "note", "kemi")
				wantRC(t, "KSR.presence.pres_has_subscribers before any", k.call(t, "has", alice, "presence"), "-1")
				w := k.startSipp(t, "watch_notifies", "count", "1")
				w.waitVar(t, "subscribed", 10*time.Second)
				settleStockWrites()
				wantRC(t, "KSR.presence.pres_has_subscribers", k.call(t, "has", alice, "presence"), "1")
				wantRC(t, "KSR.presence.pres_auth_status", k.call(t, "auth", "sip:watcher@127.0.0.1", alice), "2")
				wantRC(t, "KSR.presence.pres_update_watchers", k.call(t, "update", alice, "presence"), "-1")
				wantRC(t, "KSR.presence.pres_refresh_watchers_file type 2",
					k.call(t, "refresh5", alice, "presence", "2", "sip:alice@127.0.0.1/doc", "f"), "0")
				wantRC(t, "KSR.presence.pres_refresh_watchers type 1", k.call(t, "refresh", alice, "presence", "1"), "0")
				w.waitCount(t, "notified", 1, 5*time.Second)
				w.wait(t)
				wantNote(t, w.notifies(t, 2)[1], "kemi")
				if s.engine == "jsdt" {
					wantRC(t, "KSR.presence.handle_publish_uri and handle_subscribe_uri defined", k.call(t, "defined"), "1")
				}
			})
		})
	}
}
