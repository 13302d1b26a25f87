package gopresence

import (
	"strconv"
	"strings"
	"time"

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
	return tooLong(f, what)
}

// Column sizes of Kamailio's tables: longer values could not be stored (MySQL refuses them,
// kamctl truncates), so they are refused up front with 400 rather than failing later.
var maxLen = []struct {
	tag  wire.Tag
	name string
	n    int
}{
	{wire.CallID, "Call-ID", 255}, {wire.FromTag, "From tag", 128}, {wire.ToTag, "To tag", 128},
	{wire.Contact, "Contact", 255}, {wire.IfMatch, "SIP-If-Match", 128},
	{wire.ScriptParam, "function parameter", 255}, {wire.SetETag, "entity-tag", 128},
}

func tooLong(f *wire.Frame, what string) *answer {
	for _, m := range maxLen {
		if v, ok := f.Get(m.tag); ok && len(v) > m.n {
			return badRequest(what + ": " + m.name + " longer than " + strconv.Itoa(m.n) + " bytes")
		}
	}
	// Call-ID and tags are echoed into NOTIFYs: RFC 3261 words, no spaces or controls
	for _, m := range []struct {
		tag  wire.Tag
		name string
	}{{wire.CallID, "Call-ID"}, {wire.FromTag, "From tag"}, {wire.ToTag, "To tag"},
		{wire.SetETag, "entity-tag"}} {
		if v, ok := f.Get(m.tag); ok && !isWord(v) {
			return badRequest(what + ": malformed " + m.name)
		}
	}
	return nil
}

// isWord: RFC 3261 word characters (callid = word ["@" word]; tags are tokens, a subset).
func isWord(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// deadline is when the worker stops waiting for this request (zero: no limit).
func deadline(f *wire.Frame) time.Time {
	ms, err := strconv.ParseInt(f.Str(wire.Deadline), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
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
