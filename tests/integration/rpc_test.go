//go:build integration

package integration

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// kamcmd runs one RPC command on the instance's ctl socket (options.ctl) and returns its output.
func (k *kamailio) kamcmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("kamcmd", append([]string{"-s", "unix:" + k.CtlSocket()}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kamcmd %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// presence.refreshWatchers <uri> presence 1 sends every watcher of the presentity a NOTIFY with
// the current state (stock's rpc_presence_refresh_watchers), through the ctl process.
func TestRPCRefreshWatchers(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{ctl: true}, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "refreshed")
		w := k.startSipp(t, "watch_notifies", "count", "1")
		w.waitVar(t, "subscribed", 10*time.Second)
		settleStockWrites()
		k.kamcmd(t, "presence.refreshWatchers", "sip:alice@127.0.0.1", "presence", "1")
		w.waitCount(t, "notified", 1, 5*time.Second)
		w.wait(t)
		n := w.notifies(t, 2)[1]
		wantNote(t, n, "refreshed")
		if ss := n.header("Subscription-State"); !strings.HasPrefix(ss, "active;expires=") {
			t.Errorf("refresh NOTIFY Subscription-State %q, want active", ss)
		}
	})
}

// presence.presentity_list lists each publication with its fields by name. Stock lists its
// in-memory table only, which publ_cache=2 fills (ours accepts publ_cache and ignores it).
func TestRPCPresentityList(t *testing.T) {
	t.Parallel()
	o := options{ctl: true, presence: map[string]any{"publ_cache": 2}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		etag := k.runSipp(t, "publish_initial", "note", "listed")["etag"]
		out := k.kamcmd(t, "presence.presentity_list")
		for _, want := range []string{"user: alice", "domain: 127.0.0.1", "event: presence", "etag: " + etag} {
			if !strings.Contains(out, "\t"+want+"\n") {
				t.Errorf("presentity_list has no line %q:\n%s", want, out)
			}
		}
	})
}

// kamcmdOut runs one RPC command and returns its output whether it succeeded or faulted.
func (k *kamailio) kamcmdOut(t *testing.T, args ...string) string {
	t.Helper()
	out, _ := exec.Command("kamcmd", append([]string{"-s", "unix:" + k.CtlSocket()}, args...)...).CombinedOutput()
	return string(out)
}

// Wrong or missing arguments get stock's RPC faults (presence.c rpc_presence_refresh_watchers,
// rpc_presence_update_watchers), never a crash; cleanup answers "Reload OK". (kamcmd drops
// empty arguments, so stock's "Empty ..." faults are reached only by other RPC clients.)
func TestRPCFaults(t *testing.T) {
	t.Parallel()
	o := options{ctl: true, companions: []string{"presence_xml"}, expectedLog: []expectedLog{
		{"", `empty file uri or name parameters|no rules doc found|refresh watchers authorization`, "the faults provoked"},
	}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		alice := "sip:alice@127.0.0.1"
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"presence.refreshWatchers"}, "500 - Not enough parameters"},
			{[]string{"presence.refreshWatchers", alice, "presence"}, "500 - Not enough parameters"},
			{[]string{"presence.refreshWatchers", alice, "presence", "2"}, "500 - No file uri or name parameters"},
			{[]string{"presence.refreshWatchers", alice, "presence", "0"}, "500 - Execution failed"},
			{[]string{"presence.updateWatchers", alice}, "500 - Not enough parameters"},
			{[]string{"presence.updateWatchers", alice, "presence"}, "500 - Processing error"},
			{[]string{"presence.cleanup"}, "Reload OK"},
		} {
			if out := k.kamcmdOut(t, c.args...); !strings.Contains(out, c.want) {
				t.Errorf("kamcmd %q: %q, want %q", c.args, out, c.want)
			}
		}
		k.runSipp(t, "publish_initial", "note", "alive")
		k.alive(t)
	})
}

// presentity_list full has stock's fields: hashid is Kamailio's core_case_hash of user and
// domain, priority the one the script set in $xavp(<xavp_cfg>=>priority).
func TestRPCPresentityListFull(t *testing.T) {
	t.Parallel()
	o := options{ctl: true, presence: map[string]any{"publ_cache": 2, "xavp_cfg": "pres"},
		script: "\tif (is_method(\"PUBLISH\")) {\n\t\t$xavp(pres=>priority) = 77;\n\t}"}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "full")
		out := k.kamcmd(t, "presence.presentity_list", "full")
		for _, want := range []string{"user: alice", "priority: 77", "hashid: -626756875", "ruid: ", "received_time: "} {
			if !strings.Contains(out, "\t"+want) {
				t.Errorf("presentity_list full has no line %q:\n%s", want, out)
			}
		}
	})
}

// Kamailio 5.7's presence.presentity_show and presence.watcher_list (not in stock 5.6.3), and
// our presence.status: held state, the database queue and its transaction times.
func TestRPCShowListStatus(t *testing.T) {
	t.Parallel()
	o := options{ctl: true, skip: map[string]string{"stock": "stock 5.6.3 has no presentity_show, watcher_list, status"}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		k.runSipp(t, "publish_initial", "note", "shown")
		w := k.startSipp(t, "watch_notifies", "count", "1")
		w.waitVar(t, "subscribed", 10*time.Second)
		for _, c := range []struct {
			args []string
			want []string
		}{
			{[]string{"presence.presentity_show", "basic", "alice", "*"}, []string{"\tuser: alice", "\tetag: "}},
			{[]string{"presence.presentity_show", "full", "*", "127.0.0.1"}, []string{"\tbody: ", "\thashid: -626756875"}},
			{[]string{"presence.presentity_show", "basic", "bob", "*"}, nil},
			{[]string{"presence.presentity_show", "basic"}, []string{"500 - Not enough parameters"}},
			{[]string{"presence.presentity_show", "brief", "*", "*"}, []string{"500 - Unknown output mode"}},
			{[]string{"presence.watcher_list", "basic", "sip:alice@127.0.0.1"}, []string{"\twatcher_user: watcher", "\tstatus: 1", "\tcallid: "}},
			{[]string{"presence.watcher_list", "full", "sip:alice@127.0.0.1"}, []string{"\tto_tag: ", "\tlocal_cseq: 1", "\tremote_cseq: 1"}},
			{[]string{"presence.watcher_list", "basic"}, []string{"500 - Not enough parameters"}},
			{[]string{"presence.status"}, []string{"\tup: 1", "\tpresentities: 1", "\tsubscriptions_active: 1",
				"\tsubscriptions_event_presence: 1", "\tdb_queue: ", "\tdb_mean_us: "}},
		} {
			out := k.kamcmdOut(t, c.args...)
			if c.want == nil && strings.TrimSpace(out) != "" {
				t.Errorf("kamcmd %q: %q, want nothing", c.args, out)
			}
			for _, want := range c.want {
				if !strings.Contains(out, want) {
					t.Errorf("kamcmd %q has no %q:\n%s", c.args, want, out)
				}
			}
		}
		k.runSipp(t, "publish_initial", "note", "again")
		w.wait(t)
	})
}
