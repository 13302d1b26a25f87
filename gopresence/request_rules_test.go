package gopresence

import (
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// Request decoding rules whose breakage no other test would see.

// A deadline of 0 (or none) means the worker waits as long as it takes.
func TestDeadlineZeroIsNoDeadline(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	for _, dl := range []string{"0", "", "-5", "soon"} {
		m := publish("", "60", pidf1)
		m[wire.Deadline] = dl
		if r := do(t, e, wire.TPublish, m); r.code != 200 {
			t.Errorf("deadline %q: %d %s", dl, r.code, r.reason)
		}
	}
}

// An Event header of spaces is no Event header (489, as stock), not a malformed one (400).
func TestBlankEventIs489(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	m := publish("", "60", pidf1)
	m[wire.Event] = "  "
	if r := do(t, e, wire.TPublish, m); r.code != 489 || r.headers["Allow-Events"] != "presence" {
		t.Fatalf("%d, Allow-Events %q", r.code, r.headers["Allow-Events"])
	}
}

// The media type is compared without case and without its parameters; a 415 names the one
// accepted.
func TestContentTypeMatch(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	for ct, code := range map[string]int{
		"Application/PIDF+XML; charset=UTF-8": 200,
		" application/pidf+xml ":              200,
		"application/pidf+xml2":               415,
		"application/xml":                     415,
	} {
		m := publish("", "60", pidf1)
		m[wire.ContentType] = ct
		r := do(t, e, wire.TPublish, m)
		if r.code != code {
			t.Errorf("Content-Type %q: %d", ct, r.code)
		}
		if code == 415 && r.headers["Accept"] != "application/pidf+xml" {
			t.Errorf("Content-Type %q: Accept %q", ct, r.headers["Accept"])
		}
	}
}

// A rejection tells the worker why (it logs the Error field); an acceptance carries none.
func TestAnswerErrorField(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	answer := func(m map[wire.Tag]string) *wire.Frame {
		f, err := wire.Decode(e.Handle(frameOfF(wire.TPublish, m)))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	bad := publish("", "60", "")
	if f := answer(bad); f.Str(wire.Code) != "400" || f.Str(wire.Error) != "publish: initial PUBLISH without body" {
		t.Fatalf("400: Error %q", f.Str(wire.Error))
	}
	if f := answer(publish("", "60", pidf1)); f.Str(wire.Code) != "200" || f.Has(wire.Error) {
		t.Fatalf("200: Error %q", f.Str(wire.Error))
	}
}
