//go:build integration

package integration

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// sippTimeout bounds one sipp process from the outside; sipp's own -timeout is 20 s.
const sippTimeout = 30 * time.Second

// sipp is one running sipp process: one call of one scenario from scenarios/.
type sipp struct {
	*harness.Sipp
	name string // scenario name plus a unique suffix: the prefix of its files in k's directory
}

// runSipp runs a scenario to its end and fails the test unless sipp exits 0. It returns the
// name=value pairs the scenario wrote with <log message="name=value"/>.
func (k *kamailio) runSipp(t *testing.T, scenario string, keys ...string) map[string]string {
	t.Helper()
	return k.startSipp(t, scenario, keys...).wait(t)
}

// startSipp starts a scenario in the background; keys are -key name/value pairs ([name] in XML).
func (k *kamailio) startSipp(t *testing.T, scenario string, keys ...string) *sipp {
	t.Helper()
	return k.startSippWith(t, sippOptions{}, scenario, keys...)
}

// sippOptions are the sipp command-line choices a test may change.
type sippOptions struct {
	autoAnswer bool          // -aa: unexpected NOTIFYs are answered 200 instead of aborting the call
	tcp        bool          // -t t1: one TCP connection to Kamailio instead of UDP
	port       int           // local port; 0 picks a free one (a test reuses one to keep a dialog's Contact)
	callID     string        // the call's Call-ID ([call_id], -cid_str); sipp maps answers to calls by it
	calls      int           // -m: calls in all (0: 1)
	rate       float64       // calls per second (0: sipp's default)
	timeout    time.Duration // sipp's own bound (0: 20 s)
}

// runSippWith is runSipp with options.
func (k *kamailio) runSippWith(t *testing.T, o sippOptions, scenario string, keys ...string) map[string]string {
	t.Helper()
	return k.startSippWith(t, o, scenario, keys...).wait(t)
}

// startSippWith is startSipp with options.
func (k *kamailio) startSippWith(t *testing.T, o sippOptions, scenario string, keys ...string) *sipp {
	t.Helper()
	if len(keys)%2 != 0 {
		t.Fatalf("sipp %s: odd number of key arguments", scenario)
	}
	xml, err := filepath.Abs(filepath.Join("scenarios", scenario+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	hs, err := harness.StartSipp(harness.SippOptions{Scenario: xml, Server: k.Port, Dir: k.Dir, Name: scenario,
		Port: o.port, Timeout: cmp.Or(o.timeout, 20*time.Second), Keys: withDefaults(scenario, keys), CallID: o.callID,
		Calls: o.calls, Rate: o.rate,
		TCP: o.tcp, AutoAnswer: o.autoAnswer, Logs: true, Messages: true})
	if err != nil {
		t.Fatalf("start sipp %s: %v", scenario, err)
	}
	s := &sipp{Sipp: hs, name: filepath.Base(hs.Prefix)}
	t.Cleanup(s.Kill)
	return s
}

// wait waits for sipp to exit (bounded by sippTimeout) and checks its exit code.
func (s *sipp) wait(t *testing.T) map[string]string {
	t.Helper()
	s.Wait(sippTimeout)
	if s.Err != nil {
		t.Fatalf("sipp %s failed: %v\n%s", s.name, s.Err, s.report())
	}
	return s.Vars()
}

// waitVar polls the scenario's log until it has logged name, or the scenario ended.
func (s *sipp) waitVar(t *testing.T, name string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case <-s.Exited:
			if v, ok := s.Vars()[name]; ok {
				return v
			}
			t.Fatalf("sipp %s ended (%v) before logging %s\n%s", s.name, s.Err, name, s.report())
		case <-deadline:
			t.Fatalf("sipp %s did not log %s within %v\n%s", s.name, name, within, s.report())
		case <-time.After(50 * time.Millisecond):
			if v, ok := s.Vars()[name]; ok {
				return v
			}
		}
	}
}

// report is what a failure shows: sipp's error file and the messages it exchanged.
func (s *sipp) report() string {
	var b strings.Builder
	for _, kind := range []string{"err", "msg"} {
		data, _ := os.ReadFile(s.File(kind))
		fmt.Fprintf(&b, "----- sipp %s (%s) -----\n%s\n", kind, s.File(kind), data)
	}
	return b.String()
}

