package gopresence

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"unique"

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
	pubs []publication
}

func (p *presentity) find(etag string) int {
	for i := range p.pubs {
		if p.pubs[i].etagIs(etag) {
			return i
		}
	}
	return -1
}

func (p *presentity) publications() []events.Publication {
	out := make([]events.Publication, len(p.pubs))
	for i := range p.pubs {
		out[i] = p.pubs[i].event()
	}
	return out
}

// remove drops the idx-th publication, clearing the slot it leaves so that its bytes are
// not kept alive by the slice's spare capacity.
func (p *presentity) remove(idx int) {
	copy(p.pubs[idx:], p.pubs[idx+1:])
	p.pubs[len(p.pubs)-1] = publication{}
	p.pubs = p.pubs[:len(p.pubs)-1]
}

// replace drops the idx-th publication and appends pub as the newest (stock orders by
// received_time).
func (p *presentity) replace(idx int, pub publication) {
	p.remove(idx)
	p.pubs = append(p.pubs, pub)
}

// subscription is one subscription dialog; db.Watcher carries its columns.
type subscription struct {
	db.Watcher
	// dirty: local_cseq/version changed since last written (db_update_period write-back).
	dirty bool
	// gone: removed from the shard; a pointer found in the dialog index before the shard
	// lock was taken may be stale.
	gone bool
	// connection: "sip:ip:port;transport=tcp" of a subscriber that reached us directly over
	// a stream transport, so NOTIFYs reuse its connection (it may accept no new ones, e.g.
	// behind NAT). Memory only: connections do not survive a restart either.
	connection string
	// nextSameHash chains subscriptions whose dialogs hash alike (dialogIndex).
	nextSameHash *subscription
}

func (s *subscription) dialog() db.DialogKey {
	return db.DialogKey{CallID: s.CallID, ToTag: s.ToTag, FromTag: s.FromTag}
}

// key is the presentity the subscription watches (a method, not a field: 32 bytes less on
// every held subscription).
func (s *subscription) key() presentityKey {
	return presentityKey{uri: s.PresentityURI, event: s.Event}
}

func (s *subscription) pkg() events.Package { return events.Lookup(s.key().event, nil) }

// intern shares the bytes of strings that repeat across many subscriptions (domains, event
// names, sockets, user agents): few distinct values, so the table is kept for the process's
// life. Per-presentity strings (URIs, users) go through internWeak, whose entries the GC may
// drop once unused.
var internTable sync.Map

func intern(s string) string {
	if len(s) == 0 || len(s) > 256 {
		return s
	}
	if v, ok := internTable.Load(s); ok {
		return v.(string)
	}
	v, _ := internTable.LoadOrStore(s, strings.Clone(s))
	return v.(string)
}

func internWeak(s string) string { return unique.Make(s).Value() }

// shard owns the presentities and subscriptions of the keys that hash to it. Its lock is held
// from reading state to the commit of the change, so per presentity, requests are applied in
// arrival order and watchers never see an older state after a newer one.
type shard struct {
	mu   sync.Mutex
	pres map[presentityKey]*presentity
	subs map[presentityKey][]*subscription
	auth map[presentityKey]map[string]*db.Authorization // watchers table: verdicts by watcherID
	// tx is the shared mode's transaction while the lock is held (shared.go), else nil.
	tx     db.Tx
	txErr  error // the first write of the transaction that failed
	cancel context.CancelFunc
}

type shards struct {
	seed maphash.Seed
	s    []*shard
}

func newShards(bits int) *shards {
	n := 1 << bits
	sh := &shards{seed: maphash.MakeSeed(), s: make([]*shard, n)}
	for i := range sh.s {
		sh.s[i] = &shard{pres: map[presentityKey]*presentity{}, subs: map[presentityKey][]*subscription{}}
	}
	return sh
}

// of is the shard of a presentity: by URI alone, so that all its events share one lock
// (watcher info, RFC 3857, lists the watchers of the presentity's other event).
func (sh *shards) of(k presentityKey) *shard { return sh.ofURI(k.uri) }

func (sh *shards) ofURI(uri string) *shard {
	var h maphash.Hash
	h.SetSeed(sh.seed)
	h.WriteString(uri)
	return sh.s[h.Sum64()&uint64(len(sh.s)-1)]
}

// addSub and delSub keep a shard's subscription list and the dialog index together.
// Caller holds sh.mu.
func (e *Engine) addSub(sh *shard, s *subscription) {
	old := e.dialogs.put(s)
	if old != nil && old.key() == s.key() { // a retransmitted initial SUBSCRIBE: same dialog
		e.unlinkSub(sh, old)
	}
	sh.subs[s.key()] = append(sh.subs[s.key()], s)
}

func (e *Engine) delSub(sh *shard, s *subscription) {
	e.unlinkSub(sh, s)
	e.dialogs.del(s)
}

func (e *Engine) unlinkSub(sh *shard, s *subscription) {
	list := sh.subs[s.key()]
	for i, x := range list {
		if x == s {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(sh.subs, s.key())
	} else {
		sh.subs[s.key()] = list
	}
	s.gone = true
}
