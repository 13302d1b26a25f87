// Package wire is the one frame format between Kamailio's C side and the Go engine.
// docs/wire.md describes it; module/wire.c is the C twin of this file. The numbers (types, tags,
// version, sizes) are generated from gen/spec.go into spec_gen.go and module/wire_spec.h.
package wire

//go:generate go run ./gen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Type says what a frame is.
type Type uint8

// Tag names a field.
type Tag uint8

// Field is one tagged value. Value aliases the decoded buffer.
type Field struct {
	Tag   Tag
	Value []byte
}

// Frame is a decoded frame.
type Frame struct {
	Type   Type
	ID     uint32
	Fields []Field
}

// Get returns the first field with tag t.
func (f *Frame) Get(t Tag) ([]byte, bool) {
	for _, fl := range f.Fields {
		if fl.Tag == t {
			return fl.Value, true
		}
	}
	return nil, false
}

// Str returns the first field with tag t as a string ("" if absent).
func (f *Frame) Str(t Tag) string {
	v, _ := f.Get(t)
	return string(v)
}

// Has reports whether a field with tag t is present.
func (f *Frame) Has(t Tag) bool {
	_, ok := f.Get(t)
	return ok
}

// Errors of the decoder; the connection is closed on any of them.
var (
	ErrShort    = errors.New("wire: frame shorter than its header")
	ErrTooLarge = errors.New("wire: frame larger than the limit")
	ErrVersion  = errors.New("wire: unknown frame version")
	ErrOverrun  = errors.New("wire: field overruns the frame")
)

// Decode parses one whole frame (length prefix included). Fields alias b.
func Decode(b []byte) (*Frame, error) {
	if len(b) < HeaderLen {
		return nil, ErrShort
	}
	n := binary.BigEndian.Uint32(b)
	if n > MaxFrame {
		return nil, ErrTooLarge
	}
	if uint64(len(b)) != uint64(n)+4 || n < HeaderLen-4 {
		return nil, fmt.Errorf("wire: length %d does not match %d bytes", n, len(b))
	}
	if b[4] != Version {
		return nil, ErrVersion
	}
	f := &Frame{Type: Type(b[5]), ID: binary.BigEndian.Uint32(b[6:])}
	var err error
	if f.Fields, err = DecodeFields(b[HeaderLen:]); err != nil {
		return nil, err
	}
	return f, nil
}

// DecodeFields parses a run of fields: a frame's, or one nested in a field (NBodyParts).
// Fields alias b.
func DecodeFields(b []byte) ([]Field, error) {
	var fields []Field
	for len(b) > 0 {
		if len(b) < 5 {
			return nil, ErrOverrun
		}
		l := binary.BigEndian.Uint32(b[1:])
		if uint64(l) > uint64(len(b)-5) {
			return nil, ErrOverrun
		}
		fields = append(fields, Field{Tag: Tag(b[0]), Value: b[5 : 5+l : 5+l]})
		b = b[5+l:]
	}
	return fields, nil
}

// Read reads one frame from r. The returned frame owns its buffer.
func Read(r io.Reader) (*Frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, ErrTooLarge
	}
	if n < HeaderLen-4 {
		return nil, ErrShort
	}
	buf := make([]byte, 4+n)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		return nil, err
	}
	return Decode(buf)
}

// Builder appends fields to a frame being encoded.
type Builder struct {
	buf []byte
}

// NewBuilder starts a frame of type t with id.
func NewBuilder(t Type, id uint32) *Builder {
	b := &Builder{buf: make([]byte, HeaderLen, 512)}
	b.buf[4] = Version
	b.buf[5] = byte(t)
	binary.BigEndian.PutUint32(b.buf[6:], id)
	return b
}

// Add appends a field.
func (b *Builder) Add(t Tag, v []byte) *Builder {
	b.buf = AppendField(b.buf, t, v)
	return b
}

// AddStr appends a string field (without converting it to a []byte first).
func (b *Builder) AddStr(t Tag, v string) *Builder {
	b.buf = AppendField(b.buf, t, v)
	return b
}

// AppendField appends one field to buf: a frame's (Builder), or one of a run nested in a field.
func AppendField[V string | []byte](buf []byte, t Tag, v V) []byte {
	var h [5]byte
	h[0] = byte(t)
	binary.BigEndian.PutUint32(h[1:], uint32(len(v)))
	return append(append(buf, h[:]...), v...)
}

// AddInt appends a decimal number field.
func (b *Builder) AddInt(t Tag, v int64) *Builder {
	return b.AddStr(t, fmt.Sprint(v))
}

// Len is the encoded size so far.
func (b *Builder) Len() int { return len(b.buf) }

// Bytes finishes the frame and returns it (length prefix included).
func (b *Builder) Bytes() []byte {
	binary.BigEndian.PutUint32(b.buf, uint32(len(b.buf)-4))
	return b.buf
}
