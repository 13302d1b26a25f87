package gopresence

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// Server serves worker connections on the engine's unix socket: each connection carries one
// request at a time (a Kamailio worker is single-threaded), so one goroutine per connection.
type Server struct {
	e     *Engine
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// NewServer wraps a listener.
func NewServer(e *Engine, ln net.Listener) *Server {
	return &Server{e: e, ln: ln, conns: map[net.Conn]struct{}{}}
}

// Serve accepts until Close.
func (s *Server) Serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.e.logf("err", "accept: %v", err)
			continue
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer func() {
		if r := recover(); r != nil {
			s.e.logf("crit", "BUG: panic on a worker connection: %v", r)
		}
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	for {
		f, err := wire.Read(r)
		if err != nil {
			if err != io.EOF && !errors.Is(err, net.ErrClosed) {
				s.e.logf("err", "worker connection: %v (closing it)", err)
			}
			return
		}
		if out := s.e.Handle(f); out != nil {
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
