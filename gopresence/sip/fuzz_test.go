package sip

import (
	"strings"
	"testing"
)

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"sip:alice@example.com", `"A" <sips:a:b@[::1]:5061;x>`, "tel:+1", "sip:h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		if u.Scheme != "tel" && u.Host == "" {
			t.Fatalf("accepted %q without host", s)
		}
		if strings.ContainsAny(u.User+u.Host, " \r\n<>\"") {
			t.Fatalf("accepted %q with unsafe characters: %+v", s, u)
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{"presence", "dialog;sla", "presence;id=\"a b\"", "message-summary"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ev, err := ParseEvent(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(ev.Name, " \r\n;") || ev.Name == "" {
			t.Fatalf("bad name from %q: %q", s, ev.Name)
		}
		if strings.ContainsAny(ev.ID, "\r\n") {
			t.Fatalf("CRLF in id from %q", s)
		}
	})
}

func FuzzParseExpires(f *testing.F) {
	f.Add("3600")
	f.Add(" 0 ")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseExpires(s)
		_, _ = ParseCSeq(s)
	})
}
