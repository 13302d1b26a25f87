package wire

import (
	"bytes"
	"testing"
)

// FuzzDecode: any byte string is either rejected or decodes to fields that re-encode to itself.
func FuzzDecode(f *testing.F) {
	for _, b := range goldenFrames() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		if err != nil {
			return
		}
		enc := NewBuilder(fr.Type, fr.ID)
		for _, fl := range fr.Fields {
			enc.Add(fl.Tag, fl.Value)
		}
		if !bytes.Equal(enc.Bytes(), b) {
			t.Fatalf("round trip differs")
		}
		if _, err := Read(bytes.NewReader(b)); err != nil {
			t.Fatalf("Read rejects what Decode accepts: %v", err)
		}
	})
}
