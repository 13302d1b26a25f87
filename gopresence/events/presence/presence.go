// Package presence is the "presence" event package: RFC 3856 with PIDF bodies (RFC 3863).
// Bodies of several publications are aggregated into one PIDF document, as Kamailio's
// presence_xml does (notify_body.c agregate_xmls), so operators see the same NOTIFYs.
package presence

import (
	"bytes"
	"errors"

	"github.com/beevik/etree"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/xmlsafe"
)

func init() { events.Register(Package{}) }

// Package implements events.Package for presence.
type Package struct{}

func (Package) Name() string           { return "presence" }
func (Package) ContentType() string    { return "application/pidf+xml" }
func (Package) DefaultExpires() uint32 { return 3600 }

// Validate: a PIDF body must be well-formed XML with a <presence> root (presence_xml answers 415
// for anything libxml2 cannot parse; we also refuse DTDs and oversized or too-deep documents).
func (Package) Validate(body []byte) error {
	root, err := xmlsafe.Check(body)
	if err != nil {
		return err
	}
	if root != "presence" {
		return errors.New("PIDF body has no <presence> root element")
	}
	return nil
}

// NotifyBody aggregates: the newest document is the base; walking the older ones newest to
// oldest, a document whose first <tuple> id is already in the base is skipped, otherwise all
// its root children are appended. A publication being removed (offline) is first reduced to
// its first tuple with <basic>closed</basic>.
func (Package) NotifyBody(pubs []events.Publication, offline string) []byte {
	if len(pubs) == 0 {
		return nil
	}
	if len(pubs) == 1 && offline == "" {
		return pubs[0].Body
	}
	docs := make([]*etree.Document, 0, len(pubs))
	for _, p := range pubs {
		doc, err := xmlsafe.Parse(p.Body)
		if err != nil || doc.Root() == nil {
			continue // validated on PUBLISH; a row edited by hand must not break NOTIFYs
		}
		if p.ETag == offline {
			doc = offlineDoc(doc)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		return nil
	}
	base := docs[len(docs)-1]
	root := base.Root()
	ids := map[string]bool{}
	for _, t := range root.SelectElements("tuple") {
		ids[t.SelectAttrValue("id", "")] = true
	}
	for i := len(docs) - 2; i >= 0; i-- {
		r := docs[i].Root()
		if t := r.SelectElement("tuple"); t != nil && ids[t.SelectAttrValue("id", "")] {
			continue
		}
		for _, c := range r.ChildElements() {
			root.AddChild(c.Copy())
			if c.Tag == "tuple" {
				ids[c.SelectAttrValue("id", "")] = true
			}
		}
	}
	base.Indent(2)
	var buf bytes.Buffer
	base.WriteTo(&buf)
	return buf.Bytes()
}

// offlineDoc keeps <presence> (attributes only) and its first <tuple> with the original
// <status> whose <basic> becomes closed (presence_xml offline_nbody).
func offlineDoc(doc *etree.Document) *etree.Document {
	src := doc.Root()
	out := etree.NewDocument()
	out.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := out.CreateElement(src.FullTag())
	root.Attr = append(root.Attr, src.Attr...)
	tuple := src.SelectElement("tuple")
	if tuple == nil {
		return out
	}
	t := root.CreateElement(tuple.FullTag())
	t.Attr = append(t.Attr, tuple.Attr...)
	status := tuple.SelectElement("status")
	var st *etree.Element
	if status != nil {
		st = status.Copy()
	} else {
		st = etree.NewElement("status")
	}
	basic := st.SelectElement("basic")
	if basic == nil {
		basic = st.CreateElement("basic")
	}
	basic.SetText("closed")
	t.AddChild(st)
	return out
}
