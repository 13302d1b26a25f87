package sip

import (
	"errors"
	"strconv"
	"strings"
)

// Event is a parsed Event header (RFC 6665 §8.2.1): a package name with optional params.
type Event struct {
	Name   string // lower-case package name, template included ("presence.winfo")
	ID     string // the id parameter, if any
	Params []Param
}

// Param is a header parameter; Value is "" for a flag.
type Param struct{ Name, Value string }

var errEvent = errors.New("malformed Event header")

// ParseEvent parses an Event header value.
func ParseEvent(s string) (Event, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxValue {
		return Event{}, errEvent
	}
	parts := strings.Split(s, ";")
	name := strings.TrimSpace(parts[0])
	if name == "" || !IsToken(name) {
		return Event{}, errEvent
	}
	ev := Event{Name: strings.ToLower(name)}
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if p == "" {
			return Event{}, errEvent
		}
		var pr Param
		if i := strings.IndexByte(p, '='); i >= 0 {
			pr.Name = strings.ToLower(strings.TrimSpace(p[:i]))
			pr.Value = strings.TrimSpace(p[i+1:])
			if len(pr.Value) >= 2 && pr.Value[0] == '"' && pr.Value[len(pr.Value)-1] == '"' {
				pr.Value = pr.Value[1 : len(pr.Value)-1]
				if !printable(pr.Value) {
					return Event{}, errEvent
				}
			} else if pr.Value == "" || !IsToken(pr.Value) {
				return Event{}, errEvent
			}
		} else {
			pr.Name = strings.ToLower(p)
		}
		if !IsToken(pr.Name) {
			return Event{}, errEvent
		}
		if pr.Name == "id" {
			ev.ID = pr.Value
		}
		ev.Params = append(ev.Params, pr)
	}
	return ev, nil
}

// IsToken: RFC 3261 token characters (section 25.1), at least one.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// printable: quoted-string content without controls or quotes, so it can be echoed in a header.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == '"' || s[i] == '\\' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

var errExpires = errors.New("malformed Expires header")

// ParseExpires parses an Expires value (delta-seconds, RFC 3261 §20.19). Values beyond 2^32-1
// are clamped as the RFC asks.
func ParseExpires(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return 0, errExpires
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errExpires
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > 0xffffffff {
		return 0xffffffff, nil
	}
	return uint32(n), nil
}

// ParseCSeq parses a CSeq number (RFC 3261: < 2^31).
func ParseCSeq(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 10 {
		return 0, errors.New("malformed CSeq")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n >= 1<<31 {
		return 0, errors.New("malformed CSeq")
	}
	return uint32(n), nil
}
