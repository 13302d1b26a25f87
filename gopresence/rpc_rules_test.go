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
	if rows := rpcRows(rpc(t, e, "presentity_list", "full")); len(rows) != 1 || len(rows[0]) != 10 ||
		rows[0]["received_time"] != fmt.Sprint(c.t.Unix()) || rows[0]["body"] != pidf1 || rows[0]["ruid"] == "" {
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
		{"updateWatchers", []string{"sip:alice@ex.com", "presence"}, "OK", 0},
		{"updateWatchers", []string{"sip:alice@ex.com"}, "Not enough parameters", 0},
		{"updateWatchers", []string{"alice", "presence"}, "Bad presentity URI", 0},
		{"refreshWatchers", []string{"sip:alice@ex.com", "presence", "0"}, "OK", 0},
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
