package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sippOpts is one SIPp run: scenario from scripts/bench/scenarios, calls, rate, bounds.
type sippOpts struct {
	scenario string
	calls    int     // -m
	rate     float64 // calls/s (-r with -rp 1000)
	limit    int     // -l: simultaneous calls
	timeout  time.Duration
	recvMs   int // -recv_timeout
	keys     map[string]string
	inf      string // injection file
	port     int    // 0: a free one
	logs     bool   // -trace_logs (the scenario's <log> lines)
	buffSize int
	tag      string // file name prefix
}

type sippRun struct {
	o      sippOpts
	dir    string
	prefix string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	start  time.Time
	end    time.Time
}

// startSipp starts SIPp against k in its own process group (its CPU is never counted as
// Kamailio's: only k's process group is).
func startSipp(k *kamailio, o sippOpts) (*sippRun, error) {
	s := &sippRun{o: o, dir: k.dir, exited: make(chan struct{})}
	s.prefix = filepath.Join(k.dir, fmt.Sprintf("sipp-%s-%d", o.tag, time.Now().UnixNano()))
	s.port = o.port
	if s.port == 0 {
		p, err := freeUDPPort()
		if err != nil {
			return nil, err
		}
		s.port = p
	}
	if o.recvMs == 0 {
		o.recvMs = 5000
	}
	if o.limit == 0 {
		o.limit = o.calls
	}
	args := []string{fmt.Sprintf("127.0.0.1:%d", k.port),
		"-sf", filepath.Join(conf.scenDir, o.scenario+".xml"),
		"-i", "127.0.0.1", "-p", strconv.Itoa(s.port),
		"-m", strconv.Itoa(o.calls), "-l", strconv.Itoa(o.limit),
		"-r", strconv.FormatFloat(o.rate*1000, 'f', 0, 64), "-rp", "1000000", // calls per 1000 s
		"-nostdin", "-default_behaviors", "abortunexp",
		"-timeout", fmt.Sprintf("%ds", int(o.timeout.Seconds())), "-timeout_error",
		"-recv_timeout", strconv.Itoa(o.recvMs),
		"-trace_stat", "-stf", s.prefix + ".csv", "-fd", "1",
		"-trace_err", "-error_file", s.prefix + ".err",
	}
	if conf.sippTrace {
		args = append(args, "-trace_msg", "-message_file", s.prefix+".msg")
	}
	if o.logs {
		args = append(args, "-trace_logs", "-log_file", s.prefix+".log")
	}
	if o.inf != "" {
		args = append(args, "-inf", o.inf)
	}
	if o.buffSize == 0 {
		// SIPp's default socket buffer is 64 KiB: bursts would overflow it and SIPp, not
		// Kamailio, would lose the replies (the kernel caps it at net.core.rmem_max)
		o.buffSize = 4 << 20
	}
	args = append(args, "-buff_size", strconv.Itoa(o.buffSize))
	for name, v := range o.keys {
		args = append(args, "-key", name, v)
	}
	s.cmd = niceCommand("sipp", args...)
	s.cmd.Dir = k.dir
	out, err := os.Create(s.prefix + ".out")
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.start = time.Now()
	if err := s.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("cannot run sipp: %v", err)
	}
	trackGroup(s.cmd.Process.Pid, "sipp "+o.scenario)
	go func() {
		s.err = s.cmd.Wait()
		s.end = time.Now()
		out.Close()
		close(s.exited)
	}()
	return s, nil
}

// wait waits for SIPp's exit, killing its group after bound (SIPp's own -timeout should
// end it first).
func (s *sippRun) wait(bound time.Duration) {
	if !waitExit(s.exited, bound) {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		waitExit(s.exited, 10*time.Second)
	}
	untrackGroup(s.cmd.Process.Pid)
}

func (s *sippRun) kill() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.wait(10 * time.Second)
}

func (s *sippRun) elapsed() time.Duration { return s.end.Sub(s.start) }

func (s *sippRun) exitCode() int {
	if s.cmd.ProcessState == nil {
		return -1
	}
	return s.cmd.ProcessState.ExitCode()
}

