package gopresence

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// FuzzHandle feeds request frames built from arbitrary header values to one engine: it must
// never panic, always answer a decodable frame with a valid code, and never emit a header line
// that a value could have split (CRLF injection into replies or NOTIFYs).
func FuzzHandle(f *testing.F) {
	f.Add(true, "sip:alice@ex.com", "presence", "60", "", pidf1, "sip:bob@h", "c1", "", "1")
	f.Add(false, "sip:alice@ex.com", "presence;id=3", "0", "", "", "sip:bob@h:5070;transport=tcp", "c2", "", "2")
	f.Add(false, "sip:alice@ex.com", "presence", "3600", "", "", "<sip:x@y>", "c1", "10abc", "9")
	f.Add(true, "sip:alice@ex.com", "presence", "0", "a.1.2.3.4", "", "", "c3", "", "3")
	cfg, err := ParseConfig("db_url=" + memBackend.newURL(f) + "\nclean_period=0\ndb_update_period=0\n")
	if err != nil {
		f.Fatal(err)
	}
	e, err := New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(e.Close)
	f.Fuzz(func(t *testing.T, isPublish bool, ruri, event, expires, ifMatch, body, contact, callID, toTag, cseq string) {
		typ := wire.TSubscribe
		if isPublish {
			typ = wire.TPublish
		}
		b := wire.NewBuilder(typ, 42).AddStr(wire.RURI, ruri).AddStr(wire.Event, event).
			AddStr(wire.Expires, expires).AddStr(wire.Body, body).AddStr(wire.ContentLength, "1").
			AddStr(wire.Contact, contact).AddStr(wire.ContactCount, "1").AddStr(wire.CallID, callID).
			AddStr(wire.CSeq, cseq).AddStr(wire.FromURI, "sip:bob@ex.com").AddStr(wire.FromTag, "ft").
			AddStr(wire.ToURI, ruri).AddStr(wire.Socket, "udp:127.0.0.1:5060").
			AddStr(wire.Advertised, "udp:127.0.0.1:5060")
		if ifMatch != "" {
			b.AddStr(wire.IfMatch, ifMatch)
		}
		if toTag != "" {
			b.AddStr(wire.ToTag, toTag)
		}
		checkAnswer(t, e, b)
	})
}

// FuzzHandleModuleEvents: the same for the events C modules register (bind_presence): a
// module's presence with watcher authorization (the verdict and its reason come from C), its
// watcher info, and publications named by the caller (update_presentity).
func FuzzHandleModuleEvents(f *testing.F) {
	f.Add(0, "sip:alice@ex.com", "60", pidf1, "1", "", "", "c1", "")
	f.Add(1, "sip:alice@ex.com", "600", "", "2", "", "", "c2", "")
	f.Add(0, "sip:alice@ex.com", "0", "", "3", "rejected", "", "c3", "")
	f.Add(2, "sip:alice@ex.com", "60", pidf2, "", "", "call-1@pbx", "c4", "")
	cfg, err := ParseConfig("db_url=" + memBackend.newURL(f) + "\nclean_period=0\ndb_update_period=0\n" + authEvents)
	if err != nil {
		f.Fatal(err)
	}
	e, err := New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close(); forgetModuleEvents(cfg) })
	f.Fuzz(func(t *testing.T, kind int, ruri, expires, body, authStatus, authReason, setETag, callID, toTag string) {
		typ, event := wire.TSubscribe, "presence"
		switch kind % 3 {
		case 1:
			event = "presence.winfo"
		case 2:
			typ = wire.TPublish
		}
		b := wire.NewBuilder(typ, 42).AddStr(wire.RURI, ruri).AddStr(wire.Event, event).
			AddStr(wire.Expires, expires).AddStr(wire.Body, body).AddStr(wire.ContentLength, "1").
			AddStr(wire.Contact, "sip:bob@10.0.0.2").AddStr(wire.ContactCount, "1").AddStr(wire.CallID, callID).
			AddStr(wire.CSeq, "1").AddStr(wire.FromURI, "sip:bob@ex.com").AddStr(wire.FromTag, "ft").
			AddStr(wire.ToURI, ruri).AddStr(wire.Socket, "udp:127.0.0.1:5060").
			AddStr(wire.Advertised, "udp:127.0.0.1:5060")
		for tag, v := range map[wire.Tag]string{wire.AuthStatus: authStatus, wire.AuthReason: authReason,
			wire.SetETag: setETag, wire.ToTag: toTag} {
			if v != "" {
				b.AddStr(tag, v)
			}
		}
		checkAnswer(t, e, b)
	})
}

// checkAnswer hands the request to the engine: the answer must decode, with a valid code, and
// no value may have split a header line (CRLF injection into replies or NOTIFYs).
func checkAnswer(t *testing.T, e *Engine, b *wire.Builder) {
	in, err := wire.Decode(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	out, err := wire.Decode(e.Handle(in))
	if err != nil {
		t.Fatalf("answer does not decode: %v", err)
	}
	code, err := strconv.Atoi(out.Str(wire.Code))
	if err != nil || code < 200 || code > 699 || out.ID != 42 {
		t.Fatalf("bad answer code %q id %d", out.Str(wire.Code), out.ID)
	}
	checkHeaderBlock(t, out.Str(wire.Headers))
	for _, fl := range out.Fields {
		switch fl.Tag {
		case wire.NHeaders:
			checkHeaderBlock(t, string(fl.Value))
		case wire.NTarget, wire.NLocalURI, wire.NRemoteURI, wire.NCallID, wire.NLocalTag, wire.NRemoteTag, wire.ToTagOut:
			if strings.ContainsAny(string(fl.Value), "\r\n") {
				t.Fatalf("CR/LF in dialog field %d: %q", fl.Tag, fl.Value)
			}
		}
	}
}

// checkHeaderBlock: every line is "Name: value" and the block ends with CRLF.
func checkHeaderBlock(t *testing.T, h string) {
	if h == "" {
		return
	}
	if !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("header block without final CRLF: %q", h)
	}
	for _, line := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
		name, _, ok := strings.Cut(line, ": ")
		if !ok || name == "" || strings.ContainsAny(line, "\r\n") || strings.ContainsAny(name, " \t") {
			t.Fatalf("malformed header line %q", line)
		}
	}
}
