package safego

import (
	"strings"
	"sync"
	"testing"
)

type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) log(level, msg string) {
	l.mu.Lock()
	l.got = append(l.got, "["+level+"] "+msg)
	l.mu.Unlock()
}

// A panic in Do is logged at CRIT with its name and stack; Do reports it and returns.
func TestDoRecoversAndLogs(t *testing.T) {
	l := &lines{}
	if Do(l.log, "test loop", func() { panic("boom") }) {
		t.Fatal("Do reported a panicking fn as ok")
	}
	if !Do(l.log, "test loop", func() {}) {
		t.Fatal("Do reported a normal fn as failed")
	}
	if len(l.got) != 1 || !strings.HasPrefix(l.got[0], "[crit] BUG: panic in test loop: boom") ||
		!strings.Contains(l.got[0], "safego_test.go") {
		t.Fatalf("log %q", l.got)
	}
}

// A panic in a goroutine started by Go is logged and the process goes on.
func TestGoRecoversAndLogs(t *testing.T) {
	l := &lines{}
	done := make(chan struct{})
	Go(func(level, msg string) { l.log(level, msg); close(done) }, "worker", func() {
		var m map[string]int
		m["x"] = 1 // a runtime panic, not only panic(...)
	})
	<-done
	if len(l.got) != 1 || !strings.Contains(l.got[0], "panic in worker: assignment to entry in nil map") {
		t.Fatalf("log %q", l.got)
	}
}
