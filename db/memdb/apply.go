package memdb

import (
	"fmt"

	"github.com/gopresence/gopresence/db"
)

// tx is one batch in progress: every change records how to undo it, so a failed (or
// panicking) batch leaves the database as it was.
type tx struct {
	d    *database
	pres *presTable
	wat  *watchTable
	auth map[authKey]*db.Authorization
	undo []func()
}

// Apply writes ops in order, all or none.
func (b *DB) Apply(ops []db.Op) (err error) {
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	t := &tx{d: b.d, pres: b.d.pres[b.t.Presentity], wat: b.d.watch[b.t.ActiveWatchers], auth: b.d.auth[b.t.Watchers]}
	committed := false
	defer func() {
		if !committed {
			t.rollback() // an error, or a panic on its way up
		}
	}()
	for i := range ops {
		if b.d.fault != nil {
			if err := b.d.fault(ops[i]); err != nil {
				return fmt.Errorf("memdb: writing %s: %w", ops[i], err)
			}
		}
		if err := t.apply(&ops[i]); err != nil {
			return fmt.Errorf("memdb: writing %s: %w", ops[i], err)
		}
	}
	committed = true
	return nil
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
}

func (t *tx) apply(op *db.Op) error {
	switch op.Kind {
	case db.InsertPresentity:
		return t.putPresentity(0, op.Presentity)
	case db.UpdatePresentity:
		if id, ok := t.pres.byRUID[op.Presentity.RUID]; ok {
			old := t.pres.rows[id]
			upd := copyPresentity(old)
			// the columns UPDATE sets; the row keeps its username, domain, event and ruid
			p := op.Presentity
			upd.ETag, upd.Expires, upd.ReceivedTime, upd.Body, upd.Sender, upd.Priority =
				p.ETag, p.Expires, p.ReceivedTime, append([]byte{}, p.Body...), p.Sender, p.Priority
			t.delPresentity(id)
			return t.putPresentity(id, &upd)
		}
	case db.DeletePresentity:
		if id, ok := t.pres.byRUID[op.RUID]; ok {
			t.delPresentity(id)
		}
	case db.InsertWatcher:
		// INSERT OR REPLACE: the dialog's old row goes, the new one gets a new id
		if id, ok := t.wat.byDialog[dialogOf(op.Watcher)]; ok {
			t.delWatcher(id)
		}
		t.d.nextID++
		t.putWatcher(t.d.nextID, op.Watcher)
	case db.UpdateWatcher:
		if id, ok := t.wat.byDialog[dialogOf(op.Watcher)]; ok {
			upd := *t.wat.rows[id]
			w := op.Watcher
			upd.Expires, upd.Status, upd.Reason, upd.RemoteCSeq, upd.LocalCSeq, upd.Version, upd.Contact, upd.RecordRoute =
				w.Expires, w.Status, w.Reason, w.RemoteCSeq, w.LocalCSeq, w.Version, w.Contact, w.RecordRoute
			t.delWatcher(id)
			t.putWatcher(id, &upd)
		}
	case db.DeleteWatcher:
		if id, ok := t.wat.byDialog[op.Dialog]; ok {
			t.delWatcher(id)
		}
	case db.SetAuthorization, db.DeleteAuthorization:
		k := authKeyOf(op.Auth)
		old, had := t.auth[k]
		if op.Kind == db.SetAuthorization {
			row := *op.Auth
			t.auth[k] = &row
		} else {
			delete(t.auth, k)
		}
		t.undo = append(t.undo, func() {
			if had {
				t.auth[k] = old
			} else {
				delete(t.auth, k)
			}
		})
	default:
		return fmt.Errorf("unknown op %d", op.Kind)
	}
	return nil
}

// putPresentity stores a copy of p under id (0: a new id), refusing a taken unique key.
func (t *tx) putPresentity(id int64, p *db.Presentity) error {
	if _, dup := t.pres.byRUID[p.RUID]; dup {
		return fmt.Errorf("%w: ruid %q", ErrConstraint, p.RUID)
	}
	if _, dup := t.pres.byETag[keyOf(p)]; dup {
		return fmt.Errorf("%w: etag %q of %s@%s", ErrConstraint, p.ETag, p.Username, p.Domain)
	}
	if id == 0 {
		t.d.nextID++
		id = t.d.nextID
	}
	row := copyPresentity(p)
	t.pres.rows[id] = &row
	t.pres.byRUID[row.RUID] = id // "" too: the SQLite backend stores it as '', not NULL
	t.pres.byETag[keyOf(&row)] = id
	t.undo = append(t.undo, func() { t.unlinkPresentity(id) })
	return nil
}

func (t *tx) delPresentity(id int64) {
	row := t.pres.rows[id]
	t.unlinkPresentity(id)
	t.undo = append(t.undo, func() {
		t.pres.rows[id] = row
		t.pres.byRUID[row.RUID] = id
		t.pres.byETag[keyOf(row)] = id
	})
}

func (t *tx) unlinkPresentity(id int64) {
	row := t.pres.rows[id]
	delete(t.pres.rows, id)
	delete(t.pres.byRUID, row.RUID)
	delete(t.pres.byETag, keyOf(row))
}

func dialogOf(w *db.Watcher) db.DialogKey {
	return db.DialogKey{CallID: w.CallID, ToTag: w.ToTag, FromTag: w.FromTag}
}

func (t *tx) putWatcher(id int64, w *db.Watcher) {
	row := *w
	t.wat.rows[id] = &row
	t.wat.byDialog[dialogOf(&row)] = id
	t.undo = append(t.undo, func() {
		delete(t.wat.rows, id)
		delete(t.wat.byDialog, dialogOf(&row))
	})
}

func (t *tx) delWatcher(id int64) {
	row := t.wat.rows[id]
	delete(t.wat.rows, id)
	delete(t.wat.byDialog, dialogOf(row))
	t.undo = append(t.undo, func() {
		t.wat.rows[id] = row
		t.wat.byDialog[dialogOf(row)] = id
	})
}
