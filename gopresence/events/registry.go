// Package events is the registry of SIP event packages (RFC 6665 §7). Each package lives in
// its own folder below this one and registers itself from init(), like CoreDNS plugins.
package events

import (
	"sort"
	"strings"
	"sync"
)

// Publication is one stored PUBLISH body of a presentity, as a package sees it.
type Publication struct {
	ETag   string
	Body   []byte
	Sender string
}

// Package is one event package.
type Package interface {
	// Name is the Event header value that selects the package ("presence", "dialog;sla").
	Name() string
	// ContentType of PUBLISH and NOTIFY bodies.
	ContentType() string
	// DefaultExpires applies when a request has no Expires header.
	DefaultExpires() uint32
	// Validate checks a PUBLISH body; an error is answered with 415 (RFC 3903 §6 step 5).
	Validate(body []byte) error
	// NotifyBody builds the NOTIFY body from the presentity's publications, oldest first.
	// offline names a publication being removed, to be rendered as no longer present.
	// nil means "no state": the NOTIFY goes without a body.
	NotifyBody(pubs []Publication, offline string) []byte
}

var (
	mu       sync.RWMutex
	packages = map[string]Package{}
	order    []string // registration order, newest first (stock's Allow-Events order)
)

// Register adds a package; called from the package's init().
func Register(p Package) {
	mu.Lock()
	defer mu.Unlock()
	key := strings.ToLower(p.Name())
	if _, dup := packages[key]; !dup {
		order = append([]string{key}, order...)
	}
	packages[key] = p
}

// Unregister removes a package (tests that registered a C module's events put the registry
// back as they found it; the engine itself only adds).
func Unregister(name string) {
	mu.Lock()
	defer mu.Unlock()
	key := strings.ToLower(name)
	delete(packages, key)
	for i, k := range order {
		if k == key {
			order = append(order[:i:i], order[i+1:]...)
			break
		}
	}
}

// Lookup finds the package for an Event header's name and parameter names. A package
// registered with a parameter ("dialog;sla") matches when the request carries it; other
// parameters (id=, and ones we do not know) do not prevent a match. (Stock 5.6.3 requires the
// parameter sets to be identical, so `presence;id=1` gets 489 there: a quirk we fix.)
func Lookup(name string, params []string) Package {
	mu.RLock()
	defer mu.RUnlock()
	name = strings.ToLower(name)
	for _, p := range params {
		if p = strings.ToLower(p); p != "id" {
			if pkg, ok := packages[name+";"+p]; ok {
				return pkg
			}
		}
	}
	return packages[name]
}

// Names lists registered packages for Allow-Events, newest registration first (as stock).
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return append([]string(nil), order...)
}

// Sorted lists registered package names alphabetically (for logs and tests).
func Sorted() []string {
	n := Names()
	sort.Strings(n)
	return n
}

// ModuleEvent is a package that a Kamailio C module registered through bind_presence's
// add_event (presence_dialoginfo's "dialog", presence_mwi's "message-summary", ...). The
// engine keeps its state, order, storage, expiry and fan-out like any package's; what is the C
// module's stays in C: the PUBLISH body check ran in the worker before the engine saw the
// request, and the NOTIFY body is finished by the C side (the Content-Type it carries,
// aggregation by agg_nbody, per-watcher aux_body_processing).
type ModuleEvent interface {
	Package
	// Aggregates: the C module aggregates bodies (agg_nbody), so NotifyBody's result is the
	// stored bodies encoded for it (events/cmodule.Parts), not a body.
	Aggregates() bool
	// KeepsETag: a refresh or modify keeps the publication's entity-tag (etag_not_new).
	KeepsETag() bool
	// Authorizes: the module's rules decide each watcher (req_auth): the C side hands their
	// verdict with every initial SUBSCRIBE.
	Authorizes() bool
	// Watches: for a watcher-info event (RFC 3857, "presence.winfo"), the event whose
	// watchers it lists; its NOTIFY bodies are the engine's (watcherinfo.go). "" otherwise.
	Watches() string
}
