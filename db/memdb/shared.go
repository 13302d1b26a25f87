package memdb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gopresence/gopresence/db"
)

// The shared mode (db.Shared): several engines of one test on one named database, as several
// Kamailio nodes on one MySQL. A transaction holds the database's write lock (as SQLite's
// IMMEDIATE transactions do), so it holds every presentity's.

var _ db.Shared = (*DB)(nil)

// Lock waits for the write lock (bounded by ctx) and begins a transaction.
func (b *DB) Lock(ctx context.Context, uri string) (db.Tx, error) {
	select {
	case b.d.wlock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("memdb: locking %s: %w", uri, ctx.Err())
	}
	b.d.mu.Lock()
	closed := b.closed
	b.d.mu.Unlock()
	if closed {
		<-b.d.wlock
		return nil, ErrClosed
	}
	return &sharedTx{b: b, t: &tx{d: b.d, pres: b.d.pres[b.t.Presentity],
		wat: b.d.watch[b.t.ActiveWatchers], auth: b.d.auth[b.t.Watchers]}}, nil
}

type sharedTx struct {
	b    *DB
	t    *tx
	done bool
}

func (s *sharedTx) Load(uri, username, domain string) (db.Rows, error) {
	d := s.b.d
	d.mu.Lock()
	defer d.mu.Unlock()
	var r db.Rows
	r.Presentities = selectRows(s.t.pres.rows,
		func(p *db.Presentity) bool { return p.Username == username && p.Domain == domain },
		func(p, q *db.Presentity) int { return cmp.Compare(p.ReceivedTime, q.ReceivedTime) },
		copyPresentity)
	r.Watchers = selectRows(s.t.wat.rows,
		func(w *db.Watcher) bool { return w.PresentityURI == uri },
		func(p, q *db.Watcher) int { return 0 },
		func(w *db.Watcher) db.Watcher { return *w })
	for _, a := range s.t.auth {
		if a.PresentityURI == uri {
			r.Authorizations = append(r.Authorizations, *a)
		}
	}
	slices.SortFunc(r.Authorizations, func(x, y db.Authorization) int {
		return cmp.Or(cmp.Compare(x.Event, y.Event), cmp.Compare(x.WatcherDomain, y.WatcherDomain),
			cmp.Compare(x.WatcherUsername, y.WatcherUsername))
	})
	return r, nil
}

func (s *sharedTx) Apply(ops []db.Op) error {
	d := s.b.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range ops {
		if d.fault != nil {
			if err := d.fault(ops[i]); err != nil {
				return fmt.Errorf("memdb: writing %s: %w", ops[i], err)
			}
		}
		if err := s.t.apply(&ops[i]); err != nil {
			return fmt.Errorf("memdb: writing %s: %w", ops[i], err)
		}
	}
	return nil
}

func (s *sharedTx) Commit() error {
	if s.done {
		return errors.New("memdb: transaction already ended")
	}
	s.done = true
	<-s.b.d.wlock
	return nil
}

func (s *sharedTx) Rollback() error {
	if s.done {
		return nil
	}
	s.done = true
	s.b.d.mu.Lock()
	s.t.rollback()
	s.b.d.mu.Unlock()
	<-s.b.d.wlock
	return nil
}

// DialogURI finds the dialog's row.
func (b *DB) DialogURI(_ context.Context, k db.DialogKey) (string, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	w := b.d.watch[b.t.ActiveWatchers]
	if id, ok := w.byDialog[k]; ok {
		return w.rows[id].PresentityURI, nil
	}
	return "", nil
}

// DueSubscriptions lists the presentity URIs with an expired subscription, sorted.
func (b *DB) DueSubscriptions(now int64) ([]string, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	var out []string
	for _, w := range b.d.watch[b.t.ActiveWatchers].rows {
		if w.Expires <= now && !slices.Contains(out, w.PresentityURI) {
			out = append(out, w.PresentityURI)
		}
	}
	slices.Sort(out)
	return out, nil
}

// DuePublications lists the presentities with an expired publication.
func (b *DB) DuePublications(now int64) ([][2]string, error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	var out [][2]string
	for _, p := range b.d.pres[b.t.Presentity].rows {
		u := [2]string{p.Username, p.Domain}
		if p.Expires > 0 && p.Expires <= now && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(x, y [2]string) int { return cmp.Or(cmp.Compare(x[1], y[1]), cmp.Compare(x[0], y[0])) })
	return out, nil
}
