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
