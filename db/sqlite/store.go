package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/gopresence/gopresence/db"
)

// store is the db.Backend over one SQLite file. It holds one connection for its whole life and runs BEGIN/COMMIT on it itself: a database/sql
// Tx costs a goroutine and a context per transaction, which on the per-PUBLISH path is more
// than the work it wraps.
type store struct {
	h  *sql.DB
	c  *sql.Conn
	mu sync.Mutex // one user of c at a time
	t  db.Tables

	insPres, updPres, delPres    *sql.Stmt
	insWatch, updWatch, delWatch *sql.Stmt
	setAuth, delAuth             *sql.Stmt
}

const watcherCols = `presentity_uri, watcher_username, watcher_domain, to_user, to_domain, event,
 event_id, to_tag, from_tag, callid, local_cseq, remote_cseq, contact, record_route, expires,
 status, reason, version, socket_info, local_contact, from_user, from_domain, updated,
 updated_winfo, flags, user_agent`

func (s *store) prepare() error {
	var err error
	p := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.c.PrepareContext(context.Background(), q)
		if err != nil {
			err = fmt.Errorf("preparing %q: %w", q, err)
		}
		return st
	}
	s.insPres = p(`INSERT INTO ` + s.t.Presentity + ` (username, domain, event, etag, expires,
 received_time, body, sender, priority, ruid) VALUES (?,?,?,?,?,?,?,?,?,?)`)
	s.updPres = p(`UPDATE ` + s.t.Presentity + ` SET etag=?, expires=?, received_time=?, body=?,
 sender=?, priority=? WHERE ruid=?`)
	s.delPres = p(`DELETE FROM ` + s.t.Presentity + ` WHERE ruid=?`)
	s.insWatch = p(`INSERT OR REPLACE INTO ` + s.t.ActiveWatchers + ` (` + watcherCols + `)
 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,-1,-1,?,?)`)
	s.updWatch = p(`UPDATE ` + s.t.ActiveWatchers + ` SET expires=?, status=?, reason=?,
 remote_cseq=?, local_cseq=?, version=?, contact=?, record_route=? WHERE callid=? AND to_tag=? AND from_tag=?`)
	s.delWatch = p(`DELETE FROM ` + s.t.ActiveWatchers + ` WHERE callid=? AND to_tag=? AND from_tag=?`)
	s.setAuth = p(`INSERT OR REPLACE INTO ` + s.t.Watchers + ` (presentity_uri, watcher_username,
 watcher_domain, event, status, reason, inserted_time) VALUES (?,?,?,?,?,?,?)`)
	s.delAuth = p(`DELETE FROM ` + s.t.Watchers + ` WHERE presentity_uri=? AND watcher_username=?
 AND watcher_domain=? AND event=?`)
	return err
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
	if err := s.applyAll(ops); err != nil {
		s.c.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if _, err := s.c.ExecContext(ctx, "COMMIT"); err != nil {
		s.c.ExecContext(ctx, "ROLLBACK")
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// applyAll writes ops inside the open transaction. Caller holds s.mu.
func (s *store) applyAll(ops []db.Op) error {
	for i := range ops {
		if err := s.apply(&ops[i]); err != nil {
			return fmt.Errorf("sqlite: writing %s: %w", ops[i], err)
		}
	}
	return nil
}

func (s *store) apply(op *db.Op) error {
	var err error
	switch op.Kind {
	case db.InsertPresentity:
		p := op.Presentity
		_, err = s.insPres.Exec(p.Username, p.Domain, p.Event, p.ETag, p.Expires,
			p.ReceivedTime, p.Body, p.Sender, p.Priority, p.RUID)
	case db.UpdatePresentity:
		p := op.Presentity
		_, err = s.updPres.Exec(p.ETag, p.Expires, p.ReceivedTime, p.Body, p.Sender,
			p.Priority, p.RUID)
	case db.DeletePresentity:
		_, err = s.delPres.Exec(op.RUID)
	case db.InsertWatcher:
		w := op.Watcher
		_, err = s.insWatch.Exec(w.PresentityURI, w.WatcherUsername, w.WatcherDomain,
			w.ToUser, w.ToDomain, w.Event, w.EventID, w.ToTag, w.FromTag, w.CallID, w.LocalCSeq,
			w.RemoteCSeq, w.Contact, w.RecordRoute, w.Expires, w.Status, w.Reason, w.Version,
			w.SocketInfo, w.LocalContact, w.FromUser, w.FromDomain, w.Flags, w.UserAgent)
	case db.UpdateWatcher:
		w := op.Watcher
		_, err = s.updWatch.Exec(w.Expires, w.Status, w.Reason, w.RemoteCSeq,
			w.LocalCSeq, w.Version, w.Contact, w.RecordRoute, w.CallID, w.ToTag, w.FromTag)
	case db.DeleteWatcher:
		_, err = s.delWatch.Exec(op.Dialog.CallID, op.Dialog.ToTag, op.Dialog.FromTag)
	case db.SetAuthorization:
		a := op.Auth
		_, err = s.setAuth.Exec(a.PresentityURI, a.WatcherUsername, a.WatcherDomain, a.Event,
			a.Status, a.Reason, a.InsertedTime)
	case db.DeleteAuthorization:
		a := op.Auth
		_, err = s.delAuth.Exec(a.PresentityURI, a.WatcherUsername, a.WatcherDomain, a.Event)
	default:
		err = fmt.Errorf("unknown op %d", op.Kind)
	}
	return err
}

// LoadPresentities returns every row not expired at now (startup_mode=1 semantics).
func (s *store) LoadPresentities(now int64) ([]db.Presentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.presentities(context.Background(), `WHERE expires > ? OR expires = -1`, now)
}

// LoadWatchers returns every subscription not expired at now.
func (s *store) LoadWatchers(now int64) ([]db.Watcher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watchers(context.Background(), `WHERE expires > ?`, now)
}

// LoadAuthorizations returns every row of the watchers table.
func (s *store) LoadAuthorizations() ([]db.Authorization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authorizations(context.Background(), ``)
}

// presentities, watchers and authorizations read rows of their table; where is the query's
// WHERE clause. Caller holds s.mu.
func (s *store) presentities(ctx context.Context, where string, args ...any) ([]db.Presentity, error) {
	rows, err := s.c.QueryContext(ctx, `SELECT username, domain, event, etag, expires, received_time, body,
 sender, priority, COALESCE(ruid,'') FROM `+s.t.Presentity+` `+where+` ORDER BY received_time, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: loading %s: %w", s.t.Presentity, err)
	}
	defer rows.Close()
	var out []db.Presentity
	for rows.Next() {
		var p db.Presentity
		if err := rows.Scan(&p.Username, &p.Domain, &p.Event, &p.ETag, &p.Expires,
			&p.ReceivedTime, &p.Body, &p.Sender, &p.Priority, &p.RUID); err != nil {
			return nil, fmt.Errorf("sqlite: loading %s: %w", s.t.Presentity, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *store) watchers(ctx context.Context, where string, args ...any) ([]db.Watcher, error) {
	rows, err := s.c.QueryContext(ctx, `SELECT presentity_uri, watcher_username, watcher_domain, to_user,
 to_domain, event, COALESCE(event_id,''), to_tag, from_tag, callid, local_cseq, remote_cseq,
 contact, COALESCE(record_route,''), expires, status, COALESCE(reason,''), version, socket_info,
 local_contact, from_user, from_domain, flags, COALESCE(user_agent,'') FROM `+s.t.ActiveWatchers+` `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: loading %s: %w", s.t.ActiveWatchers, err)
	}
	defer rows.Close()
	var out []db.Watcher
	for rows.Next() {
		var w db.Watcher
		if err := rows.Scan(&w.PresentityURI, &w.WatcherUsername, &w.WatcherDomain, &w.ToUser,
			&w.ToDomain, &w.Event, &w.EventID, &w.ToTag, &w.FromTag, &w.CallID, &w.LocalCSeq,
			&w.RemoteCSeq, &w.Contact, &w.RecordRoute, &w.Expires, &w.Status, &w.Reason,
			&w.Version, &w.SocketInfo, &w.LocalContact, &w.FromUser, &w.FromDomain, &w.Flags,
			&w.UserAgent); err != nil {
			return nil, fmt.Errorf("sqlite: loading %s: %w", s.t.ActiveWatchers, err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (s *store) authorizations(ctx context.Context, where string, args ...any) ([]db.Authorization, error) {
	rows, err := s.c.QueryContext(ctx, `SELECT presentity_uri, watcher_username,
 watcher_domain, event, status, COALESCE(reason,''), inserted_time FROM `+s.t.Watchers+` `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: loading %s: %w", s.t.Watchers, err)
	}
	defer rows.Close()
	var out []db.Authorization
	for rows.Next() {
		var a db.Authorization
		if err := rows.Scan(&a.PresentityURI, &a.WatcherUsername, &a.WatcherDomain, &a.Event,
			&a.Status, &a.Reason, &a.InsertedTime); err != nil {
			return nil, fmt.Errorf("sqlite: loading %s: %w", s.t.Watchers, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
