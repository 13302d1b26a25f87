package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Every Kamailio and SIPp the harness starts leads its own process group; the registry holds
// the groups still running, so that a program ending early (the bench on an error or a
// signal) can kill every one of them with KillAll.
var groups = struct {
	sync.Mutex
	m map[int]string
}{m: map[int]string{}}

func trackGroup(pgid int, what string) {
	groups.Lock()
	groups.m[pgid] = what
	groups.Unlock()
}

func untrackGroup(pgid int) {
	groups.Lock()
	delete(groups.m, pgid)
	groups.Unlock()
}

// KillAll sends SIGKILL to every process group still registered, one by one, by id.
func KillAll() {
	groups.Lock()
	defer groups.Unlock()
	for pgid := range groups.m {
		syscall.Kill(-pgid, syscall.SIGKILL)
		delete(groups.m, pgid)
	}
}

// clockTick is USER_HZ, the unit of utime/stime in /proc/<pid>/stat.
var clockTick = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}()

// ProcStat is what /proc/<pid>/stat says of one process.
type ProcStat struct {
	Pid, Pgrp    int
	Comm         string
	Utime, Stime int64 // clock ticks, all threads of the process
}

func readStat(pid int) (ProcStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStat{}, false
	}
	s := string(b)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return ProcStat{}, false
	}
	// fields after "comm)": 3 state, 4 ppid, 5 pgrp, ..., 14 utime, 15 stime
	f := strings.Fields(s[close+1:])
	if len(f) < 13 {
		return ProcStat{}, false
	}
	pgrp, _ := strconv.Atoi(f[2])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ProcStat{Pid: pid, Pgrp: pgrp, Comm: s[open+1 : close], Utime: ut, Stime: st}, true
}

// GroupProcs lists the live processes whose process group is pgid.
func GroupProcs(pgid int) []ProcStat {
	ents, _ := os.ReadDir("/proc")
	var out []ProcStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.Pgrp == pgid {
			out = append(out, st)
		}
	}
	return out
}

// GroupCPU is the CPU time (user+system, seconds) of every live process of the group, and how
// many processes that is.
func GroupCPU(pgid int) (float64, int) {
	var ticks int64
	ps := GroupProcs(pgid)
	for _, p := range ps {
		ticks += p.Utime + p.Stime
	}
	return float64(ticks) / clockTick, len(ps)
}

// Mem is the resident memory of a process group, in KiB.
type Mem struct {
	RSSSum, RSSMax, PSSSum int64
	Procs                  int
	EngineRSS              int64 // VmRSS of the process that maps libgopresence.so (ours), else 0
}

// GroupMem reads VmRSS (/proc/<pid>/status) and PSS (smaps_rollup) of every process of the group.
func GroupMem(pgid int) Mem {
	var m Mem
	for _, p := range GroupProcs(pgid) {
		rss := kbField(fmt.Sprintf("/proc/%d/status", p.Pid), "VmRSS:")
		m.RSSSum += rss
		m.RSSMax = max(m.RSSMax, rss)
		m.PSSSum += kbField(fmt.Sprintf("/proc/%d/smaps_rollup", p.Pid), "Pss:")
		m.Procs++
		if MapsEngine(p.Pid) {
			m.EngineRSS = rss
		}
	}
	return m
}

// MapsEngine reports whether process pid has libgopresence.so (the Go runtime) mapped.
func MapsEngine(pid int) bool {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	return strings.Contains(string(b), "libgopresence.so")
}

func kbField(path, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// DumpSmaps copies /proc/<pid>/smaps of every process of the group into dir as
// <prefix>-<pid>.smaps (with the command line on the first line), for a breakdown of what a
// group's memory is by mapping (heap, shm, Go arenas) done after the run.
func DumpSmaps(pgid int, dir, prefix string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range GroupProcs(pgid) {
		smaps, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", p.Pid))
		if err != nil {
			continue // exited meanwhile
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.Pid))
		head := fmt.Sprintf("# pid %d engine=%v cpu=%.2fs %s\n", p.Pid, MapsEngine(p.Pid),
			float64(p.Utime+p.Stime)/clockTick, strings.ReplaceAll(string(cmd), "\x00", " "))
		name := fmt.Sprintf("%s/%s-%d.smaps", dir, prefix, p.Pid)
		if err := os.WriteFile(name, append([]byte(head), smaps...), 0o644); err != nil {
			return err
		}
	}
	return nil
}
