//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var stockHasNoEngine = map[string]string{"stock": "stock has no engine process"}

// kamailioTree lists the main process and every descendant.
func (k *kamailio) kamailioTree(t *testing.T) []int {
	t.Helper()
	main := k.PGID()
	parent := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut after the last ')'
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for pid := range parent {
		for p := pid; p > 1; p = parent[p] {
			if p == main {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func mapsGo(pid int) bool {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	return strings.Contains(string(b), "libgopresence.so")
}

// enginePid is the one process that loaded Go (it loads it just after the fork: wait for it).
func (k *kamailio) enginePid(t *testing.T) int {
	t.Helper()
	var with []int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		with = with[:0]
		for _, pid := range k.kamailioTree(t) {
			if mapsGo(pid) {
				with = append(with, pid)
			}
		}
		if len(with) == 1 || time.Now().After(deadline) {
			break
		}
	}
	if len(with) != 1 {
		t.Fatalf("%d processes map libgopresence.so (%v), want exactly 1", len(with), with)
	}
	return with[0]
}

// The design's hard rule: Go is never loaded in the main process (children forked after that
// hang), and exactly one child — the engine — loads it.
func TestProcessModel(t *testing.T) {
	eachTargetWith(t, options{skip: stockHasNoEngine}, func(t *testing.T, k *kamailio) {
		// a request first, so every worker has done real work
		k.answer(t, "publish_any", "event", "presence", "expires", "60", "ctype", "application/pidf+xml", "body", pidf("p"))
		main := k.PGID()
		if mapsGo(main) {
			t.Fatal("the main process maps libgopresence.so")
		}
		engine := k.enginePid(t)
		if engine == main {
			t.Fatal("the engine is the main process")
		}
		tree := k.kamailioTree(t)
		if len(tree) < 4 {
			t.Fatalf("only %d Kamailio processes", len(tree))
		}
	})
}

// A stalled engine costs a 500 within engine_timeout, never a hung worker; when it resumes,
// requests are served again.
func TestEngineStalled(t *testing.T) {
	o := options{
		skip: stockHasNoEngine,
		// below SIPp's first retransmission (500 ms): a retransmitted PUBLISH would be a new
		// request, with a new deadline, that the resumed engine rightly applies
		presence: map[string]any{"engine_timeout": 300},
		// one worker: the one that timed out serves the next request too, on a fresh connection
		// (the late answer on the old one must not be taken for the next request's)
		children: 1,
		expectedLog: []expectedLog{
			{"ours", `ERROR: presence \[client\.c:\d+\]: engine_call\(\): no answer from the presence engine within 300 ms$`, "engine stopped"},
			{"ours", `ERROR: presence \[request\.c:\d+\]: engine_handle_request\(\): PUBLISH: presence engine unavailable: replying 500$`, "engine stopped"},
		},
	}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		engine := k.enginePid(t)
		if err := syscall.Kill(engine, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		stopped := true
		defer func() {
			if stopped {
				syscall.Kill(engine, syscall.SIGCONT)
			}
		}()
		start := time.Now()
		r, _ := k.answer(t, "publish_any", "event", "presence", "expires", "60", "ctype", "application/pidf+xml", "body", pidf("stalled"))
		wantStatus(t, r, "500 Server Internal Error")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("500 took %v with engine_timeout 300 ms", d)
		}
		// The stalled PUBLISH got its 500: it must change no state (the engine drops a request
		// past the deadline the worker set). 300 ms more, so that deadline is well past.
		time.Sleep(300 * time.Millisecond)
		syscall.Kill(engine, syscall.SIGCONT)
		stopped = false
		r, _ = k.answer(t, "publish_any", "event", "presence", "expires", "60", "ctype", "application/pidf+xml", "body", pidf("resumed"))
		wantStatus(t, r, "200 OK")
		// publications are written in order: once the resumed one is there, so would the other be
		k.waitQuery(t, "SELECT count(*) FROM presentity WHERE instr(CAST(body AS TEXT), '<note>resumed</note>') > 0", "1", dbWait)
		if n := k.sqlite(t, "SELECT count(*) FROM presentity"); n != "1" {
			t.Errorf("%s publications stored, want only the resumed one: the one answered 500 changed state", n)
		}
	})
}
