package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/sqlstore"
)

// The shared mode (db.Shared) on SQLite: several Kamailio nodes on one host share one database
// file. An IMMEDIATE transaction takes SQLite's write lock for the whole database, so a
// presentity's lock is the database's: coarser than a row lock, and exactly as safe.

var _ db.Shared = (*store)(nil)

// Lock begins an IMMEDIATE transaction (waiting up to the busy timeout for other processes).
func (s *store) Lock(ctx context.Context, uri string) (db.Tx, error) {
	s.mu.Lock()
	if _, err := s.c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("sqlite: locking %s: %w", uri, err)
	}
	return &tx{s: s, ctx: ctx}, nil
}

type tx struct {
	s    *store
	ctx  context.Context
	done bool
}

func (t *tx) Load(uri, username, domain string) (db.Rows, error) {
	r, err := sqlstore.LoadOne(t.ctx, t.s.c, t.s.t, uri, username, domain)
	return r, wrap(err)
}

func (t *tx) Apply(ops []db.Op) error {
	for i := range ops {
		if err := t.s.apply(&ops[i]); err != nil {
			return fmt.Errorf("sqlite: writing %s: %w", ops[i], err)
		}
	}
	return nil
}

func (t *tx) Commit() error {
	if t.done {
		return errors.New("sqlite: transaction already ended")
	}
	t.done = true
	defer t.s.mu.Unlock()
	if _, err := t.s.c.ExecContext(context.Background(), "COMMIT"); err != nil {
		t.s.c.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

func (t *tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	defer t.s.mu.Unlock()
	_, err := t.s.c.ExecContext(context.Background(), "ROLLBACK")
	return err
}

// DialogURI reads the dialog's presentity_uri.
func (s *store) DialogURI(ctx context.Context, d db.DialogKey) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := sqlstore.DialogURI(ctx, s.c, s.t.ActiveWatchers, d)
	return u, wrap(err)
}

// DueSubscriptions lists presentity URIs with an expired subscription.
func (s *store) DueSubscriptions(now int64) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := sqlstore.DueSubscriptions(context.Background(), s.c, s.t.ActiveWatchers, now)
	return u, wrap(err)
}

// DuePublications lists the presentities with an expired publication.
func (s *store) DuePublications(now int64) ([][2]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := sqlstore.DuePublications(context.Background(), s.c, s.t.Presentity, now)
	return u, wrap(err)
}
