package gopresence

import (
	"strconv"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/sip"
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
		// no verdict for an event whose rules decide: never active by default (the module
		// could not read the rules, or the request was one it could not judge)
		if me, isModule := s.pkg().(events.ModuleEvent); isModule && me.Authorizes() {
			return 0, "", errNoVerdict
		}
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
		Reason: reasonOf(f.Str(wire.AuthReason)), InsertedTime: now}
	if err := e.storeSubscription(sh, dl, db.Op{Kind: db.SetAuthorization, Auth: a}); err != nil {
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

// reasonOf keeps a reason the rules gave if it can stand in Subscription-State (RFC 6665
// event-reason-value: a token); the rules document is outside input, so anything else is
// dropped (a rejection then says "rejected").
func reasonOf(r string) string {
	if r == "" || len(r) > 64 || !sip.IsToken(r) {
		return ""
	}
	return r
}

type verdictError string

func (v verdictError) Error() string { return string(v) }

const (
	errBadVerdict = verdictError("subscribe: the module's authorization status is not 1..4")
	errNoVerdict  = verdictError("subscribe: no verdict of the module's rules for an event they decide")
)

// rpcAuthorizations lists the verdicts of a presentity for an event (the watchers table rows
// stock's update_watchers_status reads), for the module to re-evaluate with new rules in C.
func (e *Engine) rpcAuthorizations(sh *shard, key presentityKey, _ []string) *answer {
	a := reply(200, "OK", "")
	for _, v := range sh.auth[key] {
		a.rows = append(a.rows, []rpcField{{"user", v.WatcherUsername, false},
			{"domain", v.WatcherDomain, false}, {"status", strconv.Itoa(v.Status), true},
			{"reason", v.Reason, false}})
	}
	return a
}

// rpcReauthorize applies new verdicts the module's rules gave (update_watchers_status): each
// changed watcher's subscriptions get the new state at once, in a NOTIFY the caller sends
// (pending: no body; active: the state; terminated: the rules' reason, and the subscription
// ends). args: user, domain, status, reason per watcher.
func (e *Engine) rpcReauthorize(sh *shard, key presentityKey, args []string) *answer {
	if len(args)%4 != 0 {
		return reply(500, "Not enough parameters", "")
	}
	now := e.now().Unix()
	var ops []db.Op
	var notifs []notifyReq
	for i := 0; i < len(args); i += 4 {
		user, domain, reason := args[i], args[i+1], reasonOf(args[i+3])
		status, err := strconv.Atoi(args[i+2])
		if err != nil || status < StatusActive || status > StatusWaiting {
			return reply(500, "Bad status", "reauthorize: status "+strconv.Quote(args[i+2]))
		}
		id := watcherID(user, domain)
		old := sh.auth[key][id]
		if old != nil && old.Status == status && old.Reason == reason {
			continue
		}
		v := &db.Authorization{PresentityURI: key.uri, WatcherUsername: user, WatcherDomain: domain,
			Event: key.event, Status: status, Reason: reason, InsertedTime: now}
		if old != nil {
			v.InsertedTime = old.InsertedTime
		}
		e.setAuth(sh, key, id, v)
		ops = append(ops, db.Op{Kind: db.SetAuthorization, Auth: v})
		for _, s := range append([]*subscription(nil), sh.subs[key]...) { // delSub edits the list
			if s.WatcherUsername != user || s.WatcherDomain != domain || s.Expires <= now {
				continue
			}
			s.Status, s.Reason = status, intern(reason)
			if status == StatusTerminated {
				notifs = append(notifs, e.buildNotify(s, notifyState{status: StatusTerminated, reason: orDefault(reason, "rejected")}, nil))
				ops = append(ops, db.Op{Kind: db.DeleteWatcher, Dialog: s.dialog()})
				e.delSub(sh, s)
				continue
			}
			notifs = append(notifs, e.buildNotify(s, notifyState{status: status, expires: s.Expires - now}, e.bodyFor(sh, s)))
			row := s.Watcher
			ops = append(ops, db.Op{Kind: db.UpdateWatcher, Watcher: &row})
		}
	}
	if err := e.storeSubscription(sh, time.Time{}, ops...); err != nil {
		return e.commitFailed("reauthorize "+key.uri, err)
	}
	a := reply(200, "OK", "")
	a.notifs = notifs
	return a
}
