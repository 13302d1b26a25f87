package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/sqlstore"
)

// store is the db.Backend over one MySQL/MariaDB database. Each Apply is one database/sql
// transaction on a pooled connection: the pool drops a connection the server closed (a
// restart, a failover) and dials a new one for the next Apply, so the engine survives an
// outage without being restarted; during it, Apply fails with db.ErrUnavailable.
type store struct {
	h   *sql.DB
	t   db.Tables
	sql [sqlstore.NumStmts]string
	// noSyncWait: the server does not know wsrep_sync_wait (MySQL): no causal reads
	noSyncWait atomic.Bool
}

func writeSQL(t db.Tables) [sqlstore.NumStmts]string { return sqlstore.WriteSQL(t, "REPLACE") }

// Close closes the pool.
func (s *store) Close() error { return s.h.Close() }

// TableVersion reads table's row of the version table.
func (s *store) TableVersion(table string) (int, error) {
	var v int
	err := s.h.QueryRowContext(context.Background(), "SELECT table_version FROM version WHERE table_name = ?", table).Scan(&v)
	return v, classify(err)
}

// Apply writes a batch of changes in one transaction: all or none. A statement the server
// refuses keeps the driver's *mysql.MySQLError (errors.As finds its Number); a server that
// cannot be used gives db.ErrUnavailable.
func (s *store) Apply(ops []db.Op) error {
	ctx := context.Background()
	tx, err := s.h.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mysql: begin: %w", classify(err))
	}
	for i := range ops {
		st, args, err := sqlstore.Args(&ops[i])
		if err == nil {
			_, err = tx.ExecContext(ctx, s.sql[st], args...)
		}
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("mysql: writing %s: %w", ops[i], classify(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return commitFailed(err)
	}
	return nil
}

// commitFailed is a failed COMMIT's error. One whose connection broke after COMMIT was sent
// says its outcome is unknown: the server may have applied it (the outage tests allow such a
// refused change to be stored, and only such a one).
func commitFailed(err error) error {
	var answered *mysql.MySQLError // the server answered the COMMIT: it did not apply it
	c := classify(err)
	if !errors.As(err, &answered) && errors.Is(c, db.ErrUnavailable) {
		return fmt.Errorf("mysql: commit (outcome unknown: the connection was lost): %w", c)
	}
	return fmt.Errorf("mysql: commit: %w", c)
}

// LoadPresentities returns every row not expired at now (startup_mode=1 semantics).
func (s *store) LoadPresentities(now int64) ([]db.Presentity, error) {
	out, err := sqlstore.LoadPresentities(context.Background(), s.h, s.t.Presentity, now)
	return out, wrap(err)
}

// LoadWatchers returns every subscription not expired at now.
func (s *store) LoadWatchers(now int64) ([]db.Watcher, error) {
	out, err := sqlstore.LoadWatchers(context.Background(), s.h, s.t.ActiveWatchers, now)
	return out, wrap(err)
}

// LoadAuthorizations returns every row of the watchers table.
func (s *store) LoadAuthorizations() ([]db.Authorization, error) {
	out, err := sqlstore.LoadAuthorizations(context.Background(), s.h, s.t.Watchers)
	return out, wrap(err)
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("mysql: %w", classify(err))
	}
	return nil
}
