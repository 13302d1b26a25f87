package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Every process the bench starts is the leader of its own process group; the registry holds
// those groups so that the end of the run (normal, error or signal) kills every one of them.
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

// killAllGroups sends SIGKILL to every process group still registered, one by one, by id.
func killAllGroups() {
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

// procStat is what the bench reads from /proc/<pid>/stat.
type procStat struct {
	pid, pgrp    int
	comm         string
	utime, stime int64 // clock ticks, all threads of the process
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return procStat{}, false
	}
	// fields after "comm)": 3 state, 4 ppid, 5 pgrp, ..., 14 utime, 15 stime
	f := strings.Fields(s[close+1:])
	if len(f) < 13 {
		return procStat{}, false
	}
	pgrp, _ := strconv.Atoi(f[2])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return procStat{pid: pid, pgrp: pgrp, comm: s[open+1 : close], utime: ut, stime: st}, true
}

// groupPids lists the processes whose process group is pgid.
func groupPids(pgid int) []procStat {
	ents, _ := os.ReadDir("/proc")
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.pgrp == pgid {
			out = append(out, st)
		}
	}
	return out
}

// groupCPU is the CPU time (user+system, seconds) of every live process of the group.
func groupCPU(pgid int) (float64, int) {
	var ticks int64
	ps := groupPids(pgid)
	for _, p := range ps {
		ticks += p.utime + p.stime
	}
	return float64(ticks) / clockTick, len(ps)
}

// memInfo is resident memory of a process group, in KiB.
type memInfo struct {
	rssSum, rssMax, pssSum int64
	procs                  int
	engineRSS              int64 // VmRSS of the process that maps libgopresence.so (ours), else 0
}

func groupMem(pgid int) memInfo {
	var m memInfo
	for _, p := range groupPids(pgid) {
		rss := statusField(p.pid, "VmRSS:")
		m.rssSum += rss
		if rss > m.rssMax {
			m.rssMax = rss
		}
		m.pssSum += smapsField(p.pid, "Pss:")
		m.procs++
		if maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", p.pid)); err == nil &&
			strings.Contains(string(maps), "libgopresence") {
			m.engineRSS = rss
		}
	}
	return m
}

func statusField(pid int, name string) int64 {
	return kbField(fmt.Sprintf("/proc/%d/status", pid), name)
}

func smapsField(pid int, name string) int64 {
	return kbField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), name)
}

func kbField(path, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name) {
			f := strings.Fields(line[len(name):])
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// waitExit waits for a channel closed at process exit, at most d.
func waitExit(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// niceCommand is exec.Command, run through nice(1) when BENCH_NICE is set: Kamailio and SIPp
// then run at that priority (e.g. -10), so that other work on a shared machine disturbs the
// measurement less. The same for both targets.
func niceCommand(name string, args ...string) *exec.Cmd {
	if conf.nice == 0 {
		return exec.Command(name, args...)
	}
	return exec.Command("nice", append([]string{"-n", strconv.Itoa(conf.nice), name}, args...)...)
}

// socketDrops is the number of datagrams the kernel dropped for the UDP socket bound to
// 127.0.0.1:port because its receive buffer was full (/proc/net/udp "drops"), -1 if not found.
func socketDrops(port int) int64 {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return -1
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 13 && f[1] == want {
			v, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			return v
		}
	}
	return -1
}
