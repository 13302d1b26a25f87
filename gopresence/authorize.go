package gopresence

import (
	"strconv"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// Watcher authorization for events whose C module decides it (req_auth: presence_xml's
// pres-rules, RFC 5025). The module's rules run in C (the worker, before the engine sees the
// SUBSCRIBE; module/auth.c); the engine keeps each verdict in the watchers table and, as stock
// does (subscribe.c:1155-1199), the first verdict for a (presentity, watcher, event) stands
// until the rules change (update_watchers_status), whatever later SUBSCRIBEs' rules said.

// watcherID names a watcher within a presentity's verdicts.
func watcherID(user, domain string) string { return user + "@" + domain }

// verdict is the status and reason of a new subscription of s: the stored one, or the one the
// request carries (stored now). Caller holds sh.mu. ok is false when the request carries none
// (the event needs no authorization: active).
func (e *Engine) verdict(sh *shard, s *subscription, f *wire.Frame, now int64, dl time.Time) (status int, reason string, err error) {
	v, ok := f.Get(wire.AuthStatus)
	if !ok {
		return StatusActive, "", nil
	}
	key := s.key()
	id := watcherID(s.WatcherUsername, s.WatcherDomain)
	if a := sh.auth[key][id]; a != nil {
		return a.Status, a.Reason, nil
	}
	status, convErr := strconv.Atoi(string(v))
	if convErr != nil || status < StatusActive || status > StatusWaiting {
		return 0, "", errBadVerdict
	}
	a := &db.Authorization{PresentityURI: key.uri, WatcherUsername: s.WatcherUsername,
		WatcherDomain: s.WatcherDomain, Event: key.event, Status: status,
		Reason: f.Str(wire.AuthReason), InsertedTime: now}
	if err := e.storeSubscription(dl, db.Op{Kind: db.SetAuthorization, Auth: a}); err != nil {
		return 0, "", err
	}
	e.setAuth(sh, key, id, a)
	return a.Status, a.Reason, nil
}

// setAuth records a verdict in memory. Caller holds sh.mu (or is restoring).
func (e *Engine) setAuth(sh *shard, key presentityKey, id string, a *db.Authorization) {
	if sh.auth == nil {
		sh.auth = map[presentityKey]map[string]*db.Authorization{}
	}
	m := sh.auth[key]
	if m == nil {
		m = map[string]*db.Authorization{}
		sh.auth[key] = m
	}
	m[id] = a
}

type verdictError string

func (v verdictError) Error() string { return string(v) }

const errBadVerdict = verdictError("subscribe: the module's authorization status is not 1..4")

// restoreAuthorizations loads the watchers table.
func (e *Engine) restoreAuthorizations() error {
	as, err := e.store.LoadAuthorizations()
	if err != nil {
		return err
	}
	for i := range as {
		a := &as[i]
		key := presentityKey{uri: a.PresentityURI, event: a.Event}
		e.setAuth(e.shards.of(key), key, watcherID(a.WatcherUsername, a.WatcherDomain), a)
	}
	return nil
}
