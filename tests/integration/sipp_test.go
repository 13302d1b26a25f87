//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sippTimeout bounds one sipp process from the outside; sipp's own -timeout is 20 s.
const sippTimeout = 30 * time.Second

// sipp is one running sipp process: one call of one scenario from scenarios/.
type sipp struct {
	name   string // scenario name plus a unique suffix: the prefix of its files in dir
	dir    string
	cmd    *exec.Cmd
	stop   context.CancelFunc
	exited chan struct{} // closed when sipp has been reaped; err is then set
	err    error
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
	if len(keys)%2 != 0 {
		t.Fatalf("sipp %s: odd number of key arguments", scenario)
	}
	xml, err := filepath.Abs(filepath.Join("scenarios", scenario+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := &sipp{name: fmt.Sprintf("%s-%d", scenario, time.Now().UnixNano()), dir: k.dir, exited: make(chan struct{})}
	args := []string{
		fmt.Sprintf("127.0.0.1:%d", k.port), "-sf", xml, "-m", "1",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		// No default behaviours except aborting on an unexpected message, so a wrong reply
		// fails the call at once instead of after the receive timeout.
		"-default_behaviors", "abortunexp",
		"-timeout", "20s", "-timeout_error", "-recv_timeout", "5000",
		"-trace_logs", "-log_file", s.file("log"),
		"-trace_err", "-error_file", s.file("err"),
		"-trace_msg", "-message_file", s.file("msg"),
	}
	for i := 0; i < len(keys); i += 2 {
		args = append(args, "-key", keys[i], keys[i+1])
	}
	var ctx context.Context
	ctx, s.stop = context.WithTimeout(context.Background(), sippTimeout)
	s.cmd = exec.CommandContext(ctx, "sipp", args...)
	s.cmd.Dir = k.dir
	s.cmd.WaitDelay = 2 * time.Second
	out, err := os.Create(s.file("out"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start sipp %s: %v", scenario, err)
	}
	go func() { s.err = s.cmd.Wait(); out.Close(); close(s.exited) }()
	t.Cleanup(func() { s.stop(); <-s.exited })
	return s
}

func (s *sipp) file(kind string) string { return filepath.Join(s.dir, s.name+"."+kind) }

// wait waits for sipp to exit (bounded by sippTimeout) and checks its exit code.
func (s *sipp) wait(t *testing.T) map[string]string {
	t.Helper()
	<-s.exited
	if s.err != nil {
		t.Fatalf("sipp %s failed: %v\n%s", s.name, s.err, s.report())
	}
	return s.vars()
}

// vars parses the name=value lines of the scenario's log so far.
func (s *sipp) vars() map[string]string {
	vars := map[string]string{}
	f, err := os.Open(s.file("log"))
	if err != nil {
		return vars
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			vars[name] = value
		}
	}
	return vars
}

// waitVar polls the scenario's log until it has logged name, or the scenario ended.
func (s *sipp) waitVar(t *testing.T, name string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case <-s.exited:
			if v, ok := s.vars()[name]; ok {
				return v
			}
			t.Fatalf("sipp %s ended (%v) before logging %s\n%s", s.name, s.err, name, s.report())
		case <-deadline:
			t.Fatalf("sipp %s did not log %s within %v\n%s", s.name, name, within, s.report())
		case <-time.After(50 * time.Millisecond):
			if v, ok := s.vars()[name]; ok {
				return v
			}
		}
	}
}

// report is what a failure shows: sipp's error file and the messages it exchanged.
func (s *sipp) report() string {
	var b strings.Builder
	for _, kind := range []string{"err", "msg"} {
		data, _ := os.ReadFile(s.file(kind))
		fmt.Fprintf(&b, "----- sipp %s (%s) -----\n%s\n", kind, s.file(kind), data)
	}
	return b.String()
}
