package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/sqlstore"
)

// store is the db.Backend over one SQLite file. It holds one connection for its whole life and runs BEGIN/COMMIT on it itself: a database/sql
// Tx costs a goroutine and a context per transaction, which on the per-PUBLISH path is more
// than the work it wraps.
type store struct {
	h     *sql.DB
	c     *sql.Conn
	mu    sync.Mutex // one user of c at a time
	t     db.Tables
	stmts [sqlstore.NumStmts]*sql.Stmt
}

func (s *store) prepare() error {
	for i, q := range sqlstore.WriteSQL(s.t, "INSERT OR REPLACE") {
		st, err := s.c.PrepareContext(context.Background(), q)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", q, err)
		}
		s.stmts[i] = st
	}
	return nil
}

// Close closes the database.
func (s *store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Close()
	return s.h.Close()
}

// TableVersion reads table's row of the version table.
func (s *store) TableVersion(table string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v int
	err := s.c.QueryRowContext(context.Background(), "SELECT table_version FROM version WHERE table_name = ?", table).Scan(&v)
	return v, err
}

// Apply writes a batch of changes in one transaction: all or none. Errors keep SQLite's
// (errors.As finds the sqlite3.Error and its code: busy, constraint, ...).
func (s *store) Apply(ops []db.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := context.Background()
	if _, err := s.c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	for i := range ops {
		if err := s.apply(&ops[i]); err != nil {
			s.c.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("sqlite: writing %s: %w", ops[i], err)
		}
	}
	if _, err := s.c.ExecContext(ctx, "COMMIT"); err != nil {
		s.c.ExecContext(ctx, "ROLLBACK")
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

func (s *store) apply(op *db.Op) error {
	st, args, err := sqlstore.Args(op)
	if err != nil {
		return err
	}
	_, err = s.stmts[st].Exec(args...)
	return err
}

// LoadPresentities returns every row not expired at now (startup_mode=1 semantics).
func (s *store) LoadPresentities(now int64) ([]db.Presentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := sqlstore.LoadPresentities(context.Background(), s.c, s.t.Presentity, now)
	return out, wrap(err)
}

// LoadWatchers returns every subscription not expired at now.
func (s *store) LoadWatchers(now int64) ([]db.Watcher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := sqlstore.LoadWatchers(context.Background(), s.c, s.t.ActiveWatchers, now)
	return out, wrap(err)
}

// LoadAuthorizations returns every row of the watchers table.
func (s *store) LoadAuthorizations() ([]db.Authorization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := sqlstore.LoadAuthorizations(context.Background(), s.c, s.t.Watchers)
	return out, wrap(err)
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}
