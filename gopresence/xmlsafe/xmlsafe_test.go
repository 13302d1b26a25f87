package xmlsafe

import (
	"strings"
	"testing"
)

func TestCheckAgreesWithParse(t *testing.T) {
	good := []string{`<a/>`, `<?xml version="1.0"?><a x="1"><b>t</b></a>`, "<a>\n</a>\n"}
	bad := []string{``, `<a>`, `<a></b>`, `<a/><b/>`, `text<a/>`, `<!DOCTYPE a><a/>`,
		strings.Repeat("<a>", 70) + strings.Repeat("</a>", 70), `<a x="1" x="2"/>`}
	for _, s := range good {
		if _, err := Check([]byte(s)); err != nil {
			t.Errorf("Check(%q): %v", s, err)
		}
		if _, err := Parse([]byte(s)); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	for _, s := range bad {
		if _, err := Check([]byte(s)); err == nil {
			t.Errorf("Check accepted %.40q", s)
		}
	}
}

// FuzzCheck: what Check accepts, the tree parser accepts too (NOTIFY bodies are built with it).
func FuzzCheck(f *testing.F) {
	f.Add([]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="a"/></presence>`))
	f.Add([]byte(`<a><b/></a>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Check(b); err != nil {
			return
		}
		if _, err := Parse(b); err != nil {
			t.Fatalf("Check accepts, Parse refuses %q: %v", b, err)
		}
	})
}
