package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gopresence/gopresence/db"
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
	var r db.Rows
	var err error
	if r.Presentities, err = t.s.presentities(t.ctx, `WHERE username = ? AND domain = ?`, username, domain); err != nil {
		return r, err
	}
	if r.Watchers, err = t.s.watchers(t.ctx, `WHERE presentity_uri = ?`, uri); err != nil {
		return r, err
	}
	r.Authorizations, err = t.s.authorizations(t.ctx, `WHERE presentity_uri = ?`, uri)
	return r, err
}

func (t *tx) Apply(ops []db.Op) error { return t.s.applyAll(ops) }

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
	var uri string
	err := s.c.QueryRowContext(ctx, `SELECT presentity_uri FROM `+s.t.ActiveWatchers+`
 WHERE callid = ? AND to_tag = ? AND from_tag = ?`, d.CallID, d.ToTag, d.FromTag).Scan(&uri)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return uri, err
}

// DueSubscriptions lists presentity URIs with an expired subscription.
func (s *store) DueSubscriptions(now int64) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.c.QueryContext(context.Background(), `SELECT DISTINCT presentity_uri FROM `+
		s.t.ActiveWatchers+` WHERE expires <= ?`, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DuePublications lists the presentities with an expired publication.
func (s *store) DuePublications(now int64) ([][2]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.c.QueryContext(context.Background(), `SELECT DISTINCT username, domain FROM `+
		s.t.Presentity+` WHERE expires > 0 AND expires <= ?`, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var u [2]string
		if err := rows.Scan(&u[0], &u[1]); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
