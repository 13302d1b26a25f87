package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// The decoder at the edge of each limit: the largest frame allowed and one byte more, a field
// that ends exactly at the frame's end and one that overruns it by a byte.

// frameOfLength is a frame announcing n bytes after its length prefix: one field filling it.
func frameOfLength(n uint32) []byte {
	b := make([]byte, 4+int(n))
	binary.BigEndian.PutUint32(b, n)
	b[4], b[5] = Version, byte(TEngineNotify)
	b[HeaderLen] = byte(NBody)
	binary.BigEndian.PutUint32(b[HeaderLen+1:], n-(HeaderLen-4)-5)
	return b
}

func TestLargestFrame(t *testing.T) {
	f, err := Decode(frameOfLength(MaxFrame))
	if err != nil || len(f.Fields) != 1 || len(f.Fields[0].Value) != MaxFrame-(HeaderLen-4)-5 {
		t.Fatalf("Decode of a MaxFrame frame: %v", err)
	}
	if f, err = Read(bytes.NewReader(frameOfLength(MaxFrame))); err != nil || len(f.Fields) != 1 {
		t.Fatalf("Read of a MaxFrame frame: %v", err)
	}
	if _, err := Decode(frameOfLength(MaxFrame + 1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode of MaxFrame+1: %v", err)
	}
	if _, err := Read(bytes.NewReader(frameOfLength(MaxFrame + 1))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Read of MaxFrame+1: %v", err)
	}
}

func TestEmptyLastField(t *testing.T) {
	f, err := Decode(NewBuilder(TAnswer, 1).AddStr(Code, "200").Add(NotifyBegin, nil).Bytes())
	if err != nil || len(f.Fields) != 2 || f.Fields[1].Tag != NotifyBegin || len(f.Fields[1].Value) != 0 {
		t.Fatalf("frame ending in an empty field: %+v %v", f, err)
	}
}

func TestFieldOverrunByOneByte(t *testing.T) {
	good := NewBuilder(TAnswer, 1).AddStr(Code, "200").AddStr(Reason, "OK").Bytes()
	b := make([]byte, len(good), len(good)+64) // spare capacity: an overrun would not panic
	copy(b, good)
	last := len(b) - 2 - 5 // the Reason field's header
	binary.BigEndian.PutUint32(b[last+1:], 3)
	if f, err := Decode(b); !errors.Is(err, ErrOverrun) {
		t.Fatalf("field one byte past the frame: %+v %v", f, err)
	}
}
