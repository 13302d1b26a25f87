package wire

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// cFrames are the frames module/test/wire_test.c encodes into testdata/c (the C test checks it
// still writes them byte for byte); here the Go decoder reads them field by field.
var cFrames = map[string]Frame{
	"publish.bin": {Type: TPublish, ID: 0x01020304, Fields: []Field{
		{RURI, []byte("sip:alice@example.com")},
		{FromURI, []byte("sip:alice@example.com")},
		{FromTag, []byte("ft")},
		{CallID, []byte("call-1@host")},
		{CSeq, []byte("4294967295")},
		{Event, []byte("presence")},
		{Expires, []byte{}},
		{ContentType, []byte("application/pidf+xml")},
		{Body, []byte("<p/>\x00\x01\xff\x00\n")},
		{ContentLength, []byte("1")},
		{ContactCount, []byte("0")},
		{ScriptParam, []byte{}},
		{Deadline, []byte("1764680000123")},
	}},
	"notify_result.bin": {Type: TNotifyResult, ID: 0xfffffffe, Fields: []Field{
		{NCallID, []byte("c1")},
		{NLocalTag, []byte("lt")},
		{NRemoteTag, []byte("rt")},
		{NCSeq, []byte("2")},
		{ReplyCode, []byte("408")},
	}},
	"rpc.bin": {Type: TRPC, ID: 5, Fields: []Field{
		{RPCCommand, []byte("refreshWatchers")},
		{RPCArg, []byte("sip:alice@example.com")},
		{RPCArg, []byte{}},
		{RPCArg, []byte("1")},
	}},
	"answer.bin": {Type: TAnswer, ID: 0, Fields: []Field{
		{Code, []byte("200")},
		{Reason, []byte("OK")},
		{NotifyBegin, []byte{}},
		{NCallID, []byte("c1")},
		{NCSeq, []byte("1")},
		{NBody, []byte("<p/>\x00\x01\xff\x00\n")},
		{NotifyBegin, []byte{}},
		{NCallID, []byte("c2")},
		{NBody, []byte{}},
		{Tag(255), []byte("?")},
		{NotifyBegin, []byte{}},
		{NCallID, []byte("c3")},
		{NHeaders, []byte("Event: presence\r\nSubscription-State: active\r\n")},
	}},
}

func TestCFrames(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "c", "*.bin"))
	if len(files) != len(cFrames) {
		t.Errorf("testdata/c holds %d frames, the test knows %d", len(files), len(cFrames))
	}
	for name, want := range cFrames {
		b, err := os.ReadFile(filepath.Join("testdata", "c", name))
		if err != nil {
			t.Fatalf("%s: %v (make test-c with WIRE_UPDATE=1 writes it)", name, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Type != want.Type || got.ID != want.ID || len(got.Fields) != len(want.Fields) {
			t.Fatalf("%s: type %d id %#x %d fields, want type %d id %#x %d fields", name,
				got.Type, got.ID, len(got.Fields), want.Type, want.ID, len(want.Fields))
		}
		for i, fl := range got.Fields {
			// an empty field decodes to an empty, not a nil, value
			if fl.Tag != want.Fields[i].Tag || fl.Value == nil || !reflect.DeepEqual(fl.Value, want.Fields[i].Value) {
				t.Errorf("%s: field %d is %d %q, want %d %q", name, i, fl.Tag, fl.Value,
					want.Fields[i].Tag, want.Fields[i].Value)
			}
		}
		// and the Go encoder writes the same bytes
		enc := NewBuilder(want.Type, want.ID)
		for _, fl := range want.Fields {
			enc.Add(fl.Tag, fl.Value)
		}
		if !reflect.DeepEqual(enc.Bytes(), b) {
			t.Errorf("%s: the Go encoder writes other bytes than the C one", name)
		}
	}
}
