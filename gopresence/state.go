package gopresence

import (
	"hash/maphash"
	"sync"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/events"
)

// Subscription states (the active_watchers.status values stock uses, subscribe.h).
const (
	StatusActive     = 1
	StatusPending    = 2
	StatusTerminated = 3
	StatusWaiting    = 4
)

// presentityKey identifies a resource's state for one event package.
type presentityKey struct {
	uri   string // "sip:user@domain"
	event string // package name
}

// presentity holds the publications of one presentityKey, oldest first.
type presentity struct {
	pubs []*db.Presentity
}

func (p *presentity) find(etag string) int {
	for i, pub := range p.pubs {
		if pub.ETag == etag {
			return i
		}
	}
	return -1
}

func (p *presentity) publications() []events.Publication {
	out := make([]events.Publication, len(p.pubs))
	for i, pub := range p.pubs {
		out[i] = events.Publication{ETag: pub.ETag, Body: pub.Body, Sender: pub.Sender}
	}
	return out
}

// subscription is one subscription dialog; db.Watcher carries its columns.
type subscription struct {
	db.Watcher
	key presentityKey
	pkg events.Package
	// dirty: local_cseq/version changed since last written (db_update_period write-back).
	dirty bool
	// connection: "sip:ip:port;transport=tcp" of a subscriber that reached us directly over
	// a stream transport, so NOTIFYs reuse its connection (it may accept no new ones, e.g.
	// behind NAT). Memory only: connections do not survive a restart either.
	connection string
}

func (s *subscription) dialog() db.DialogKey {
	return db.DialogKey{CallID: s.CallID, ToTag: s.ToTag, FromTag: s.FromTag}
}

// shard owns the presentities and subscriptions of the keys that hash to it. Its lock is held
// from reading state to the commit of the change, so per presentity, requests are applied in
// arrival order and watchers never see an older state after a newer one.
type shard struct {
	mu   sync.Mutex
	pres map[presentityKey]*presentity
	subs map[presentityKey]map[db.DialogKey]*subscription
}

type shards struct {
	seed maphash.Seed
	s    []*shard
}

func newShards(bits int) *shards {
	n := 1 << bits
	sh := &shards{seed: maphash.MakeSeed(), s: make([]*shard, n)}
	for i := range sh.s {
		sh.s[i] = &shard{pres: map[presentityKey]*presentity{}, subs: map[presentityKey]map[db.DialogKey]*subscription{}}
	}
	return sh
}

func (sh *shards) of(k presentityKey) *shard {
	var h maphash.Hash
	h.SetSeed(sh.seed)
	h.WriteString(k.uri)
	h.WriteByte(0)
	h.WriteString(k.event)
	return sh.s[h.Sum64()&uint64(len(sh.s)-1)]
}

// dialogIndex finds a subscription's presentity from its dialog (in-dialog SUBSCRIBE, NOTIFY
// replies), which carry no presentity URI we can trust.
type dialogIndex struct {
	mu sync.RWMutex
	m  map[db.DialogKey]presentityKey
}

func (d *dialogIndex) get(k db.DialogKey) (presentityKey, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	v, ok := d.m[k]
	return v, ok
}

func (d *dialogIndex) put(k db.DialogKey, v presentityKey) {
	d.mu.Lock()
	d.m[k] = v
	d.mu.Unlock()
}

func (d *dialogIndex) del(k db.DialogKey) {
	d.mu.Lock()
	delete(d.m, k)
	d.mu.Unlock()
}

func (d *dialogIndex) len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.m)
}

// addSub and delSub keep a shard's subscription map and the dialog index together.
func (e *Engine) addSub(sh *shard, s *subscription) {
	m := sh.subs[s.key]
	if m == nil {
		m = map[db.DialogKey]*subscription{}
		sh.subs[s.key] = m
	}
	m[s.dialog()] = s
	e.dialogs.put(s.dialog(), s.key)
}

func (e *Engine) delSub(sh *shard, s *subscription) {
	if m := sh.subs[s.key]; m != nil {
		delete(m, s.dialog())
		if len(m) == 0 {
			delete(sh.subs, s.key)
		}
	}
	e.dialogs.del(s.dialog())
}
