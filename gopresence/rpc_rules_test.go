package gopresence

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// presence.* RPC answers, field by field.

func TestRPCPresentityListFields(t *testing.T) {
	e, c := newTestEngine(t, "", "")
	etag := do(t, e, wire.TPublish, publish("", "60", pidf1)).headers["SIP-ETag"]
	out := rpc(t, e, "presentity_list")
	want := []map[string]string{{"user": "alice", "domain": "ex.com", "event": "presence", "etag": etag,
		"sender": "", "expires": fmt.Sprint(c.t.Unix() + 60)}}
	if got := rpcRows(out); !reflect.DeepEqual(got, want) {
		t.Fatalf("presentity_list: %v, want %v", got, want)
	}
	ints := 0
	for _, f := range out.Fields {
		if f.Tag == wire.RPCInt {
			ints++
		}
	}
	if ints != 1 {
		t.Fatalf("%d integer fields, want 1 (expires)", ints)
	}
	if rows := rpcRows(rpc(t, e, "presentity_list", "full")); len(rows) != 1 || len(rows[0]) != 11 ||
		rows[0]["received_time"] != fmt.Sprint(c.t.Unix()) || rows[0]["body"] != pidf1 || rows[0]["ruid"] == "" ||
		rows[0]["hashid"] != fmt.Sprint(int32(coreCaseHash("alice", "ex.com"))) {
		t.Fatalf("presentity_list full: %v", rows)
	}
}

func TestRPCArguments(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 1))
	for _, c := range []struct {
		cmd    string
		args   []string
		reason string
		notifs int
	}{
		// type 0 is the C side's (a C module's rules); it never sends it here
		{"refreshWatchers", []string{"sip:alice@ex.com", "presence", "0"}, "Execution failed", 0},
		{"refreshWatchers", []string{"sip:alice@ex.com"}, "Not enough parameters", 0},
		{"refreshWatchers", []string{"alice", "presence", "1"}, "Bad presentity URI", 0},
		{"refreshWatchers", []string{"sip:alice@ex.com", "nosuch", "1"}, "Unknown event nosuch", 0},
		{"_has_subscribers", []string{"sip:alice@ex.com", "nosuch"}, "Unknown event nosuch", 0},
		{"presentity_show", []string{"full", "alice"}, "Not enough parameters", 0},
		{"watcher_list", []string{"full"}, "Not enough parameters", 0},
		{"watcher_list", []string{"full", "alice"}, "Bad presentity URI", 0},
		{"refreshWatchers", []string{"sip:alice@ex.com", "presence", "1"}, "OK", 1},
		{"refreshWatchers", []string{"sip:nobody@ex.com", "presence", "1"}, "OK", 0},
		{"nosuch", nil, "unknown command presence.nosuch", 0},
	} {
		out := rpc(t, e, c.cmd, c.args...)
		n := 0
		for _, f := range out.Fields {
			if f.Tag == wire.NotifyBegin {
				n++
			}
		}
		if out.Str(wire.Reason) != c.reason || n != c.notifs {
			t.Errorf("%s %q: %q, %d NOTIFYs; want %q, %d", c.cmd, c.args, out.Str(wire.Reason), n, c.reason, c.notifs)
		}
	}
}
