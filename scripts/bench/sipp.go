package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// sippRun is one SIPp process (tests/harness) and what the bench reads from its files.
type sippRun struct{ *harness.Sipp }

// startSipp starts SIPp against k with the scenario o.Scenario of scripts/bench/scenarios (by
// name), in its own process group (its CPU is never counted as Kamailio's: only k's group is).
// It always writes its statistics; o.Name prefixes its files (default: the scenario's name).
func startSipp(k *kamailio, o harness.SippOptions) (*sippRun, error) {
	if o.Name == "" {
		o.Name = o.Scenario
	}
	o.Name = "sipp-" + o.Name
	o.Scenario = filepath.Join(conf.scenDir, o.Scenario+".xml")
	o.Server, o.Dir, o.Stats, o.Messages, o.Nice = k.Port, k.Dir, true, conf.sippTrace, conf.nice
	// publish_cycle and subscribe_cycle send to port_a and port_b in turn
	o.Keys = append(o.Keys, "port_a", fmt.Sprint(k.Port), "port_b", fmt.Sprint(k.portB()))
	if o.Limit == 0 {
		o.Limit = o.Calls
	}
	if o.BuffSize == 0 {
		// SIPp's default socket buffer is 64 KiB: bursts would overflow it and SIPp, not
		// Kamailio, would lose the replies (the kernel caps it at net.core.rmem_max)
		o.BuffSize = 4 << 20
	}
	s, err := harness.StartSipp(o)
	if err != nil {
		return nil, err
	}
	return &sippRun{s}, nil
}

func (s *sippRun) elapsed() time.Duration { return s.Ended.Sub(s.Started) }

// sippStats is the last line of SIPp's statistics file (cumulative counters).
type sippStats struct {
	created, success, failed, unexpected, outOfCall, retrans, timeouts int
	ok                                                                 bool
}

func (s *sippRun) stats() sippStats {
	f, err := os.Open(s.File("csv"))
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
	b, err := os.ReadFile(s.File("err"))
	if err != nil {
		return nil
	}
	text := string(b)
	watchdog := strings.Count(text, "watchdog timer")
	var ks kinds
	for _, ev := range sippEventStart.Split(text, -1)[1:] {
		line, _, _ := strings.Cut(ev, "\n")
		if strings.HasPrefix(line, "Overload warning") {
			continue
		}
		line = callIDRe.ReplaceAllString(strings.TrimSpace(line), "$1…")
		line = uriNumberRe.ReplaceAllString(line, "$1…@")
		shown := line
		if strings.Count(line, "'")%2 == 1 { // the quoted message goes on on the next lines
			shown += "'"
		}
		ks.add(line, shown)
	}
	out := ks.top(max, " ", "… and %d other kinds of events")
	if watchdog > 0 {
		out = append(out, fmt.Sprintf("SIPp's watchdog: SIPp itself was starved of CPU %d times", watchdog))
	}
	return out
}

// countLog counts the <log> lines that start with prefix.
func (s *sippRun) countLog(prefix string) int {
	n := 0
	for _, l := range s.LogLines() {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			n++
		}
	}
	return n
}

// logTimes parses "<prefix> <epoch s> <us>" lines into Unix times.
func (s *sippRun) logTimes(prefix string) []time.Time {
	var out []time.Time
	for _, l := range s.LogLines() {
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
