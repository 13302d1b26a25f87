package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// golden frames: written by this test (with -update) and decoded/re-encoded by module/test/wire_test.c.
func goldenFrames() map[string][]byte {
	return map[string][]byte{
		"publish.bin": NewBuilder(TPublish, 7).
			AddStr(RURI, "sip:alice@example.com").
			AddStr(Event, "presence").
			AddStr(Expires, "3600").
			AddStr(ContentType, "application/pidf+xml").
			AddStr(Body, "<presence/>").
			AddStr(ContentLength, "1").Bytes(),
		"answer.bin": NewBuilder(TAnswer, 7).
			AddStr(Code, "200").AddStr(Reason, "OK").
			AddStr(Headers, "Expires: 3600\r\nSIP-ETag: a.1.2.3.0\r\n").
			Add(NotifyBegin, nil).
			AddStr(NCallID, "c1").AddStr(NLocalTag, "lt").AddStr(NRemoteTag, "rt").
			AddStr(NCSeq, "1").AddStr(NHeaders, "Event: presence\r\n").AddStr(NBody, "<x/>").
			Add(NotifyBegin, nil).
			AddStr(NCallID, "c2").AddStr(NCSeq, "9").Bytes(),
		"subscribe_answer.bin": NewBuilder(TAnswer, 8).
			AddStr(Code, "202").AddStr(Reason, "Accepted").
			AddStr(Headers, "Expires: 60\r\n").AddStr(ToTagOut, "10.7f3a").
			Add(NotifyBegin, nil).
			AddStr(NCallID, "c1").AddStr(NLocalTag, "10.7f3a").AddStr(NRemoteTag, "ft").
			AddStr(NLocalURI, "sip:alice@example.com").AddStr(NRemoteURI, "sip:bob@example.com").
			AddStr(NTarget, "sip:bob@192.0.2.1:5060").AddStr(NRouteSet, "<sip:p1;lr>,<sip:p2;lr>").
			AddStr(NSocket, "udp:127.0.0.1:5060").AddStr(NCSeq, "1").
			AddStr(NHeaders, "Event: presence\r\n").Add(NBody, []byte{}).AddStr(NEvent, "presence").
			AddStr(NDst, "sip:192.0.2.1:5070;transport=tcp").Bytes(),
		"reject.bin": NewBuilder(TAnswer, 9).
			AddStr(Code, "489").AddStr(Reason, "Bad Event").
			AddStr(Headers, "Allow-Events: presence\r\n").AddStr(Error, "unknown event nosuch").Bytes(),
		"rpc_answer.bin": NewBuilder(TAnswer, 3).
			AddStr(Code, "200").AddStr(Reason, "OK").
			Add(RPCRow, nil).AddStr(RPCStr, "pres_uri=sip:alice@example.com").AddStr(RPCInt, "expires=60").
			Add(RPCRow, nil).AddStr(RPCStr, "etag=a=b").AddStr(RPCStr, "no equals sign").AddStr(RPCStr, "body=").
			Add(NotifyBegin, nil).AddStr(NCallID, "c3").AddStr(NCSeq, "2").Bytes(),
		"empty.bin": NewBuilder(TNotifyResult, 0).Bytes(),
	}
}

func TestGolden(t *testing.T) {
	for name, want := range goldenFrames() {
		path := filepath.Join("testdata", name)
		if os.Getenv("WIRE_UPDATE") == "1" {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with WIRE_UPDATE=1 to create)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: encoder output differs from golden file", name)
		}
		f, err := Decode(got)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// re-encode from the decoded fields: must be byte-identical
		b := NewBuilder(f.Type, f.ID)
		for _, fl := range f.Fields {
			b.Add(fl.Tag, fl.Value)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("%s: decode/encode round trip differs", name)
		}
	}
}

func TestDecodeFields(t *testing.T) {
	f, err := Decode(goldenFrames()["answer.bin"])
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != TAnswer || f.ID != 7 || f.Str(Code) != "200" || f.Str(Reason) != "OK" {
		t.Fatalf("bad frame %+v", f)
	}
	n := 0
	for _, fl := range f.Fields {
		if fl.Tag == NotifyBegin {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("want 2 notifies, got %d", n)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := goldenFrames()["publish.bin"]
	cases := map[string][]byte{
		"short":     good[:5],
		"truncated": good[:len(good)-1],
		"version":   append([]byte{good[0], good[1], good[2], good[3], 9}, good[5:]...),
		"overrun": func() []byte {
			b := append([]byte(nil), good...)
			b[HeaderLen+1] = 0xff // first field's length
			return b
		}(),
	}
	for name, b := range cases {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRead(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(goldenFrames()["publish.bin"])
	buf.Write(goldenFrames()["empty.bin"])
	f1, err := Read(&buf)
	if err != nil || f1.Str(Event) != "presence" {
		t.Fatalf("read 1: %v %+v", err, f1)
	}
	f2, err := Read(&buf)
	if err != nil || f2.Type != TNotifyResult {
		t.Fatalf("read 2: %v", err)
	}
}
