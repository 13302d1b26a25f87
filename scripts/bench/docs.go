package main

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

type machineInfo struct {
	date, nproc, cpu, kernel, load, kamailio, sipp, command string
}

func machine() machineInfo {
	run := func(name string, args ...string) string {
		out, _ := exec.Command(name, args...).CombinedOutput() // sipp -v exits 99
		if s := strings.TrimSpace(string(out)); s != "" {
			return s
		}
		return "?"
	}
	m := machineInfo{date: time.Now().Format("2006-01-02 15:04 MST"), nproc: run("nproc"), kernel: run("uname", "-r")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, v, _ := strings.Cut(l, ":")
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.load = strings.Join(f[:3], " ")
		}
	}
	m.kamailio = strings.TrimSpace(strings.TrimPrefix(firstLine(run("kamailio", "-v")), "version: "))
	m.sipp = strings.TrimSpace(firstLine(strings.TrimSpace(run("sipp", "-v"))))
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BENCH_") {
			env = append(env, kv)
		}
	}
	sort.Strings(env)
	cmd := "scripts/bench/run"
	if os.Getenv("MAKELEVEL") != "" {
		cmd = "make bench"
	}
	m.command = strings.TrimSpace(strings.Join(env, " ") + " " + cmd)
	return m
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func (m machineInfo) oneLine() string {
	return fmt.Sprintf("%s; nproc %s; %s; kernel %s; load average %s", m.date, m.nproc, m.cpu, m.kernel, m.load)
}

// ratio is ours/stock, with the direction of a bound carried over.
func ratio(o, s val) string {
	if !o.ok || !s.ok || s.v == 0 {
		return "—"
	}
	up := o.op == "≥" || s.op == "<"
	down := o.op == "<" || s.op == "≥"
	r := fmt.Sprintf("%.2f", o.v/s.v)
	switch {
	case up && down:
		return "?"
	case up:
		return "≥" + r
	case down:
		return "≤" + r
	}
	return r
}

func (b *bench) table() string {
	var sb strings.Builder
	sb.WriteString("| measurement | stock | ours | ours/stock |\n|---|---:|---:|---:|\n")
	for _, r := range b.rows {
		cell := func(t string) string {
			if v, ok := r.cells[t]; ok {
				return v.txt
			}
			return "—"
		}
		rt := ratio(r.cells["ours"], r.cells["stock"])
		if r.noRatio {
			rt = "—"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s |\n", r.metric, cell("stock"), cell("ours"), rt)
	}
	return strings.TrimRight(sb.String(), "\n")
}

// Markers around the part of docs/performance.md that a run rewrites: the latest run's
// machine, table, notes and micro-benchmarks. Everything else there is hand-written prose.
const (
	beginMarker = "<!-- bench:begin -->"
	endMarker   = "<!-- bench:end -->"
)

// writeDoc reads the document at path, replaces its generated part with this run's, and writes
// the result to out (path itself unless BENCH_OUT says otherwise).
func writeDoc(path, out string, m machineInfo, table string, total time.Duration) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	updated, err := replaceBetweenMarkers(string(doc), latestRun(m, table, total))
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return os.WriteFile(out, []byte(updated), 0o644)
}

// replaceBetweenMarkers returns doc with the lines between the begin and the end marker lines
// replaced by generated; the markers and everything around them are kept byte for byte.
func replaceBetweenMarkers(doc, generated string) (string, error) {
	if n := strings.Count(doc, beginMarker); n != 1 {
		return "", fmt.Errorf("want exactly one %s line, found %d", beginMarker, n)
	}
	if n := strings.Count(doc, endMarker); n != 1 {
		return "", fmt.Errorf("want exactly one %s line, found %d", endMarker, n)
	}
	begin := strings.Index(doc, beginMarker) + len(beginMarker)
	nl := strings.IndexByte(doc[begin:], '\n')
	end := strings.Index(doc, endMarker)
	if nl < 0 || begin+nl >= end {
		return "", fmt.Errorf("%s must be on a line of its own before %s", beginMarker, endMarker)
	}
	if !strings.HasSuffix(generated, "\n") {
		generated += "\n"
	}
	return doc[:begin+nl+1] + generated + doc[end:], nil
}

// latestRun is the generated part: what ran where, the table, the notes, the micro-benchmarks.
func latestRun(m machineInfo, table string, total time.Duration) string {
	var sb strings.Builder
	kind := "full run"
	if conf.quick {
		kind = "QUICK run (BENCH_QUICK=1: 5 s steps, smaller counts; numbers are indicative only)"
	}
	fmt.Fprintf(&sb, "## Latest run — %s\n\n", kind)
	fmt.Fprintf(&sb, "- command: `%s` (from the repository root)\n", m.command)
	fmt.Fprintf(&sb, "- date: %s; took %v (%s)\n", m.date, total, strings.Join(b.sections, ", "))
	fmt.Fprintf(&sb, "- machine: `nproc` %s; CPU %s; kernel %s; load average at start %s\n", m.nproc, m.cpu, m.kernel, m.load)
	fmt.Fprintf(&sb, "- software: %s; %s; stock DB journal mode %s\n", m.kamailio, m.sipp, map[bool]string{true: "WAL", false: "delete (SQLite default)"}[conf.stockWAL])
	if oursBuild != "" {
		fmt.Fprintf(&sb, "- ours: %s (copied at the start, so the whole run uses one build)\n", oursBuild)
	}
	if conf.nice != 0 {
		fmt.Fprintf(&sb, "- Kamailio and SIPp ran under `nice -n %d` (BENCH_NICE) because other work shared the machine\n", conf.nice)
	}
	sb.WriteString("- ratio: ours/stock; for rates higher is better, for times, CPU and memory lower is better. " +
		"`≥`/`<` mark bounds: the highest step tried still passed, or the lowest one failed. `(!)`: that run had failed calls (see the notes).\n\n")
	sb.WriteString(table + "\n\n")
	if len(b.notes) > 0 {
		sb.WriteString("### Notes of this run (failures, Kamailio log lines verbatim)\n\n```text\n")
		for _, n := range b.notes {
			sb.WriteString("- " + strings.ReplaceAll(n, "\n", "\n    ") + "\n")
		}
		sb.WriteString("```\n\n")
	}
	if len(goBenchLines) > 0 {
		fmt.Fprintf(&sb, "Engine micro-benchmarks (`%s`):\n\n```text\n%s\n```\n\n", goBenchCmd, strings.Join(goBenchLines, "\n"))
	}
	return sb.String()
}
