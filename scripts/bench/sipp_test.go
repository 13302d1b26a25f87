package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopresence/gopresence/tests/harness"
)

// SIPp's error file: events start with a timestamp, sometimes right after a watchdog warning
// that has no newline; each event's message spans several lines.
func TestErrorExcerpt(t *testing.T) {
	dir := t.TempDir()
	s := &sippRun{&harness.Sipp{Prefix: filepath.Join(dir, "x")}}
	text := "The following events occurred:\n" +
		"2026-11-26\t01:12:16.939895\t1795655536.939895: Overload warning: the minor watchdog timer 500ms has been tripped (660), 119 trips remaining." +
		"2026-11-26\t01:12:17.565515\t1795655537.565515: Aborting call on unexpected message for Call-Id '47-16063@127.0.0.1': while expecting '412' (index 7), received 'SIP/2.0 200 OK\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:58695;branch=z9hG4bK-16063-47-4\n\n'" +
		"2026-11-26\t01:12:17.566081\t1795655537.566081: Aborting call on unexpected message for Call-Id '48-16063@127.0.0.1': while expecting '412' (index 7), received 'SIP/2.0 200 OK\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:58695;branch=z9hG4bK-16063-48-4\n\n'"
	if err := os.WriteFile(s.File("err"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(s.errorExcerpt(3), "\n")
	want := "Aborting call on unexpected message for Call-Id '…': while expecting '412' (index 7), received 'SIP/2.0 200 OK' [x2]\n" +
		"SIPp's watchdog: SIPp itself was starved of CPU 1 times"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRatio(t *testing.T) {
	for _, c := range []struct {
		o, s val
		want string
	}{
		{num(200, "%.0f"), num(100, "%.0f"), "2.00"},
		{num(250, "%.0f"), val{v: 10, op: "<", ok: true}, "≥25.00"},
		{val{v: 6400, op: "≥", ok: true}, num(100, "%.0f"), "≥64.00"},
		{textVal("did not start"), num(1, "%.0f"), "—"},
	} {
		if got := ratio(c.o, c.s); got != c.want {
			t.Errorf("ratio(%v, %v) = %s, want %s", c.o, c.s, got, c.want)
		}
	}
}
