package gopresence

import (
	"strings"
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
	"github.com/gopresence/gopresence/gopresence/xmlsafe"
)

// Request limits at their edge: the longest value accepted, and one byte more refused.

// pidfOfSize is a valid PIDF document of exactly n bytes.
func pidfOfSize(n int) string {
	head := `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@ex.com"><tuple id="t1"><status><basic>open</basic></status><note>`
	tail := `</note></tuple></presence>`
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func TestPublishBodyOfMaxBytes(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	if r := do(t, e, wire.TPublish, publish("", "60", pidfOfSize(xmlsafe.MaxBytes))); r.code != 200 {
		t.Fatalf("a body of %d bytes: %d %s", xmlsafe.MaxBytes, r.code, r.reason)
	}
	if r := do(t, e, wire.TPublish, publish("", "60", pidfOfSize(xmlsafe.MaxBytes+1))); r.code != 413 {
		t.Fatalf("a body of %d bytes: %d %s", xmlsafe.MaxBytes+1, r.code, r.reason)
	}
}

// The sender URI parameter of handle_publish is stored in a 255-byte column with room for
// stock's terminator: 254 bytes are the most it takes.
func TestPublishSenderOf254Bytes(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	for _, c := range []struct {
		n    int
		code int
	}{{254, 200}, {255, 400}} {
		m := publish("", "60", pidf1)
		m[wire.ScriptParam] = "sip:" + strings.Repeat("s", c.n-11) + "@ex.com"
		if r := do(t, e, wire.TPublish, m); r.code != c.code {
			t.Errorf("sender of %d bytes: %d %s, want %d", c.n, r.code, r.reason, c.code)
		}
	}
}

// to_tag_pref takes a token of up to 32 characters, and every To tag starts with it.
func TestToTagPrefOf32Characters(t *testing.T) {
	pref := strings.Repeat("p", 32)
	e, _ := newTestEngine(t, "", "to_tag_pref="+pref)
	if err := e.cfg.check(); err != nil {
		t.Fatalf("to_tag_pref of 32 characters: %v", err)
	}
	if r := do(t, e, wire.TSubscribe, subscribe("c1", "", "60", 1)); r.toTag[:32] != pref || len(r.toTag) != 32+16 {
		t.Fatalf("To tag %q", r.toTag)
	}
	cfg, _ := ParseConfig("db_url=sqlite:///x.db\nto_tag_pref=" + pref + "p\n")
	if err := cfg.check(); err == nil {
		t.Fatal("to_tag_pref of 33 characters accepted")
	}
}
