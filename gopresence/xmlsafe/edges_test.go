package xmlsafe

import (
	"strings"
	"testing"
)

// Both parsers at the edge of each limit: the largest body and the deepest nesting allowed
// are accepted, one byte or one level more is refused.

// nested is a document n elements deep.
func nested(n int) []byte {
	return []byte(strings.Repeat("<a>", n) + strings.Repeat("</a>", n))
}

// ofSize is a well-formed document of exactly n bytes.
func ofSize(n int) []byte {
	return []byte("<a>" + strings.Repeat("x", n-7) + "</a>")
}

func TestLimitsAtTheEdge(t *testing.T) {
	parsers := map[string]func([]byte) error{
		"Check": func(b []byte) error { _, err := Check(b); return err },
		"Parse": func(b []byte) error { _, err := Parse(b); return err },
	}
	for name, parse := range parsers {
		if err := parse(nested(MaxDepth)); err != nil {
			t.Errorf("%s: %d levels refused: %v", name, MaxDepth, err)
		}
		if err := parse(nested(MaxDepth + 1)); err == nil {
			t.Errorf("%s: %d levels accepted", name, MaxDepth+1)
		}
		if err := parse(ofSize(MaxBytes)); err != nil {
			t.Errorf("%s: %d bytes refused: %v", name, MaxBytes, err)
		}
		if err := parse(ofSize(MaxBytes + 1)); err == nil {
			t.Errorf("%s: %d bytes accepted", name, MaxBytes+1)
		}
	}
}

// Distinct attributes are fine, wherever the repeated one is.
func TestRepeatedAttribute(t *testing.T) {
	if _, err := Check([]byte(`<a x="1" y="2" z="3"/>`)); err != nil {
		t.Errorf("three distinct attributes: %v", err)
	}
	for _, s := range []string{`<a x="1" y="2" x="3"/>`, `<a w="0" x="1" y="2" y="3"/>`} {
		if _, err := Check([]byte(s)); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}
