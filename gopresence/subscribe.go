package gopresence

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/sip"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// handleSubscribe implements the notifier side of RFC 6665 §4.2.1 for one SUBSCRIBE.
func (e *Engine) handleSubscribe(f *wire.Frame) *answer {
	if a := malformed(f, "subscribe"); a != nil {
		return a
	}
	pkg, ev, a := eventOf(f)
	if a != nil {
		return a
	}
	expires, a := e.expiresOf(f, pkg)
	if a != nil {
		return a
	}
	if expires != 0 && e.cfg.MinExpires > 0 && expires < e.cfg.MinExpires {
		if e.cfg.MinExpiresAction == 1 {
			a := reply(423, "Interval Too Brief", "subscribe: Expires "+strconv.Itoa(int(expires))+" below min_expires")
			a.header("Min-Expires", strconv.Itoa(int(e.cfg.MinExpires)))
			return a
		}
		expires = e.cfg.MinExpires
	}
	callID, fromTag, toTag := f.Str(wire.CallID), f.Str(wire.FromTag), f.Str(wire.ToTag)
	if callID == "" || fromTag == "" {
		return badRequest("subscribe: missing Call-ID or From tag")
	}
	cseq, err := sip.ParseCSeq(f.Str(wire.CSeq))
	if err != nil {
		return badRequest("subscribe: " + err.Error())
	}
	contact := f.Str(wire.Contact)
	if contact == "" || f.Str(wire.ContactCount) == "*" {
		return badRequest("subscribe: missing or '*' Contact") // RFC 6665 §4.1.2
	}
	if _, err := sip.ParseURI(contact); err != nil || len(contact) > 255 {
		return badRequest("subscribe: bad Contact URI " + strconv.Quote(contact))
	}
	now := e.now().Unix()
	if toTag == "" {
		return e.initialSubscribe(f, pkg, ev.ID, expires, uint32(cseq), contact, now)
	}
	conn := streamConnection(f.Str(wire.Socket), f.Str(wire.Source), "")
	return e.inDialogSubscribe(db.DialogKey{CallID: callID, ToTag: toTag, FromTag: fromTag},
		pkg.Name(), expires, int64(cseq), contact, conn, now, deadline(f))
}

func (e *Engine) initialSubscribe(f *wire.Frame, pkg events.Package, eventID string, expires, cseq uint32, contact string, now int64) *answer {
	ruri, err := sip.ParseURI(f.Str(wire.RURI))
	if err != nil || ruri.Host == "" {
		return badRequest("subscribe: bad Request-URI " + strconv.Quote(f.Str(wire.RURI)))
	}
	from, err := sip.ParseURI(f.Str(wire.FromURI))
	if err != nil {
		return badRequest("subscribe: bad From URI")
	}
	to, err := sip.ParseURI(f.Str(wire.ToURI))
	if err != nil {
		return badRequest("subscribe: bad To URI")
	}
	watcher := from
	if p := f.Str(wire.ScriptParam); p != "" {
		if watcher, err = sip.ParseURI(p); err != nil {
			return badRequest("subscribe: bad watcher URI parameter " + strconv.Quote(p))
		}
	}
	toTag := e.dialogTag(f.Str(wire.CallID), f.Str(wire.FromTag), cseq)
	s := newSubscription(db.Watcher{
		PresentityURI: ruri.AOR(), WatcherUsername: watcher.User, WatcherDomain: watcher.Host,
		ToUser: to.User, ToDomain: to.Host, FromUser: from.User, FromDomain: from.Host,
		Event: pkg.Name(), EventID: eventID,
		ToTag: toTag, FromTag: f.Str(wire.FromTag), CallID: f.Str(wire.CallID),
		RemoteCSeq: int64(cseq), Contact: contact, RecordRoute: f.Str(wire.RecordRoute),
		Expires: now + int64(expires), Status: StatusActive,
		SocketInfo: f.Str(wire.Socket), LocalContact: e.localContact(f.Str(wire.Advertised)),
		UserAgent: truncate(f.Str(wire.UserAgent), 255),
	}, pkg.Name())
	s.connection = streamConnection(f.Str(wire.Socket), f.Str(wire.Source), f.Str(wire.RecordRoute))
	return e.locked(s.PresentityURI, deadline(f), "subscribe", func(sh *shard) *answer {
		return e.subscribeLocked(sh, f, s, expires, now)
	})
}

