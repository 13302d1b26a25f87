package gopresence

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopresence/gopresence/gopresence/wire"
	"github.com/gopresence/gopresence/gopresence/xmlsafe"
)

// serveOnSocket serves e (nil: still loading) on a new unix socket until the test ends.
func serveOnSocket(t *testing.T, e *Engine, log Logger) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "e.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(e, ln, log)
	go srv.Serve()
	t.Cleanup(srv.Close)
	return srv, path
}

func dial(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitNoConnections waits until the server has closed every worker connection.
func waitNoConnections(t *testing.T, srv *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		srv.mu.Lock()
		open := len(srv.conns)
		srv.mu.Unlock()
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connection(s) still served", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An answer larger than the socket buffer goes out in several write(2)s: it arrives whole, and
// the next answer on the same connection starts right after it.
func TestLargeAnswerOverTheSocket(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	body := pidfOfSize(xmlsafe.MaxBytes)
	if r := do(t, e, wire.TPublish, publish("", "600", body)); r.code != 200 {
		t.Fatalf("publish %d", r.code)
	}
	_, path := serveOnSocket(t, e, nil)
	c := dial(t, path)
	defer c.Close()
	list := wire.NewBuilder(wire.TRPC, 1).AddStr(wire.RPCCommand, "presentity_list").AddStr(wire.RPCArg, "full").Bytes()
	for i := 0; i < 2; i++ {
		if _, err := c.Write(list); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // let the engine fill the socket buffer first
		f, err := wire.Read(c)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if rows := rpcRows(f); f.Str(wire.Code) != "200" || len(rows) != 1 || rows[0]["body"] != body {
			t.Fatalf("answer %d: code %s, %d rows", i, f.Str(wire.Code), len(rows))
		}
	}
}

// A worker that goes away in the middle of a large answer: the write fails and the engine
// closes its side of the connection instead of retrying forever.
func TestWorkerGoneMidAnswer(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	if r := do(t, e, wire.TPublish, publish("", "600", pidfOfSize(xmlsafe.MaxBytes))); r.code != 200 {
		t.Fatalf("publish %d", r.code)
	}
	srv, path := serveOnSocket(t, e, nil)
	c := dial(t, path)
	list := wire.NewBuilder(wire.TRPC, 1).AddStr(wire.RPCCommand, "presentity_list").AddStr(wire.RPCArg, "full").Bytes()
	if _, err := c.Write(list); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the engine is blocked on a full socket buffer
	c.Close()
	waitNoConnections(t, srv)
}

// A worker closing its connection is routine; a frame the engine cannot read is an error,
// logged, and the connection is closed.
func TestServerLogsOnlyBrokenConnections(t *testing.T) {
	logs := &captureLog{}
	srv, path := serveOnSocket(t, nil, logs)
	dial(t, path).Close()
	time.Sleep(50 * time.Millisecond)
	waitNoConnections(t, srv)
	c := dial(t, path)
	defer c.Close()
	bad := wire.NewBuilder(wire.TPublish, 1).Bytes()
	bad[4] = wire.Version + 1
	if _, err := c.Write(bad); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "[err] worker connection: "+wire.ErrVersion.Error()+" (closing it)")
	waitNoConnections(t, srv)
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.lines) != 1 {
		t.Fatalf("log: %q, want the one line for the bad frame", logs.lines)
	}
}
