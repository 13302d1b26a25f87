package gopresence

import (
	"hash/maphash"
	"sync"

	"github.com/gopresence/gopresence/db"
)

// dialogIndex finds a subscription from its dialog (in-dialog SUBSCRIBE, NOTIFY replies),
// which carry no presentity URI we can trust. The caller locks the subscription's shard and
// checks gone before using it.
//
// Keyed by a 64-bit hash of the dialog, not by the three strings: a map slot of 16 bytes
// instead of 56 is a tenth of what a held subscription costs. Subscriptions whose dialogs
// hash alike (chance 2^-64 per pair, but a watcher picks its Call-ID and tag) are chained
// through nextSameHash and told apart by the full key.
type dialogIndex struct {
	mu   sync.RWMutex
	seed maphash.Seed
	m    map[uint64]*subscription
	n    int
	// collide replaces the hash in tests, to exercise the chains.
	collide func(db.DialogKey) uint64
}

func newDialogIndex() dialogIndex {
	return dialogIndex{seed: maphash.MakeSeed(), m: map[uint64]*subscription{}}
}

func (d *dialogIndex) hash(k db.DialogKey) uint64 {
	if d.collide != nil {
		return d.collide(k)
	}
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(k.CallID)
	h.WriteByte(0)
	h.WriteString(k.ToTag)
	h.WriteByte(0)
	h.WriteString(k.FromTag)
	return h.Sum64()
}

func (d *dialogIndex) get(k db.DialogKey) *subscription {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for s := d.m[d.hash(k)]; s != nil; s = s.nextSameHash {
		if s.dialog() == k {
			return s
		}
	}
	return nil
}

func (d *dialogIndex) len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.n
}

// put indexes s and returns the subscription it replaces (same dialog), if any.
func (d *dialogIndex) put(s *subscription) (old *subscription) {
	k := s.dialog()
	h := d.hash(k)
	d.mu.Lock()
	defer d.mu.Unlock()
	old = d.unlink(h, k, nil)
	s.nextSameHash = d.m[h]
	d.m[h] = s
	d.n++
	return old
}

// del removes s if it is the one indexed for its dialog.
func (d *dialogIndex) del(s *subscription) {
	k := s.dialog()
	h := d.hash(k)
	d.mu.Lock()
	d.unlink(h, k, s)
	d.mu.Unlock()
}

// unlink removes the entry for k (only if it is want, when want is set). Caller holds d.mu.
func (d *dialogIndex) unlink(h uint64, k db.DialogKey, want *subscription) *subscription {
	var prev *subscription
	for s := d.m[h]; s != nil; prev, s = s, s.nextSameHash {
		if s.dialog() != k || (want != nil && s != want) {
			continue
		}
		switch {
		case prev != nil:
			prev.nextSameHash = s.nextSameHash
		case s.nextSameHash != nil:
			d.m[h] = s.nextSameHash
		default:
			delete(d.m, h)
		}
		s.nextSameHash = nil
		d.n--
		return s
	}
	return nil
}