// subscribeLocked adds a new subscription to its presentity's state. Caller holds sh.mu.
func (e *Engine) subscribeLocked(sh *shard, f *wire.Frame, s *subscription, expires uint32, now int64) *answer {
	status, reason, err := e.verdict(sh, s, f, now, deadline(f))
	if err != nil {
		return e.commitFailed("subscribe: authorizing "+s.CallID, err)
	}
	s.Status, s.Reason = status, intern(reason)
	// a rejected watcher gets its 2xx and one NOTIFY terminated with the rules' reason
	// (stock, and RFC 6665 §4.2.1.3 lets the notifier do so); nothing is kept
	if expires > 0 && status != StatusTerminated {
		row := s.Watcher // the op must not share s: NOTIFYs change it while the op waits
		if err := e.storeSubscription(sh, deadline(f), db.Op{Kind: db.InsertWatcher, Watcher: &row}); err != nil {
			return e.commitFailed("subscribe: storing "+s.CallID, err)
		}
		e.addSub(sh, s)
	}
	a := e.subscribeOK(expires, s)
	a.toTag = s.ToTag
	if expires > 0 && status != StatusTerminated {
		a.notifs = e.winfoNotifies(sh, s.key(), s, now) // its watchers learn of it first (stock)
	}
	st := notifyState{status: status, expires: int64(expires)}
	switch {
	case status == StatusTerminated:
		st = notifyState{status: StatusTerminated, reason: orDefault(reason, "rejected")}
	case expires == 0:
		// A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, terminating the subscription.
		st = notifyState{status: StatusTerminated, reason: "timeout"}
	case e.cfg.SendFastNotify == 0:
		return a // send_fast_notify=0: the first NOTIFY waits for a state change
	}
	a.notifs = append(a.notifs, e.buildNotify(s, st, e.bodyFor(sh, s)))
	return a
}

// bodyFor is the body a NOTIFY to s carries: the current state, for an active watcher only
// (a pending or rejected one learns nothing of the presentity, RFC 6665 §4.2.2).
func (e *Engine) bodyFor(sh *shard, s *subscription) []byte {
	if s.Status != StatusActive {
		return nil
	}
	if watched := watchedEvent(s.pkg()); watched != "" {
		return e.winfoBody(sh, s, watched, nil, e.now().Unix())
	}
	return e.currentBody(sh, s.key())
}

