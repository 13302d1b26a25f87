// Package xmlsafe parses XML from the network in pure Go with limits: no DTDs (so no entity
// expansion or external entities), bounded size and depth. Every event package parses bodies
// through it.
package xmlsafe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

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
		return nil, fmt.Errorf("XML body not well-formed: %w", err)
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

// Check verifies that b is one well-formed document within the limits and returns its root
// element's local name, without building a tree: PUBLISH validation runs on every request.
func Check(b []byte) (root string, err error) {
	if len(b) == 0 {
		return "", errors.New("empty XML body")
	}
	if len(b) > MaxBytes {
		return "", fmt.Errorf("XML body of %d bytes exceeds %d", len(b), MaxBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	depth, roots := 0, 0
	var open []xml.Name // RawToken does not match end tags: keep the stack ourselves
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("XML body not well-formed: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if roots++; roots > 1 {
					return "", errors.New("XML body has more than one root element")
				}
				root = t.Name.Local
			}
			if depth++; depth > MaxDepth {
				return "", fmt.Errorf("XML body nested deeper than %d", MaxDepth)
			}
			for i := range t.Attr {
				for j := i + 1; j < len(t.Attr); j++ {
					if t.Attr[i].Name == t.Attr[j].Name {
						return "", fmt.Errorf("XML body repeats attribute %q", t.Attr[i].Name.Local)
					}
				}
			}
			open = append(open, t.Name)
		case xml.EndElement:
			if depth == 0 || open[len(open)-1] != t.Name {
				return "", fmt.Errorf("XML body not well-formed: unexpected </%s>", t.Name.Local)
			}
			open = open[:len(open)-1]
			depth--
		case xml.Directive:
			return "", errors.New("XML body with a DTD refused")
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return "", errors.New("XML body has text outside the root element")
			}
		}
	}
	if roots == 0 || depth != 0 {
		return "", errors.New("XML body has no complete root element")
	}
	return root, nil
}
