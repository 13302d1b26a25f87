// Package db stores presence state in Kamailio's own tables (presentity, active_watchers,
// watchers, xcap, version) so that kamctl, kamcli and operators' SQL keep working.
// The engine keeps the working state in memory; this package only persists and restores it.
package db

// Presentity is one row of the presentity table: one publication (RFC 3903 event state).
type Presentity struct {
	Username, Domain, Event, ETag string
	Expires                       int64 // absolute unix time
	ReceivedTime                  int64
	Body                          []byte
	Sender                        string
	Priority                      int64
	RUID                          string
}

// Watcher is one row of active_watchers: one subscription dialog (RFC 6665).
type Watcher struct {
	PresentityURI                   string
	WatcherUsername, WatcherDomain  string
	ToUser, ToDomain                string
	Event, EventID                  string
	ToTag, FromTag, CallID          string
	LocalCSeq, RemoteCSeq           int64
	Contact, RecordRoute            string
	Expires                         int64 // absolute unix time
	Status                          int
	Reason                          string
	Version                         int64
	SocketInfo, LocalContact        string
	FromUser, FromDomain, UserAgent string
	Flags                           int64
}

// Op is one change, applied with others in a single transaction (group commit).
type Op struct {
	Kind       OpKind
	Presentity *Presentity    // InsertPresentity, UpdatePresentity (by RUID)
	RUID       string         // DeletePresentity
	Watcher    *Watcher       // InsertWatcher, UpdateWatcher (by dialog)
	Dialog     DialogKey      // DeleteWatcher
	Auth       *Authorization // SetAuthorization, DeleteAuthorization (by its unique key)
}

// Authorization is one row of the watchers table: the status a presentity's rules gave one
// watcher for one event. Stock keeps the first verdict until the rules change (RFC 5025 via a
// C module's get_auth_status); its unique key is (presentity_uri, watcher, event).
type Authorization struct {
	PresentityURI, WatcherUsername, WatcherDomain, Event string
	Status                                               int
	Reason                                               string
	InsertedTime                                         int64
}

// String names the row the op writes, for errors and logs: "publication <etag>" (its ruid
// when deleting), "subscription <call-id>".
func (op Op) String() string {
	switch {
	case op.Presentity != nil:
		return "publication " + op.Presentity.ETag
	case op.Watcher != nil:
		return "subscription " + op.Watcher.CallID
	case op.Auth != nil:
		return "authorization of " + op.Auth.WatcherUsername + "@" + op.Auth.WatcherDomain + " for " + op.Auth.PresentityURI
	case op.RUID != "":
		return "publication " + op.RUID
	default:
		return "subscription " + op.Dialog.CallID
	}
}

// OpKind says what an Op does.
type OpKind int

const (
	InsertPresentity OpKind = iota + 1
	UpdatePresentity
	DeletePresentity
	InsertWatcher
	UpdateWatcher
	DeleteWatcher
	SetAuthorization    // insert, or replace the row of the same key
	DeleteAuthorization // by key
)

// DialogKey is the unique key of active_watchers.
type DialogKey struct{ CallID, ToTag, FromTag string }
