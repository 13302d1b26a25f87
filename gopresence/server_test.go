package gopresence

import (
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// While the engine restores its state, the socket already answers: 503 + Retry-After.
func TestServerAnswers503WhileLoading(t *testing.T) {
	srv, path := serveOnSocket(t, nil, nil)
	c := dial(t, path)
	defer c.Close()
	ask := func() *wire.Frame {
		if _, err := c.Write(frameOf(wire.TPublish, publish("", "60", pidf1)).rawForTest()); err != nil {
			t.Fatal(err)
		}
		f, err := wire.Read(c)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := ask(); f.Str(wire.Code) != "503" || f.Str(wire.Headers) != "Retry-After: 5\r\n" {
		t.Fatalf("loading: %s %q", f.Str(wire.Code), f.Str(wire.Headers))
	}
	e, _ := newTestEngine(t, "", "")
	srv.SetEngine(e)
	if f := ask(); f.Str(wire.Code) != "200" {
		t.Fatalf("loaded: %s", f.Str(wire.Code))
	}
}
