package harness

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SippOptions is one SIPp run against one Kamailio.
type SippOptions struct {
	Scenario string // the scenario's XML file
	Server   int    // Kamailio's port on 127.0.0.1
	Dir      string // where SIPp runs and writes its files
	Name     string // the prefix of its files in Dir; a unique suffix is added

	Port  int     // local port ([local_port], its Contact's); 0 picks a free one
	Calls int     // -m; 0: 1
	Limit int     // -l, calls at once; 0: SIPp's default
	Rate  float64 // calls/s; 0: SIPp's default

	Timeout     time.Duration // SIPp's own -timeout (a timeout is an error); 0: 20 s
	RecvTimeout time.Duration // -recv_timeout; 0: 5 s

	Keys       []string // -key name value pairs ([name] in the XML)
	Inf        string   // an injection file (-inf)
	CallID     string   // the call's Call-ID (-cid_str): SIPp maps answers to calls by it
	TCP        bool     // -t t1: one TCP connection to Kamailio instead of UDP
	AutoAnswer bool     // -aa: NOTIFYs the scenario does not expect are answered 200
	BuffSize   int      // -buff_size; 0: SIPp's default

	// What SIPp writes besides its error file (.err) and output (.out): the scenario's <log>
	// lines (.log), every message (.msg), its statistics (.csv).
	Logs, Messages, Stats bool

	Nice int // run under nice -n Nice when not 0
}

// Sipp is one SIPp process, leading its own process group (so that it is never counted as
// Kamailio's, and a kill reaches it).
type Sipp struct {
	Opts    SippOptions
	Prefix  string // its files are Prefix.err, .out, .log, .msg, .csv
	Port    int
	Exited  chan struct{} // closed when SIPp has been reaped; Err is then set
	Err     error
	Started time.Time
	Ended   time.Time
	pgid    int
}

// StartSipp starts SIPp in the background. Unexpected messages abort a call (no default
// behaviour else), so a wrong reply fails the call at once instead of after the receive timeout.
func StartSipp(o SippOptions) (*Sipp, error) {
	s := &Sipp{Opts: o, Port: o.Port, Exited: make(chan struct{}),
		Prefix: filepath.Join(o.Dir, fmt.Sprintf("%s-%d", o.Name, time.Now().UnixNano()))}
	if s.Port == 0 {
		p, err := FreePort(o.TCP)
		if err != nil {
			return nil, err
		}
		s.Port = p
	}
	if len(o.Keys)%2 != 0 {
		return nil, fmt.Errorf("sipp %s: odd number of key arguments", o.Name)
	}
	out, err := os.Create(s.File("out"))
	if err != nil {
		return nil, err
	}
	cmd := niceCommand(o.Nice, "sipp", s.args()...)
	cmd.Dir = o.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.Started = time.Now()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("cannot run sipp: %v", err)
	}
	s.pgid = cmd.Process.Pid
	trackGroup(s.pgid, "sipp "+o.Name)
	go func() {
		s.Err = cmd.Wait()
		s.Ended = time.Now()
		out.Close()
		untrackGroup(s.pgid)
		close(s.Exited)
	}()
	return s, nil
}

func (s *Sipp) args() []string {
	o := s.Opts
	calls, timeout, recv := max(o.Calls, 1), o.Timeout, o.RecvTimeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	if recv == 0 {
		recv = 5 * time.Second
	}
	args := []string{fmt.Sprintf("127.0.0.1:%d", o.Server), "-sf", o.Scenario,
		"-i", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-m", strconv.Itoa(calls), "-nostdin",
		"-default_behaviors", "abortunexp",
		"-timeout", fmt.Sprintf("%ds", int(timeout.Seconds())), "-timeout_error",
		"-recv_timeout", strconv.Itoa(int(recv.Milliseconds())),
		"-trace_err", "-error_file", s.File("err"),
	}
	if o.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(o.Limit))
	}
	if o.Rate > 0 {
		args = append(args, "-r", strconv.FormatFloat(o.Rate*1000, 'f', 0, 64), "-rp", "1000000") // calls per 1000 s
	}
	if o.Stats {
		args = append(args, "-trace_stat", "-stf", s.File("csv"), "-fd", "1")
	}
	if o.Logs {
		args = append(args, "-trace_logs", "-log_file", s.File("log"))
	}
	if o.Messages {
		args = append(args, "-trace_msg", "-message_file", s.File("msg"))
	}
	if o.TCP {
		args = append(args, "-t", "t1")
	}
	if o.AutoAnswer {
		args = append(args, "-aa")
	}
	if o.CallID != "" {
		args = append(args, "-cid_str", strings.ReplaceAll(o.CallID, "%", "%%"))
	}
	if o.Inf != "" {
		args = append(args, "-inf", o.Inf)
	}
	if o.BuffSize > 0 {
		args = append(args, "-buff_size", strconv.Itoa(o.BuffSize))
	}
	for i := 0; i < len(o.Keys); i += 2 {
		args = append(args, "-key", o.Keys[i], o.Keys[i+1])
	}
	return args
}

// File is the path of one of SIPp's files: "err", "out", "log", "msg" or "csv".
func (s *Sipp) File(kind string) string { return s.Prefix + "." + kind }

// Wait waits for SIPp to exit, killing its group after bound (SIPp's own -timeout should end
// it first); it reports whether SIPp exited by itself.
func (s *Sipp) Wait(bound time.Duration) bool {
	if waitClosed(s.Exited, bound) {
		return true
	}
	s.Kill()
	return false
}

// Kill ends SIPp's process group and waits for its exit.
func (s *Sipp) Kill() {
	select {
	case <-s.Exited:
		return // its pgid may belong to another process by now
	default:
	}
	syscall.Kill(-s.pgid, syscall.SIGKILL)
	waitClosed(s.Exited, 10*time.Second)
}

// ExitCode is SIPp's exit status, -1 while it runs or when it was killed.
func (s *Sipp) ExitCode() int {
	select {
	case <-s.Exited:
	default:
		return -1
	}
	if s.Err == nil {
		return 0
	}
	if e, ok := s.Err.(interface{ ExitCode() int }); ok {
		return e.ExitCode()
	}
	return -1
}

// LogLines returns the scenario's <log> lines so far (with Logs).
func (s *Sipp) LogLines() []string {
	f, err := os.Open(s.File("log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// Vars returns the name=value pairs of the scenario's <log message="name=value"/> lines so far;
// a name logged twice has its last value.
func (s *Sipp) Vars() map[string]string {
	vars := map[string]string{}
	for _, l := range s.LogLines() {
		if name, value, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			vars[name] = value
		}
	}
	return vars
}
