package gopresence

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/gopresence/gopresence/gopresence/wire"
	"github.com/gopresence/gopresence/internal/safego"
)

// The engine process: one Engine, its socket server, and a pipe to the process's C thread
// that carries log lines and NOTIFYs caused by time. Entry points for package cgo.

var (
	procMu     sync.Mutex
	procEngine *Engine
	procServer *Server
)

// ValidateText parses a module configuration and validates it (start-up check).
func ValidateText(text string) error {
	cfg, err := ParseConfig(text)
	if err != nil {
		return err
	}
	return Validate(cfg)
}

// pipeOut serialises frames to the C thread: one writer, so frames never interleave.
type pipeOut struct {
	f       *os.File
	ch      chan []byte
	dropped atomic.Int64
}

func newPipeOut(fd int) *pipeOut {
	p := &pipeOut{f: os.NewFile(uintptr(fd), "engine-pipe"), ch: make(chan []byte, 8192)}
	// The pipe is also how a panic gets logged, so its writer must outlive one: a panic
	// writing a frame loses that frame and the loop goes on with the next (its own report
	// among them).
	safego.Go(p.Log, "engine pipe writer", func() {
		for b := range p.ch {
			safego.Do(p.Log, "engine pipe writer", func() { p.f.Write(b) })
		}
	})
	return p
}

// Log never blocks a request: under a log flood lines are dropped and counted.
func (p *pipeOut) Log(level, msg string) {
	b := wire.NewBuilder(wire.TLog, 0).AddStr(wire.Level, level).AddStr(wire.Message, msg).Bytes()
	select {
	case p.ch <- b:
	default:
		p.dropped.Add(1)
	}
}

// notify blocks rather than lose a NOTIFY.
func (p *pipeOut) notify(b []byte) { p.ch <- b }

// StartProcess starts the engine in the engine process.
func StartProcess(text string, fd int) error {
	procMu.Lock()
	defer procMu.Unlock()
	out := newPipeOut(fd)
	fail := func(err error) error {
		out.Log("crit", err.Error())
		return err
	}
	if procEngine != nil {
		return fail(errors.New("engine already started"))
	}
	cfg, err := ParseConfig(text)
	if err != nil {
		return fail(err)
	}
	if cfg.SocketPath == "" {
		return fail(errors.New("no socket path"))
	}
	// Listen first: while a large state loads, workers get 503 + Retry-After, not a timeout.
	// A stale socket from a previous run would make Listen fail.
	os.Remove(cfg.SocketPath)
	os.MkdirAll(filepath.Dir(cfg.SocketPath), 0o755)
	ln, err := net.Listen("unix", cfg.SocketPath)
	if err != nil {
		return fail(err)
	}
	os.Chmod(cfg.SocketPath, 0o600)
	srv := NewServer(nil, ln, out)
	safego.Go(out.Log, "socket server", srv.Serve)
	e, err := New(cfg, out)
	if err != nil {
		srv.Close()
		return fail(err)
	}
	e.SetEngineNotifier(out.notify)
	srv.SetEngine(e)
	procEngine, procServer = e, srv
	e.StartTimers()
	// a panic ends GC pacing only (GOGC stays where it was): memory use, not correctness
	safego.Go(out.Log, "GC pacing", func() { gcPace(e.stop) })
	return nil
}

// StopProcess writes state back and closes the database.
func StopProcess() {
	procMu.Lock()
	defer procMu.Unlock()
	if procServer != nil {
		procServer.Close()
	}
	if procEngine != nil {
		procEngine.Close()
		os.Remove(procEngine.cfg.SocketPath)
	}
}
