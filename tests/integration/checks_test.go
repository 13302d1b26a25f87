//go:build integration

package integration

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pidf is a one-line PIDF document of sip:alice@127.0.0.1 (one line, so it fits a sipp key).
func pidf(note string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" ` +
		`entity="sip:alice@127.0.0.1"><tuple id="t1"><status><basic>open</basic></status>` +
		`<note>` + note + `</note></tuple></presence>`
}

// defaultKeys are the keys of the "any answer" scenarios a test does not set.
var defaultKeys = map[string][]string{
	"publish_any":               {"event", "presence", "expires", "60", "ctype", "application/pidf+xml", "body", pidf("any")},
	"publish_no_content_length": {"event", "presence", "expires", "60", "ctype", "application/pidf+xml", "body", pidf("any")},
	"subscribe_any":             {"event", "presence", "expires", "60"},
	"dialog_publish":            {"expires", "120"},
	"dialog_refresh":            {"expires", "300", "target", "sip:alice@127.0.0.1"},
	"watch_notifies":            {"expires", "120", "count", "1"},
	"message_call":              {"fn", "", "a1", "", "a2", "", "a3", "", "a4", "", "a5", ""},
}

// withDefaults returns keys after the scenario's default keys that keys does not set.
func withDefaults(scenario string, keys []string) []string {
	set := map[string]bool{}
	for i := 0; i < len(keys); i += 2 {
		set[keys[i]] = true
	}
	out := append([]string(nil), keys...)
	d := defaultKeys[scenario]
	for i := 0; i < len(d); i += 2 {
		if !set[d[i]] {
			out = append(out, d[i], d[i+1])
		}
	}
	return out
}

// answer runs one of the scenarios that take any final answer and returns that answer; the
// sipp is returned too, for the NOTIFY that follows a 2xx.
func (k *kamailio) answer(t *testing.T, scenario string, keys ...string) (sipMessage, *sipp) {
	t.Helper()
	return k.answerWith(t, sippOptions{}, scenario, keys...)
}

func (k *kamailio) answerWith(t *testing.T, o sippOptions, scenario string, keys ...string) (sipMessage, *sipp) {
	t.Helper()
	s := k.startSippWith(t, o, scenario, keys...)
	s.wait(t)
	r := s.responses()
	if len(r) == 0 {
		t.Fatalf("sipp %s: no final response\n%s", s.name, s.report())
	}
	for _, extra := range r[1:] {
		// Stock 5.6.3 answers a PUBLISH twice when its body check or its "Invalid request"
		// already replied: handle_publish then still calls send_error_reply(500), and sl sends
		// that too. sipp sees the second answer only if it comes before sipp exits.
		if k.Target == "stock" && extra.status() == 500 && r[0].method() == "" &&
			strings.HasSuffix(r[0].header("CSeq"), "PUBLISH") {
			continue
		}
		t.Errorf("sipp %s: more than one final response:\n%s", s.name, extra.text)
	}
	return r[0], s
}

// wantStatus checks a response's status line, reason phrase included.
func wantStatus(t *testing.T, m sipMessage, want string) {
	t.Helper()
	if got := strings.TrimPrefix(m.startLine(), "SIP/2.0 "); got != want {
		t.Errorf("got %q, want %q\n%s", got, want, m.text)
	}
}

// wantHeader checks the only value of a header.
func wantHeader(t *testing.T, m sipMessage, name, want string) {
	t.Helper()
	got := m.headers(name)
	if len(got) != 1 || got[0] != want {
		t.Errorf("%s: got %q, want [%q]\n%s", name, got, want, m.text)
	}
}

// wantNote checks the <note> of a PIDF body.
func wantNote(t *testing.T, m sipMessage, note string) {
	t.Helper()
	if !strings.Contains(m.body(), "<note>"+note+"</note>") {
		t.Errorf("body has no <note>%s</note>:\n%s", note, m.text)
	}
}

// notifies returns the NOTIFYs sipp received, failing the test unless there are n.
func (s *sipp) notifies(t *testing.T, n int) []sipMessage {
	t.Helper()
	got := s.requests("NOTIFY")
	if len(got) != n {
		t.Fatalf("sipp %s: got %d NOTIFYs, want %d\n%s", s.name, len(got), n, s.report())
	}
	return got
}

// waitCount waits until the scenario has logged name with a value of at least n (a sipp
// counter, logged as a double), and returns when it saw it.
func (s *sipp) waitCount(t *testing.T, name string, n int, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if v, ok := s.Vars()[name]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= float64(n) {
				return time.Now()
			}
		}
		select {
		case <-s.Exited:
			if v, ok := s.Vars()[name]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= float64(n) {
					return time.Now()
				}
			}
			t.Fatalf("sipp %s ended (%v) before logging %s>=%d\n%s", s.name, s.Err, name, n, s.report())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sipp %s did not log %s>=%d within %v\n%s", s.name, name, n, within, s.report())
		}
	}
}

// tcpConnections lists the established TCP sockets on loopback with a local or remote port in
// ports ("local->remote" in /proc/net/tcp's hex), both ends of a connection included.
func tcpConnections(t *testing.T, ports ...int) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "01" { // 01: ESTABLISHED
			continue
		}
		for _, p := range ports {
			suffix := fmt.Sprintf(":%04X", p)
			// a socket listed twice is one socket: /proc/net/tcp is read in pages, and a
			// table changing between two reads repeats entries (seen under load); an
			// established 4-tuple exists once, a second connection has another port
			if c := f[1] + "->" + f[2]; (strings.HasSuffix(f[1], suffix) || strings.HasSuffix(f[2], suffix)) && !slices.Contains(out, c) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// settleStockWrites gives stock's worker that sent the last NOTIFY time to finish the DB write
// it makes after sending (write-through local_cseq, even when the row has just gone): a PUBLISH
// handled meanwhile by another worker fails its own write with "database is locked" (stock
// db_sqlite sets no busy timeout) and gets 500. Seen on a loaded machine.
func settleStockWrites() { time.Sleep(500 * time.Millisecond) }

// uniqueID is a Call-ID or tag no other test uses.
func uniqueID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}
