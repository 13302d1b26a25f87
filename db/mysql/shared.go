package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/sqlstore"
)

// The shared mode (db.Shared) on MySQL/MariaDB: several Kamailio nodes on one server or on a
// Galera cluster. A presentity's lock is a row of gopresence_lock (one per presentity URI,
// created on first use) that every transaction of the presentity updates first: on one server
// InnoDB's row lock makes the others wait for the commit; on Galera, where row locks are each
// node's own, two transactions of one presentity through different database nodes write the
// same row, so certification lets one commit and fails the other (db.ErrConflict), which the
// engine runs again on the committed state. READ COMMITTED: a transaction reads what is
// committed when it reads, under the lock, so it sees every change made before it took it.

// LockTable is the table of presentity locks: ours, not Kamailio's (its tables have no row per
// presentity that always exists).
const LockTable = "gopresence_lock"

const lockDDL = "CREATE TABLE IF NOT EXISTS " + LockTable + ` (
 uri VARCHAR(255) NOT NULL PRIMARY KEY,
 changes BIGINT NOT NULL DEFAULT 0
) ENGINE=InnoDB`

var _ db.Shared = (*store)(nil)

// lockTries bounds the retries of a lock statement InnoDB chose as a deadlock victim (two
// first uses of one URI at once).
const lockTries = 3

// Lock begins a transaction and takes the presentity's row.
func (s *store) Lock(ctx context.Context, uri string) (db.Tx, error) {
	var err error
	for range lockTries {
		var tx *sql.Tx
		if tx, err = s.lockOnce(ctx, uri); err == nil {
			return &sharedTx{s: s, tx: tx, ctx: ctx}, nil
		}
		if !errors.Is(err, db.ErrConflict) {
			break
		}
	}
	return nil, fmt.Errorf("mysql: locking %s: %w", uri, err)
}

func (s *store) lockOnce(ctx context.Context, uri string) (*sql.Tx, error) {
	// READ COMMITTED: every connection's level (session.go)
	tx, err := s.h.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(err)
	}
	up := `UPDATE ` + LockTable + ` SET changes = changes + 1 WHERE uri = ?`
	r, err := tx.ExecContext(ctx, up, uri)
	if err == nil {
		var n int64
		if n, err = r.RowsAffected(); err == nil && n == 0 {
			// the presentity's first change: its row (a concurrent first use waits on it)
			if _, err = tx.ExecContext(ctx, `INSERT IGNORE INTO `+LockTable+` (uri) VALUES (?)`, uri); err == nil {
				_, err = tx.ExecContext(ctx, up, uri)
			}
		}
	}
	if err != nil {
		tx.Rollback()
		return nil, classify(err)
	}
	return tx, nil
}

type sharedTx struct {
	s   *store
	tx  *sql.Tx
	ctx context.Context
	// the presentity Load read, and whether the change deleted any of its rows: then Commit
	// deletes its lock row if nothing of it is left
	uri, username, domain string
	deleted               bool
}

func (t *sharedTx) Load(uri, username, domain string) (db.Rows, error) {
	t.uri, t.username, t.domain = uri, username, domain
	// the three SELECTs in one round trip (multi-statements, Config)
	q, args := sqlstore.LoadOneBatch(t.s.t, uri, username, domain)
	rows, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return db.Rows{}, wrap(err)
	}
	defer rows.Close()
	r, err := sqlstore.ScanLoadOne(rows, t.s.t)
	return r, wrap(err)
}

func (t *sharedTx) Apply(ops []db.Op) error {
	for i := range ops {
		st, args, err := sqlstore.Args(&ops[i])
		if err == nil {
			_, err = t.tx.ExecContext(t.ctx, t.s.sql[st], args...)
		}
		if err != nil {
			return fmt.Errorf("mysql: writing %s: %w", ops[i], classify(err))
		}
		switch ops[i].Kind {
		case db.DeletePresentity, db.DeleteWatcher, db.DeleteAuthorization:
			t.deleted = true
		}
	}
	return nil
}

func (t *sharedTx) Commit() error {
	if err := t.dropLock(); err != nil {
		t.tx.Rollback()
		return fmt.Errorf("mysql: deleting the lock of %s: %w", t.uri, classify(err))
	}
	if err := t.tx.Commit(); err != nil {
		return commitFailed(err)
	}
	return nil
}

// dropLock deletes the presentity's lock row when the change deleted rows and left no
// publication, subscription or authorization of it, so that gopresence_lock holds a row per
// presentity in use, not per presentity ever seen. It runs in the transaction that holds the
// row: a change of the presentity waiting on it takes it again after the commit (its INSERT
// creates the row anew). Only changes that deleted something pay the round trip.
func (t *sharedTx) dropLock() error {
	if !t.deleted || t.uri == "" {
		return nil
	}
	tb := t.s.t
	_, err := t.tx.ExecContext(t.ctx, `DELETE FROM `+LockTable+` WHERE uri = ?
 AND NOT EXISTS (SELECT 1 FROM `+tb.Presentity+` WHERE username = ? AND domain = ?)
 AND NOT EXISTS (SELECT 1 FROM `+tb.ActiveWatchers+` WHERE presentity_uri = ?)
 AND NOT EXISTS (SELECT 1 FROM `+tb.Watchers+` WHERE presentity_uri = ?)`, t.uri, t.username, t.domain, t.uri, t.uri)
	return err
}

func (t *sharedTx) Rollback() error {
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return classify(err)
	}
	return nil
}

// DialogURI reads the dialog's presentity_uri. A dialog not found is read again as a causal
// read (causalDialogURI): on Galera an in-dialog request may reach this node right after the
// 200 of its SUBSCRIBE through another, before this node has applied that node's commit.
func (s *store) DialogURI(ctx context.Context, d db.DialogKey) (string, error) {
	u, err := sqlstore.DialogURI(ctx, s.h, s.t.ActiveWatchers, d)
	if err == nil && u == "" && !s.noSyncWait.Load() {
		u, err = s.causalDialogURI(ctx, d)
	}
	return u, wrap(err)
}

// causalDialogURI reads the dialog once this database node has applied every write-set the
// cluster had committed when the read began (wsrep_sync_wait=1, on one connection, put back to
// 0 before the connection returns to the pool). A plain MariaDB knows the variable and waits
// for nothing; MySQL does not know it (1193): the miss stands, and is not tried again.
func (s *store) causalDialogURI(ctx context.Context, d db.DialogKey) (string, error) {
	c, err := s.h.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "SET SESSION wsrep_sync_wait = 1"); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1193 {
			s.noSyncWait.Store(true)
			return "", nil
		}
		return "", err
	}
	u, err := sqlstore.DialogURI(ctx, c, s.t.ActiveWatchers, d)
	if _, rerr := c.ExecContext(context.Background(), "SET SESSION wsrep_sync_wait = 0"); rerr != nil {
		// a connection left waiting on every read is not given back to the pool
		c.Raw(func(any) error { return driver.ErrBadConn })
		if err == nil {
			err = rerr
		}
	}
	return u, err
}

// DueSubscriptions lists presentity URIs with an expired subscription.
func (s *store) DueSubscriptions(now int64) ([]string, error) {
	u, err := sqlstore.DueSubscriptions(context.Background(), s.h, s.t.ActiveWatchers, now)
	return u, wrap(err)
}

// DuePublications lists the presentities with an expired publication.
func (s *store) DuePublications(now int64) ([][2]string, error) {
	u, err := sqlstore.DuePublications(context.Background(), s.h, s.t.Presentity, now)
	return u, wrap(err)
}
