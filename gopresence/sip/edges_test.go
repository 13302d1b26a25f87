package sip

import (
	"strings"
	"testing"
)

// The parsers at the edges of each limit and character class: the last value accepted and the
// first refused, so that moving a bound by one or dropping a check is seen (docs/mutation.md).

func TestParseURIEdges(t *testing.T) {
	longest := "sip:" + strings.Repeat("u", MaxValue-6) + "@h" // MaxValue bytes
	good := map[string]URI{
		longest:                           {Scheme: "sip", User: strings.Repeat("u", MaxValue-6), Host: "h"},
		"sip:a@z.org:65535":               {Scheme: "sip", User: "a", Host: "z.org", Port: "65535"},
		"sip:a@h9:5090":                   {Scheme: "sip", User: "a", Host: "h9", Port: "5090"},
		"sip:a@h-1.x_y":                   {Scheme: "sip", User: "a", Host: "h-1.x_y"},
		"sip:a@[::]":                      {Scheme: "sip", User: "a", Host: "[::]"},
		"sip:a@[FE80::a09]:5060":          {Scheme: "sip", User: "a", Host: "[fe80::a09]", Port: "5060"},
		"sip:a@[::ffff:192.0.2.1]":        {Scheme: "sip", User: "a", Host: "[::ffff:192.0.2.1]"},
		"sip:a@[" + ipv6Of45 + "]":        {Scheme: "sip", User: "a", Host: "[" + ipv6Of45 + "]"},
		"sip:a@h;maddr=x?subject=y":       {Scheme: "sip", User: "a", Host: "h"},
		"sip:a:secret@h":                  {Scheme: "sip", User: "a", Host: "h"},
		"tel:+1-555;phone-context=ex.com": {Scheme: "tel", User: "+1-555"},
	}
	for in, want := range good {
		got, err := ParseURI(in)
		if err != nil || got != want {
			t.Errorf("%.60q: got %+v %v, want %+v", in, got, err, want)
		}
	}
	bad := []string{
		longest + "x",               // one byte over MaxValue
		"sip:a@h;x= y",              // a space in the parameters is still echoed in headers
		"sip:a@h;x=\x7f",            // DEL likewise
		"sip::pw@h",                 // a password and no user
		"sip:?x@h",                  // '?' starts the headers: no userinfo before it
		`sip:a"b@h`,                 // a quote in the user
		"sip:a>b@h",                 // an angle bracket in the user
		"sip:a@h!x",                 // a host character outside the hostname set
		"sip:a@h:0",                 // port 0
		"sip:a@h:65536",             // one above the highest port
		"sip:a@h:123456",            // six digits
		"sip:a@h:5o60",              // not a digit
		"sip:a@[::g]",               // not a hex digit
		"sip:a@[::1/]",              // below 'a', not a digit, ':' or '.'
		"sip:a@[:]",                 // shorter than "::"
		"sip:a@[" + ipv6Of45 + "0]", // longer than 45
		"sip:a@[::1]x",              // after ']' only ":port"
	}
	for _, in := range bad {
		if u, err := ParseURI(in); err == nil {
			t.Errorf("%.60q accepted as %+v", in, u)
		}
	}
}

// ipv6Of45 is the longest textual IPv6 address (45 characters).
const ipv6Of45 = "0000:0000:0000:0000:0000:ffff:255.255.255.255"

func TestParseEventEdges(t *testing.T) {
	longest := "presence;p=" + strings.Repeat("v", MaxValue-11) // MaxValue bytes
	if ev, err := ParseEvent(longest); err != nil || len(ev.Params) != 1 || len(ev.Params[0].Value) != MaxValue-11 {
		t.Errorf("Event of MaxValue bytes: %v", err)
	}
	if _, err := ParseEvent(longest + "v"); err == nil {
		t.Error("Event of MaxValue+1 bytes accepted")
	}
	// quoted values: the quotes go, the content must be printable without quote or backslash
	for in, want := range map[string]string{`dialog;x=""`: "", `dialog;x="a b"`: "a b", "dialog;x=\"~\"": "~"} {
		ev, err := ParseEvent(in)
		if err != nil || len(ev.Params) != 1 || ev.Params[0] != (Param{Name: "x", Value: want}) {
			t.Errorf("%q: %+v %v, want x=%q", in, ev, err, want)
		}
	}
	for _, in := range []string{"dialog;x=\"a\x1fb\"", `dialog;x="a"b"`, `dialog;x="a\b"`, "dialog;x=\"a\x7f\"",
		`dialog;x="ab`, `dialog;x=ab"`, "dialog;x=\"\xc3\xa9\""} {
		if ev, err := ParseEvent(in); err == nil {
			t.Errorf("%q accepted as %+v", in, ev)
		}
	}
}

func TestParseNumberEdges(t *testing.T) {
	thirtyTwo := strings.Repeat("0", 28) + "3600"
	for in, want := range map[string]uint32{thirtyTwo: 3600, "4294967295": 0xffffffff, "4294967296": 0xffffffff} {
		if got, err := ParseExpires(in); err != nil || got != want {
			t.Errorf("Expires %q: %d %v, want %d", in, got, err, want)
		}
	}
	if _, err := ParseExpires(thirtyTwo + "0"); err == nil {
		t.Error("Expires of 33 digits accepted")
	}
	for in, want := range map[string]uint32{"1": 1, " 42 ": 42, "2147483647": 1<<31 - 1, "0": 0} {
		if got, err := ParseCSeq(in); err != nil || got != want {
			t.Errorf("CSeq %q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", "02147483647", "-1", "1x", "2147483648"} {
		if got, err := ParseCSeq(in); err == nil {
			t.Errorf("CSeq %q accepted as %d", in, got)
		}
	}
}
