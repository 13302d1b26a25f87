package gopresence

import (
	"bytes"
	"compress/flate"
	"io"
	"sync"
	"time"
)

// Idle bodies are held deflated against a dictionary of the documents' boilerplate: a PIDF
// body of a phone is mostly namespaces and tags every other body repeats, so the bench's
// 211-byte body packs into 42. Only bodies nobody changed for bodyIdle are packed, by a
// background sweep: a PUBLISH stores its body as it came (deflating costs ~15 µs, more than
// the rest of the request), and the fan-out of a change reads the plain new body. An idle
// body costs an inflate (~1 µs) when a SUBSCRIBE or another publication's change renders it.
const (
	bodyIdle      = 30 * time.Second
	bodyPackEvery = 30 * time.Second
	bodyPackMin   = 96 // below this, the deflate stream's overhead eats the gain
)

// bodyDict holds what bodies of the common event packages (presence, dialog, message-summary)
// repeat; deflate finds the longest matches at its end, so the commonest text comes last.
// Memory only: a new dictionary takes effect on the next start.
var bodyDict = []byte(`Messages-Waiting: yes
Message-Account: sip:Voice-Message: 0/0 (0/0)
<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:">
<dialog id="" call-id="" local-tag="" remote-tag="" direction="initiator"><state>confirmed</state><state>terminated</state><state>early</state>
<local><identity>sip:</identity><target uri="sip:"/></local><remote><identity>sip:</identity><target uri="sip:"/></remote></dialog></dialog-info>
<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="sip:">
<dm:person id=""><rpid:activities><rpid:on-the-phone/><rpid:busy/><rpid:away/><rpid:unknown/></rpid:activities></dm:person>
<tuple id=""><status><basic>closed</basic></status><contact priority="0.8">sip:</contact></tuple>
<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:@">
<tuple id="t1"><status><basic>open</basic></status><note></note></tuple>
</presence>
`)

var (
	deflaters = sync.Pool{New: func() any {
		w, err := flate.NewWriterDict(io.Discard, flate.BestCompression, bodyDict)
		if err != nil {
			panic(err) // only for a bad level
		}
		return w
	}}
	inflaters = sync.Pool{New: func() any { return flate.NewReaderDict(bytes.NewReader(nil), bodyDict) }}
)

// deflateBody is b deflated, or nil when that saves nothing.
func deflateBody(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) / 2)
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&out)
	if _, err := w.Write(b); err != nil {
		return nil
	}
	if err := w.Close(); err != nil || out.Len() >= len(b) {
		return nil
	}
	return out.Bytes()
}

// inflateBody undoes deflateBody; n is the plain body's length.
func inflateBody(z []byte, n int) ([]byte, error) {
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(z), bodyDict); err != nil {
		return nil, err
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// packIdleBodies deflates the bodies of the publications nobody changed for bodyIdle, a shard
// at a time under its lock. Not in the shared mode: it holds no state between requests.
func (e *Engine) packIdleBodies() {
	if e.shared != nil {
		return
	}
	before := e.now().Add(-bodyIdle).Unix()
	for _, sh := range e.shards.s {
		sh.mu.Lock()
		for _, pr := range sh.pres {
			for i := range pr.pubs {
				if p := &pr.pubs[i]; p.received <= before {
					p.deflate()
				}
			}
		}
		sh.mu.Unlock()
	}
}
