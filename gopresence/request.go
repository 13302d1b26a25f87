package gopresence

import (
	"strings"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/sip"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// malformed reports what Kamailio could not parse or found more than once where RFC 3261
// allows one header (Expires, Event, SIP-If-Match, Call-ID, CSeq, From, To, Content-*): 400.
func malformed(f *wire.Frame, what string) *answer {
	if h := f.Str(wire.BadHeader); h != "" {
		return badRequest(what + ": unparsable " + h + " header")
	}
	if h := f.Str(wire.Duplicate); h != "" {
		return badRequest(what + ": more than one " + h + " header")
	}
	return nil
}

// eventOf finds the event package of a request (RFC 6665 §8.2.1/§7.2): no Event header → 489
// as stock does, unparsable → 400, unknown package → 489 with Allow-Events.
func eventOf(f *wire.Frame) (events.Package, sip.Event, *answer) {
	raw, ok := f.Get(wire.Event)
	if !ok || strings.TrimSpace(string(raw)) == "" {
		return nil, sip.Event{}, badEvent("no Event header")
	}
	ev, err := sip.ParseEvent(string(raw))
	if err != nil {
		return nil, ev, badRequest("Event: " + err.Error())
	}
	names := make([]string, len(ev.Params))
	for i, p := range ev.Params {
		names[i] = p.Name
	}
	pkg := events.Lookup(ev.Name, names)
	if pkg == nil {
		return nil, ev, badEvent("unknown event package " + ev.Name)
	}
	return pkg, ev, nil
}

// expiresOf reads Expires: absent → the package default; unparsable → 400 (stock answers
// 500, but a malformed header is the client's error, RFC 3261 §21.4.1); above max_expires →
// clamped (RFC 6665 §4.2.1.1 lets the notifier shorten it).
func (e *Engine) expiresOf(f *wire.Frame, pkg events.Package) (uint32, *answer) {
	v := pkg.DefaultExpires()
	if raw, ok := f.Get(wire.Expires); ok {
		n, err := sip.ParseExpires(string(raw))
		if err != nil {
			return 0, badRequest("Expires: " + err.Error())
		}
		v = n
	}
	if v > e.cfg.MaxExpires {
		v = e.cfg.MaxExpires
	}
	return v, nil
}

// sameMediaType compares a Content-Type value with a package's type, ignoring parameters.
func sameMediaType(value, want string) bool {
	mt, _, _ := strings.Cut(value, ";")
	return strings.EqualFold(strings.TrimSpace(mt), want)
}

type eventPackage = events.Package

func lookupPackage(name string) events.Package { return events.Lookup(name, nil) }