func orDefault(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

func (e *Engine) inDialogSubscribe(dk db.DialogKey, event string, expires uint32, cseq int64, contact, conn string, now int64, dl time.Time) *answer {
	// a conflict with another node's change of the presentity is made again, as locked's
	return e.retryConflicts(dl, "subscribe: dialog "+dk.CallID, func() (*answer, error) {
		return e.inDialogSubscribeOnce(dk, event, expires, cseq, contact, conn, now, dl)
	})
}

func (e *Engine) inDialogSubscribeOnce(dk db.DialogKey, event string, expires uint32, cseq int64, contact, conn string, now int64, dl time.Time) (*answer, error) {
	sh, s, err := e.lockDialog(dk, dl)
	if err != nil {
		return nil, fmt.Errorf("finding the dialog: %w", err)
	}
	if s == nil || s.key().event != event {
		if s != nil {
			e.unlock(sh, false)
		}
		return reply(481, "Subscription does not exist", "subscribe: no subscription for dialog "+dk.CallID), nil
	}
	ended := false
	defer func() {
		if !ended { // a panic rolls back
			e.unlock(sh, false)
		}
	}()
	a := e.refreshLocked(sh, s, dk, expires, cseq, contact, conn, now, dl)
	ended = true
	return e.endChangeErr(sh, a, dl)
}

// refreshLocked applies an in-dialog SUBSCRIBE to its subscription. Caller holds sh.mu.
func (e *Engine) refreshLocked(sh *shard, s *subscription, dk db.DialogKey, expires uint32, cseq int64, contact, conn string, now int64, dl time.Time) *answer {
	key := s.key()
	if cseq+int64(e.cfg.CSeqOffset) <= s.RemoteCSeq {
		// RFC 3261 §12.2.2: an out-of-order request is rejected with 500 (stock sends 400).
		return serverError("subscribe: dialog " + dk.CallID + ": stale CSeq " +
			strconv.FormatInt(cseq, 10) + " <= " + strconv.FormatInt(s.RemoteCSeq, 10))
	}
	body := e.bodyFor(sh, s)
	if expires == 0 {
		if err := e.storeSubscription(sh, dl, db.Op{Kind: db.DeleteWatcher, Dialog: dk}); err != nil {
			return e.commitFailed("subscribe: removing "+dk.CallID, err)
		}
		e.delSub(sh, s)
		s.RemoteCSeq = cseq
		a := e.subscribeOK(0, s)
		a.notifs = append(e.winfoNotifies(sh, key, nil, now),
			e.buildNotify(s, notifyState{status: StatusTerminated, reason: "timeout"}, body))
		return a
	}
	row := s.Watcher // applied to s only once stored
	row.Expires, row.RemoteCSeq, row.Contact = now+int64(expires), cseq, contact
	if err := e.storeSubscription(sh, dl, db.Op{Kind: db.UpdateWatcher, Watcher: &row}); err != nil {
		return e.commitFailed("subscribe: refreshing "+dk.CallID, err)
	}
	s.Expires, s.RemoteCSeq, s.Contact = row.Expires, cseq, contact
	if s.RecordRoute == "" {
		s.connection = conn // the refresh may come over a new connection
	}
	a := e.subscribeOK(expires, s)
	a.notifs = e.winfoNotifies(sh, key, s, now)
	if e.cfg.SendFastNotify != 0 {
		a.notifs = append(a.notifs, e.buildNotify(s, notifyState{status: s.Status, expires: int64(expires)}, e.bodyFor(sh, s)))
	}
	return a
}

// newSubscription makes a subscription of a row, sharing the strings that repeat.
func newSubscription(w db.Watcher, event string) *subscription {
	w.Event = intern(event)
	w.WatcherDomain, w.ToDomain, w.FromDomain = intern(w.WatcherDomain), intern(w.ToDomain), intern(w.FromDomain)
	w.SocketInfo, w.LocalContact = intern(w.SocketInfo), intern(w.LocalContact)
	w.UserAgent, w.EventID, w.Reason = intern(w.UserAgent), intern(w.EventID), intern(w.Reason)
	w.ToUser, w.PresentityURI = internWeak(w.ToUser), internWeak(w.PresentityURI)
	// the strings of this dialog alone share one allocation (one header, no size-class
	// rounding per string); the watcher is usually the From user
	sameUser := w.FromUser == w.WatcherUsername
	pack(&w.CallID, &w.FromTag, &w.ToTag, &w.Contact, &w.RecordRoute, &w.WatcherUsername)
	if sameUser {
		w.FromUser = w.WatcherUsername
	} else {
		pack(&w.FromUser)
	}
	return &subscription{Watcher: w}
}

// pack copies the strings into one new allocation and points them at their parts of it.
func pack(fields ...*string) {
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(*f)
	}
	all, off := b.String(), 0
	for _, f := range fields {
		l := len(*f)
		*f = all[off : off+l]
		off += l
	}
}

// subscribeOK: 200 (or 202 with subs_respond_200=0) with Expires and our Contact
// (RFC 6665 §4.2.1.1; stock subscribe.c:63-139).
func (e *Engine) subscribeOK(expires uint32, s *subscription) *answer {
	a := reply(200, "OK", "")
	if e.cfg.SubsRespond200 == 0 {
		a = reply(202, "Accepted", "")
	}
	a.header("Expires", strconv.Itoa(int(expires)))
	a.header("Contact", "<"+contactWithTransport(s.LocalContact, s.SocketInfo)+">")
	a.subs = snapshot(s, int64(expires), s.Status, s.Reason, false)
	return a
}

// currentBody is the NOTIFY body for the presentity's current state. Caller holds sh.mu.
func (e *Engine) currentBody(sh *shard, key presentityKey) []byte {
	pr := sh.pres[key]
	if pr == nil {
		return nil
	}
	pkg := events.Lookup(key.event, nil)
	if pkg == nil {
		return nil
	}
	return pkg.NotifyBody(pr.publications(), "")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
