package gopresence

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/gopresence/gopresence/gopresence/wire"
	"github.com/gopresence/gopresence/internal/safego"
)

// Server serves worker connections on the engine's unix socket: each connection carries one
// request at a time (a Kamailio worker is single-threaded), so one goroutine per connection.
// Until the engine has restored its state, requests are answered 503 with Retry-After
// (RFC 3261 §21.5.4), not left to time out: with a large state the restore takes seconds.
type Server struct {
	engine atomic.Pointer[Engine] // nil while the engine is loading
	log    Logger
	ln     net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// NewServer wraps a listener; e may be nil until SetEngine.
func NewServer(e *Engine, ln net.Listener, log Logger) *Server {
	s := &Server{log: log, ln: ln, conns: map[net.Conn]struct{}{}}
	if e != nil {
		s.engine.Store(e)
	}
	return s
}

// SetEngine makes a loaded engine serve requests.
func (s *Server) SetEngine(e *Engine) { s.engine.Store(e) }

func (s *Server) logf(level, format string, args ...any) {
	s.logLine(level, fmt.Sprintf(format, args...))
}

// handle answers one frame: by the engine, or 503 while it loads.
func (s *Server) handle(f *wire.Frame) []byte {
	if e := s.engine.Load(); e != nil {
		return e.Handle(f)
	}
	if f.Type == wire.TNotifyResult {
		return nil
	}
	a := reply(503, "Service Unavailable", "presence engine still loading its state")
	a.header("Retry-After", "5")
	return a.encode(f.ID)
}

// Serve accepts until Close. A panic in the accept loop is logged and the loop starts again:
// without it no worker could reach the engine.
func (s *Server) Serve() {
	for !safego.Do(s.logLine, "socket accept loop", s.accept) {
	}
}

func (s *Server) logLine(level, msg string) {
	if s.log != nil {
		s.log.Log(level, msg)
	}
}

// accept serves connections until the listener is closed.
func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logf("err", "accept: %v", err)
			continue
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		// a panic on one connection closes it (the worker answers 500 and reconnects)
		safego.Go(s.logLine, "worker connection", func() { s.serveConn(c) })
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	var rd io.Reader = c
	var wr io.Writer = c
	if uc, ok := c.(*net.UnixConn); ok {
		if rc, err := uc.SyscallConn(); err == nil {
			rd, wr = rawReader{rc}, rawWriter{rc}
		}
	}
	r := bufio.NewReaderSize(rd, 64<<10)
	w := bufio.NewWriterSize(wr, 64<<10)
	for {
		f, err := wire.Read(r)
		if err != nil {
			if err != io.EOF && !errors.Is(err, net.ErrClosed) {
				s.logf("err", "worker connection: %v (closing it)", err)
			}
			return
		}
		if out := s.handle(f); out != nil {
			if _, err := w.Write(out); err != nil {
				return
			}
		}
		// flush unless another frame is already waiting (answers to pipelined frames go out
		// together); never leave an answer behind a blocking read
		if r.Buffered() == 0 && w.Buffered() > 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// Close stops accepting and closes every connection.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}
