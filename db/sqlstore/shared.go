package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gopresence/gopresence/db"
)

// The reads of the shared mode (db.Shared, db.Tx), the same on every SQL database.

// LoadOne reads one presentity's rows: the publications of username@domain (every event,
// expired ones too), the subscriptions and authorizations of uri.
func LoadOne(ctx context.Context, q Querier, t db.Tables, uri, username, domain string) (db.Rows, error) {
	var r db.Rows
	var err error
	if r.Presentities, err = presentities(ctx, q, t.Presentity, `WHERE username = ? AND domain = ?`, username, domain); err != nil {
		return r, err
	}
	if r.Watchers, err = watchers(ctx, q, t.ActiveWatchers, `WHERE presentity_uri = ?`, uri); err != nil {
		return r, err
	}
	r.Authorizations, err = authorizations(ctx, q, t.Watchers, `WHERE presentity_uri = ?`, uri)
	return r, err
}

// LoadOneBatch is LoadOne's three SELECTs as one text, with its arguments, for a database that
// runs several statements in one round trip (MySQL's multi-statements); ScanLoadOne reads its
// three result sets.
func LoadOneBatch(t db.Tables, uri, username, domain string) (string, []any) {
	q := presentitySelect(t.Presentity, `WHERE username = ? AND domain = ?`) + ";\n" +
		watcherSelect(t.ActiveWatchers, `WHERE presentity_uri = ?`) + ";\n" +
		authorizationSelect(t.Watchers, `WHERE presentity_uri = ?`)
	return q, []any{username, domain, uri, uri}
}

// ScanLoadOne reads the result sets of LoadOneBatch's query.
func ScanLoadOne(rows *sql.Rows, t db.Tables) (db.Rows, error) {
	var r db.Rows
	var err error
	if r.Presentities, err = scanAll(rows, t.Presentity, scanPresentity); err != nil {
		return r, err
	}
	if !rows.NextResultSet() {
		return r, noResultSet(t.ActiveWatchers, rows.Err())
	}
	if r.Watchers, err = scanAll(rows, t.ActiveWatchers, scanWatcher); err != nil {
		return r, err
	}
	if !rows.NextResultSet() {
		return r, noResultSet(t.Watchers, rows.Err())
	}
	r.Authorizations, err = scanAll(rows, t.Watchers, scanAuthorization)
	return r, err
}

// RowQuerier is what DialogURI reads through.
type RowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DialogURI reads the presentity_uri of a subscription dialog ("" when there is none).
func DialogURI(ctx context.Context, q RowQuerier, table string, d db.DialogKey) (string, error) {
	var uri string
	err := q.QueryRowContext(ctx, `SELECT presentity_uri FROM `+table+`
 WHERE callid = ? AND to_tag = ? AND from_tag = ?`, d.CallID, d.ToTag, d.FromTag).Scan(&uri)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return uri, err
}

// DueSubscriptions lists the presentity URIs with a subscription expired at now.
func DueSubscriptions(ctx context.Context, q Querier, table string, now int64) ([]string, error) {
	return load(ctx, q, table, `SELECT DISTINCT presentity_uri FROM `+table+` WHERE expires <= ? ORDER BY presentity_uri`,
		[]any{now}, func(rows *sql.Rows, u *string) error { return rows.Scan(u) })
}

// DuePublications lists the (username, domain) of presentities with a publication expired at
// now (expires -1 never expires).
func DuePublications(ctx context.Context, q Querier, table string, now int64) ([][2]string, error) {
	return load(ctx, q, table, `SELECT DISTINCT username, domain FROM `+table+` WHERE expires > 0 AND expires <= ? ORDER BY domain, username`,
		[]any{now}, func(rows *sql.Rows, u *[2]string) error { return rows.Scan(&u[0], &u[1]) })
}

// noResultSet: a multi-statement read ended before table's result. The server's error (a
// deadlock victim, a Galera brute-force abort) stays wrapped, so that the backend classifies it
// (a conflict is made again, not answered 503).
func noResultSet(table string, err error) error {
	if err == nil {
		return fmt.Errorf("loading %s: no result set", table)
	}
	return fmt.Errorf("loading %s: no result set: %w", table, err)
}