// sippStats is the last line of SIPp's statistics file (cumulative counters).
type sippStats struct {
	created, success, failed, unexpected, outOfCall, retrans, timeouts int
	ok                                                                 bool
}

func (s *sippRun) stats() sippStats {
	f, err := os.Open(s.prefix + ".csv")
	if err != nil {
		return sippStats{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header, last []string
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ";")
		if header == nil {
			header = fields
			continue
		}
		if len(fields) >= len(header)-1 {
			last = fields
		}
	}
	if header == nil || last == nil {
		return sippStats{}
	}
	get := func(name string) int {
		for i, h := range header {
			if h == name && i < len(last) {
				v, _ := strconv.Atoi(strings.TrimSpace(last[i]))
				return v
			}
		}
		return 0
	}
	return sippStats{created: get("TotalCallCreated"), success: get("SuccessfulCall(C)"),
		failed: get("FailedCall(C)"), unexpected: get("FailedUnexpectedMessage(C)"),
		outOfCall: get("OutOfCallMsgs(C)"), retrans: get("Retransmissions(C)"),
		timeouts: get("FailedCallTimeout(C)") + get("FailedMaxUDPRetrans(C)") + get("FailedTimeoutOnRecv(C)"), ok: true}
}

var (
	sippEventStart = regexp.MustCompile(`\d{4}-\d{2}-\d{2}\t\d{2}:\d{2}:\d{2}\.\d+\t\d+\.\d+: `)
	callIDRe       = regexp.MustCompile(`(Call-Id '|Call-Id: |Dead call )[^' ,]+`)
	uriNumberRe    = regexp.MustCompile(`(sip:[a-z]+)[0-9]+@`)
)

// errorExcerpt summarizes SIPp's error file: the first line of each distinct event (Call-IDs
// elided) with its count, and how often SIPp's own watchdog found it starved of CPU.
func (s *sippRun) errorExcerpt(max int) []string {
	b, err := os.ReadFile(s.prefix + ".err")
	if err != nil {
		return nil
	}
	text := string(b)
	watchdog := strings.Count(text, "watchdog timer")
	counts := map[string]int{}
	var order []string
	for _, ev := range sippEventStart.Split(text, -1)[1:] {
		line, _, _ := strings.Cut(ev, "\n")
		if strings.HasPrefix(line, "Overload warning") {
			continue
		}
		line = callIDRe.ReplaceAllString(strings.TrimSpace(line), "$1…")
		line = uriNumberRe.ReplaceAllString(line, "$1…@")
		if counts[line] == 0 {
			order = append(order, line)
		}
		counts[line]++
	}
	var out []string
	for i, l := range order {
		if i == max {
			out = append(out, fmt.Sprintf("… and %d other kinds of events", len(order)-max))
			break
		}
		if strings.Count(l, "'")%2 == 1 { // the quoted message goes on on the next lines
			l += "'"
		}
		out = append(out, fmt.Sprintf("%s [x%d]", l, counts[order[i]]))
	}
	if watchdog > 0 {
		out = append(out, fmt.Sprintf("SIPp's watchdog: SIPp itself was starved of CPU %d times", watchdog))
	}
	return out
}

// logLines returns the scenario's <log> lines.
func (s *sippRun) logLines() []string {
	b, err := os.ReadFile(s.prefix + ".log")
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// countLog counts the <log> lines that start with prefix.
func (s *sippRun) countLog(prefix string) int {
	n := 0
	for _, l := range s.logLines() {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			n++
		}
	}
	return n
}

// logTimes parses "<prefix> <epoch s> <us>" lines into Unix times.
func (s *sippRun) logTimes(prefix string) []time.Time {
	var out []time.Time
	for _, l := range s.logLines() {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == prefix {
			sec, err1 := strconv.ParseFloat(f[1], 64)
			us, err2 := strconv.ParseFloat(f[2], 64)
			if err1 == nil && err2 == nil {
				out = append(out, time.Unix(int64(sec), int64(us)*1000))
			}
		}
	}
	return out
}

// logValue returns the value of the first "name=value" <log> line.
func (s *sippRun) logValue(name string) string {
	for _, l := range s.logLines() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+"="); ok {
			return v
		}
	}
	return ""
}
