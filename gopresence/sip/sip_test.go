package sip

import "testing"

func TestParseURI(t *testing.T) {
	good := map[string]URI{
		"sip:alice@Example.COM":                 {Scheme: "sip", User: "alice", Host: "example.com"},
		"<sip:bob@10.0.0.1:5070;transport=tcp>": {Scheme: "sip", User: "bob", Host: "10.0.0.1", Port: "5070"},
		`"Bob" <sips:bob:pw@h.org>;tag=1`:       {Scheme: "sips", User: "bob", Host: "h.org"},
		"sip:example.com":                       {Scheme: "sip", Host: "example.com"},
		"sip:u@[::1]:5060":                      {Scheme: "sip", User: "u", Host: "[::1]", Port: "5060"},
		"tel:+1234;phone-context=x":             {Scheme: "tel", User: "+1234"},
	}
	for in, want := range good {
		got, err := ParseURI(in)
		if err != nil || got != want {
			t.Errorf("%q: got %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "alice", "http://x", "sip:", "sip:@h", "sip:a@", "sip:a@h:99999", "<sip:a@h", "sip:a b@h", "sip:a@[::1"} {
		if u, err := ParseURI(in); err == nil {
			t.Errorf("%q accepted as %+v", in, u)
		}
	}
	if AOR("", "h") != "sip:h" || (URI{User: "a", Host: "h"}).AOR() != "sip:a@h" {
		t.Error("AOR")
	}
}

func TestParseEvent(t *testing.T) {
	ev, err := ParseEvent(" Presence ;id=5;x")
	if err != nil || ev.Name != "presence" || ev.ID != "5" || len(ev.Params) != 2 {
		t.Fatalf("%+v %v", ev, err)
	}
	ev, err = ParseEvent("dialog;sla")
	if err != nil || ev.Name != "dialog" || ev.Params[0].Name != "sla" {
		t.Fatalf("%+v %v", ev, err)
	}
	for _, in := range []string{"", ";id=1", "pres ence", "presence;", "presence;id=", "presence;=x", "pre<sence"} {
		if _, err := ParseEvent(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseExpires(t *testing.T) {
	for in, want := range map[string]uint32{"0": 0, " 3600 ": 3600, "99999999999": 0xffffffff} {
		if got, err := ParseExpires(in); err != nil || got != want {
			t.Errorf("%q: %d %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1h", "1 2", "0x10"} {
		if _, err := ParseExpires(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if _, err := ParseCSeq("2147483648"); err == nil {
		t.Error("CSeq 2^31 accepted")
	}
}
