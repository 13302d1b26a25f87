// Package sqlstore is the SQL that every database/sql backend of package db runs on Kamailio's
// presence tables: the write statements of each op kind with their arguments, and the loads.
// The tables and their columns are Kamailio's on every database; only the verb that replaces a
// row of the same unique key differs (SQLite's INSERT OR REPLACE, MySQL's REPLACE), so a
// backend keeps its connection handling and transactions and takes the SQL from here.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gopresence/gopresence/db"
)

// Stmt names one write statement.
type Stmt int

const (
	InsertPresentity Stmt = iota
	UpdatePresentity
	DeletePresentity
	InsertWatcher
	UpdateWatcher
	DeleteWatcher
	SetAuthorization
	DeleteAuthorization
	NumStmts
)

const watcherCols = `presentity_uri, watcher_username, watcher_domain, to_user, to_domain, event,
 event_id, to_tag, from_tag, callid, local_cseq, remote_cseq, contact, record_route, expires,
 status, reason, version, socket_info, local_contact, from_user, from_domain, updated,
 updated_winfo, flags, user_agent`

// WriteSQL is the text of every write statement on tables t; replace is the database's verb
// for an insert that replaces the row of the same unique key.
func WriteSQL(t db.Tables, replace string) [NumStmts]string {
	return [NumStmts]string{
		InsertPresentity: `INSERT INTO ` + t.Presentity + ` (username, domain, event, etag, expires,
 received_time, body, sender, priority, ruid) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		UpdatePresentity: `UPDATE ` + t.Presentity + ` SET etag=?, expires=?, received_time=?, body=?,
 sender=?, priority=? WHERE ruid=?`,
		DeletePresentity: `DELETE FROM ` + t.Presentity + ` WHERE ruid=?`,
		// updated and updated_winfo are stock's notifier-process marks, unused by this design
		InsertWatcher: replace + ` INTO ` + t.ActiveWatchers + ` (` + watcherCols + `)
 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,-1,-1,?,?)`,
		UpdateWatcher: `UPDATE ` + t.ActiveWatchers + ` SET expires=?, status=?, reason=?,
 remote_cseq=?, local_cseq=?, version=?, contact=?, record_route=? WHERE callid=? AND to_tag=? AND from_tag=?`,
		DeleteWatcher: `DELETE FROM ` + t.ActiveWatchers + ` WHERE callid=? AND to_tag=? AND from_tag=?`,
		SetAuthorization: replace + ` INTO ` + t.Watchers + ` (presentity_uri, watcher_username,
 watcher_domain, event, status, reason, inserted_time) VALUES (?,?,?,?,?,?,?)`,
		DeleteAuthorization: `DELETE FROM ` + t.Watchers + ` WHERE presentity_uri=? AND watcher_username=?
 AND watcher_domain=? AND event=?`,
	}
}

// Args is the statement an op runs and its arguments; an op of no known kind is an error
// ("unknown op N").
func Args(op *db.Op) (Stmt, []any, error) {
	switch op.Kind {
	case db.InsertPresentity:
		p := op.Presentity
		return InsertPresentity, []any{p.Username, p.Domain, p.Event, p.ETag, p.Expires,
			p.ReceivedTime, p.Body, p.Sender, p.Priority, p.RUID}, nil
	case db.UpdatePresentity:
		p := op.Presentity
		return UpdatePresentity, []any{p.ETag, p.Expires, p.ReceivedTime, p.Body, p.Sender,
			p.Priority, p.RUID}, nil
	case db.DeletePresentity:
		return DeletePresentity, []any{op.RUID}, nil
	case db.InsertWatcher:
		w := op.Watcher
		return InsertWatcher, []any{w.PresentityURI, w.WatcherUsername, w.WatcherDomain,
			w.ToUser, w.ToDomain, w.Event, w.EventID, w.ToTag, w.FromTag, w.CallID, w.LocalCSeq,
			w.RemoteCSeq, w.Contact, w.RecordRoute, w.Expires, w.Status, w.Reason, w.Version,
			w.SocketInfo, w.LocalContact, w.FromUser, w.FromDomain, w.Flags, w.UserAgent}, nil
	case db.UpdateWatcher:
		w := op.Watcher
		return UpdateWatcher, []any{w.Expires, w.Status, w.Reason, w.RemoteCSeq,
			w.LocalCSeq, w.Version, w.Contact, w.RecordRoute, w.CallID, w.ToTag, w.FromTag}, nil
	case db.DeleteWatcher:
		return DeleteWatcher, []any{op.Dialog.CallID, op.Dialog.ToTag, op.Dialog.FromTag}, nil
	case db.SetAuthorization:
		a := op.Auth
		return SetAuthorization, []any{a.PresentityURI, a.WatcherUsername, a.WatcherDomain, a.Event,
			a.Status, a.Reason, a.InsertedTime}, nil
	case db.DeleteAuthorization:
		a := op.Auth
		return DeleteAuthorization, []any{a.PresentityURI, a.WatcherUsername, a.WatcherDomain, a.Event}, nil
	}
	return 0, nil, fmt.Errorf("unknown op %d", op.Kind)
}

// Querier is what the loads read through: a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// LoadPresentities returns every row of table not expired at now (expires > now, or -1),
// oldest received first and, within a second, in insertion order (stock's startup_mode=1).
func LoadPresentities(ctx context.Context, q Querier, table string, now int64) ([]db.Presentity, error) {
	return presentities(ctx, q, table, `WHERE expires > ? OR expires = -1`, now)
}

// LoadWatchers returns every subscription of table not expired at now.
func LoadWatchers(ctx context.Context, q Querier, table string, now int64) ([]db.Watcher, error) {
	return watchers(ctx, q, table, `WHERE expires > ?`, now)
}

// LoadAuthorizations returns every row of the watchers table, oldest first.
func LoadAuthorizations(ctx context.Context, q Querier, table string) ([]db.Authorization, error) {
	return authorizations(ctx, q, table, ``)
}

// presentities, watchers and authorizations read the rows of their table that where (a WHERE
// clause) selects.
func presentities(ctx context.Context, q Querier, table, where string, args ...any) ([]db.Presentity, error) {
	return load(ctx, q, table, presentitySelect(table, where), args, scanPresentity)
}

func watchers(ctx context.Context, q Querier, table, where string, args ...any) ([]db.Watcher, error) {
	return load(ctx, q, table, watcherSelect(table, where), args, scanWatcher)
}

func authorizations(ctx context.Context, q Querier, table, where string, args ...any) ([]db.Authorization, error) {
	return load(ctx, q, table, authorizationSelect(table, where), args, scanAuthorization)
}

func presentitySelect(table, where string) string {
	return `SELECT username, domain, event, etag, expires, received_time, body,
 sender, priority, COALESCE(ruid,'') FROM ` + table + ` ` + where + ` ORDER BY received_time, id`
}

func scanPresentity(rows *sql.Rows, p *db.Presentity) error {
	return rows.Scan(&p.Username, &p.Domain, &p.Event, &p.ETag, &p.Expires,
		&p.ReceivedTime, &p.Body, &p.Sender, &p.Priority, &p.RUID)
}

func watcherSelect(table, where string) string {
	return `SELECT presentity_uri, watcher_username, watcher_domain, to_user,
 to_domain, event, COALESCE(event_id,''), to_tag, from_tag, callid, local_cseq, remote_cseq,
 contact, COALESCE(record_route,''), expires, status, COALESCE(reason,''), version, socket_info,
 local_contact, from_user, from_domain, flags, COALESCE(user_agent,'') FROM ` + table + `
 ` + where + ` ORDER BY id`
}

func scanWatcher(rows *sql.Rows, w *db.Watcher) error {
	return rows.Scan(&w.PresentityURI, &w.WatcherUsername, &w.WatcherDomain, &w.ToUser,
		&w.ToDomain, &w.Event, &w.EventID, &w.ToTag, &w.FromTag, &w.CallID, &w.LocalCSeq,
		&w.RemoteCSeq, &w.Contact, &w.RecordRoute, &w.Expires, &w.Status, &w.Reason,
		&w.Version, &w.SocketInfo, &w.LocalContact, &w.FromUser, &w.FromDomain, &w.Flags,
		&w.UserAgent)
}

func authorizationSelect(table, where string) string {
	return `SELECT presentity_uri, watcher_username,
 watcher_domain, event, status, COALESCE(reason,''), inserted_time FROM ` + table + ` ` + where + ` ORDER BY id`
}

func scanAuthorization(rows *sql.Rows, a *db.Authorization) error {
	return rows.Scan(&a.PresentityURI, &a.WatcherUsername, &a.WatcherDomain, &a.Event,
		&a.Status, &a.Reason, &a.InsertedTime)
}

func load[T any](ctx context.Context, q Querier, table, query string, args []any, scan func(*sql.Rows, *T) error) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", table, err)
	}
	defer rows.Close()
	return scanAll(rows, table, scan)
}

// scanAll reads the rows of rows' current result set.
func scanAll[T any](rows *sql.Rows, table string, scan func(*sql.Rows, *T) error) ([]T, error) {
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, fmt.Errorf("loading %s: %w", table, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading %s: %w", table, err)
	}
	return out, nil
}
