// Package xmlsafe parses XML from the network in pure Go with limits: no DTDs (so no entity
// expansion or external entities), bounded size and depth. Every event package parses bodies
// through it.
package xmlsafe

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/beevik/etree"
)

// Limits for one body.
const (
	MaxBytes = 1 << 20
	MaxDepth = 64
)

// Parse parses a whole document within the limits.
func Parse(b []byte) (*etree.Document, error) {
	if len(b) == 0 {
		return nil, errors.New("empty XML body")
	}
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("XML body of %d bytes exceeds %d", len(b), MaxBytes)
	}
	if bytes.Contains(b, []byte("<!DOCTYPE")) || bytes.Contains(b, []byte("<!ENTITY")) {
		return nil, errors.New("XML body with a DTD refused")
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{Permissive: false}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, fmt.Errorf("XML body not well-formed: %v", err)
	}
	if doc.Root() == nil {
		return nil, errors.New("XML body has no root element")
	}
	if depth(doc.Root(), 1) > MaxDepth {
		return nil, fmt.Errorf("XML body nested deeper than %d", MaxDepth)
	}
	return doc, nil
}

func depth(e *etree.Element, d int) int {
	if d > MaxDepth {
		return d
	}
	m := d
	for _, c := range e.ChildElements() {
		if n := depth(c, d+1); n > m {
			m = n
		}
	}
	return m
}