// sipMessage is one message of sipp's -trace_msg file, as sent or received.
type sipMessage struct {
	received  bool
	transport string // "UDP" or "TCP"
	text      string // line ends as "\n"
}

// traceSeparator starts every entry of sipp's message trace.
const traceSeparator = "-----------------------------------------------"

// messages parses the messages sipp exchanged so far.
func (s *sipp) messages() []sipMessage {
	data, _ := os.ReadFile(s.File("msg"))
	var out []sipMessage
	for _, entry := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), traceSeparator) {
		// "<timestamp>\nUDP message received [221] bytes :\n\n<message>" or "... sent (N bytes):"
		_, rest, ok := strings.Cut(entry, "\n")
		if !ok {
			continue
		}
		what, msg, ok := strings.Cut(rest, "\n")
		if !ok {
			continue
		}
		transport, kind, _ := strings.Cut(what, " message ")
		if !strings.HasPrefix(kind, "sent") && !strings.HasPrefix(kind, "received") {
			continue
		}
		out = append(out, sipMessage{received: strings.HasPrefix(kind, "received"), transport: transport,
			text: strings.TrimLeft(msg, "\n")})
	}
	return out
}

// responses returns the final responses sipp received.
func (s *sipp) responses() []sipMessage {
	var out []sipMessage
	for _, m := range s.messages() {
		if m.received && m.status() >= 200 {
			out = append(out, m)
		}
	}
	return out
}

// requests returns the requests of method that sipp received, retransmissions left out.
func (s *sipp) requests(method string) []sipMessage {
	var out []sipMessage
	seen := map[string]bool{}
	for _, m := range s.messages() {
		if m.received && m.method() == method {
			id := m.header("Call-ID") + " " + m.header("CSeq") + " " + m.header("Via")
			if !seen[id] {
				seen[id] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// response returns the only final response sipp received, failing the test otherwise.
func (s *sipp) response(t *testing.T) sipMessage {
	t.Helper()
	r := s.responses()
	if len(r) != 1 {
		t.Fatalf("sipp %s: want exactly one final response, got %d\n%s", s.name, len(r), s.report())
	}
	return r[0]
}

func (m sipMessage) startLine() string {
	line, _, _ := strings.Cut(m.text, "\n")
	return strings.TrimSpace(line)
}

// status returns the code of a response, 0 for a request.
func (m sipMessage) status() int {
	rest, ok := strings.CutPrefix(m.startLine(), "SIP/2.0 ")
	if !ok {
		return 0
	}
	code, _ := strconv.Atoi(strings.SplitN(rest, " ", 2)[0])
	return code
}

// method returns the method of a request, "" for a response.
func (m sipMessage) method() string {
	if m.status() != 0 {
		return ""
	}
	method, _, _ := strings.Cut(m.startLine(), " ")
	return method
}

// headers returns every value of the header name (case-insensitive), trimmed.
func (m sipMessage) headers(name string) []string {
	head, _, _ := strings.Cut(m.text, "\n\n")
	var out []string
	for _, line := range strings.Split(head, "\n")[1:] {
		if n, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(n), name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

// header returns the first value of the header name, "" when absent.
func (m sipMessage) header(name string) string {
	if v := m.headers(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// body returns the body, without the blank lines sipp's trace puts after each message.
func (m sipMessage) body() string {
	_, body, _ := strings.Cut(m.text, "\n\n")
	return strings.TrimRight(body, "\n")
}

// cseq returns the number of the CSeq header.
func (m sipMessage) cseq() int {
	n, _ := strconv.Atoi(strings.Fields(m.header("CSeq") + " 0")[0])
	return n
}

// tag returns the tag parameter of a From or To value.
func tag(nameAddr string) string {
	_, after, ok := strings.Cut(nameAddr, ";tag=")
	if !ok {
		return ""
	}
	return strings.FieldsFunc(after, func(r rune) bool { return r == ';' || r == '>' || r == ' ' })[0]
}
