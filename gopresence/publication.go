package gopresence

import (
	"bytes"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/events"
)

// publication is one held publication, its strings packed into a single byte slice. Held as a
// *db.Presentity it cost about 840 bytes of heap beyond its body (a 144-byte struct, six
// string headers, one allocation per string): with 100,000 presentities that was most of the
// engine's memory. Packed, it is 72 bytes plus the bytes themselves, in one allocation, held by
// value in its presentity's slice. The event is its presentity's (presentityKey.event).
type publication struct {
	// data holds etag, sender, ruid, user, domain and the body, in that order; ends[i] is where
	// the i-th string ends (the body runs to the end).
	data []byte
	ends [nPacked]uint32
	// plainLen: the body is deflated (bodyzip.go) and this is its length once inflated; 0:
	// the body is held as it came.
	plainLen uint32
	expires  int64 // absolute unix time; -1: never (hard state)
	received int64
	priority int64
}

const (
	packETag = iota
	packSender
	packRUID
	packUser
	packDomain
	nPacked
)

// newPublication packs p (its Event is not kept: the presentity's key carries it).
func newPublication(p *db.Presentity) publication {
	strs := [nPacked]string{p.ETag, p.Sender, p.RUID, p.Username, p.Domain}
	n := len(p.Body)
	for _, s := range strs {
		n += len(s)
	}
	pub := publication{data: make([]byte, 0, n), expires: p.Expires, received: p.ReceivedTime,
		priority: p.Priority}
	for i, s := range strs {
		pub.data = append(pub.data, s...)
		pub.ends[i] = uint32(len(pub.data))
	}
	pub.data = append(pub.data, p.Body...)
	return pub
}

func (p *publication) str(i int) string {
	start := uint32(0)
	if i > 0 {
		start = p.ends[i-1]
	}
	return string(p.data[start:p.ends[i]])
}

func (p *publication) etag() string   { return p.str(packETag) }
func (p *publication) sender() string { return p.str(packSender) }
func (p *publication) ruid() string   { return p.str(packRUID) }

// body is the publication's document: read only, as a plain one shares the packed bytes (its
// capacity ends with it, so an append copies); a deflated one is inflated into a new slice.
// Never nil, as the body column is NOT NULL.
func (p *publication) body() []byte {
	held := p.heldBody()
	if p.plainLen == 0 {
		return held
	}
	b, err := inflateBody(held, int(p.plainLen))
	if err != nil { // deflate checked it could be inflated: not reached
		panic("gopresence: a held body does not inflate: " + err.Error())
	}
	return b
}

func (p *publication) heldBody() []byte {
	return p.data[p.ends[nPacked-1]:len(p.data):len(p.data)]
}

// deflate holds the body deflated when that saves memory (once: a deflated body stays so).
func (p *publication) deflate() {
	plain := p.heldBody()
	if p.plainLen != 0 || len(plain) < bodyPackMin {
		return
	}
	z := deflateBody(plain)
	if z == nil {
		return
	}
	if back, err := inflateBody(z, len(plain)); err != nil || !bytes.Equal(back, plain) {
		return // never seen; the body stays as it came rather than risk losing it
	}
	head := p.data[:p.ends[nPacked-1]]
	data := make([]byte, 0, len(head)+len(z))
	p.data = append(append(data, head...), z...)
	p.plainLen = uint32(len(plain))
}

// etagIs compares without building the string.
func (p *publication) etagIs(etag string) bool {
	return string(p.data[:p.ends[packETag]]) == etag
}

// row is the publication as a presentity table row of event.
func (p *publication) row(event string) *db.Presentity {
	return &db.Presentity{Username: p.str(packUser), Domain: p.str(packDomain), Event: event,
		ETag: p.etag(), Expires: p.expires, ReceivedTime: p.received, Body: p.body(),
		Sender: p.sender(), Priority: p.priority, RUID: p.ruid()}
}

func (p *publication) event() events.Publication {
	return events.Publication{ETag: p.etag(), Body: p.body(), Sender: p.sender()}
}
