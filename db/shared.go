package db

import (
	"context"
	"errors"
)

// Shared is what a backend offers when several engines (Kamailio nodes) keep their state in one
// database: the stock parameters subs_db_mode=3 (DB_ONLY) with publ_cache=0. Then the database,
// not an engine's memory, holds the state, and every change of a presentity is one transaction
// that holds the presentity's lock from reading its rows to the commit:
//
//   - Lock begins it; until Commit or Rollback, no other engine on the database changes (or
//     Locks) that presentity URI. Changes of other presentities go on in parallel where the
//     database allows it.
//   - Load reads the presentity's rows inside the transaction: the engine decides on what is
//     committed, never on what an other node held in memory.
//   - Apply writes the change, Commit makes it visible. NOTIFYs leave only after the commit, so
//     each change is notified once, by the engine that made it, with the CSeqs it committed.
//
// An expired row is removed by whichever engine's timer Locks its presentity first; the others
// find it gone when they Load.
type Shared interface {
	Backend
	// Lock begins a transaction holding the lock of presentity uri ("sip:user@domain").
	// ctx bounds the wait for the lock (the request's deadline).
	Lock(ctx context.Context, uri string) (Tx, error)
	// DialogURI is the presentity_uri of the subscription dialog d, "" when there is none.
	DialogURI(ctx context.Context, d DialogKey) (string, error)
	// DueSubscriptions lists the presentity URIs that have a subscription expired at now.
	DueSubscriptions(now int64) ([]string, error)
	// DuePublications lists the (username, domain) of presentities that have a publication
	// expired at now (expires -1 never expires).
	DuePublications(now int64) ([][2]string, error)
}

// Tx is one locked presentity's transaction.
type Tx interface {
	// Load reads every row of the presentity: publications of username@domain (every event,
	// expired ones too, oldest received first), subscriptions and authorizations of uri.
	Load(uri, username, domain string) (Rows, error)
	// Apply writes changes inside the transaction, in order (Backend.Apply's contract).
	Apply(ops []Op) error
	Commit() error
	Rollback() error
}

// Rows are one presentity's rows.
type Rows struct {
	Presentities   []Presentity
	Watchers       []Watcher
	Authorizations []Authorization
}

// ErrNotShared: the configuration asks for the shared mode and the db_url's backend does not
// offer it.
var ErrNotShared = errors.New("this database backend cannot be shared by several nodes")

// ErrConflict wraps a backend's error when the database rolled a transaction back because
// another one touched the same rows at once (a deadlock victim, a Galera certification
// failure): nothing of it was applied and running it again may succeed.
var ErrConflict = errors.New("transaction conflict")
