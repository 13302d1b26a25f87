// Package sip parses the SIP header values the C shim hands over verbatim. Every parser here
// takes outside input: bounded, allocation-light, fuzzed (fuzz_test.go).
package sip

import (
	"errors"
	"strings"
)

// MaxValue bounds any single header value we accept (Kamailio caps URIs at 255 in its tables).
const MaxValue = 4096

// URI is the part of a SIP URI presence needs.
type URI struct {
	Scheme string // "sip", "sips" or "tel"
	User   string
	Host   string // lower-case; IPv6 references keep their brackets
	Port   string
}

// AOR is "sip:user@host" (or "sip:host"), the presentity key stock builds with uandd_to_uri.
func (u URI) AOR() string { return AOR(u.User, u.Host) }

// AOR joins user and host the way stock presence does (utils_func.h uandd_to_uri).
func AOR(user, host string) string {
	if user == "" {
		return "sip:" + host
	}
	return "sip:" + user + "@" + host
}

var errURI = errors.New("malformed SIP URI")

// ParseURI parses a bare URI or a name-addr ("Name" <sip:...>;params).
func ParseURI(s string) (URI, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > MaxValue {
		return URI{}, errURI
	}
	if i := strings.IndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return URI{}, errURI
		}
		s = s[i+1 : i+j]
	}
	for i := 0; i < len(s); i++ { // a URI is echoed in headers: no controls, no spaces
		if s[i] <= ' ' || s[i] == 0x7f {
			return URI{}, errURI
		}
	}
	colon := strings.IndexByte(s, ':')
	if colon <= 0 {
		return URI{}, errURI
	}
	var u URI
	u.Scheme = strings.ToLower(s[:colon])
	if u.Scheme != "sip" && u.Scheme != "sips" && u.Scheme != "tel" {
		return URI{}, errURI
	}
	rest := s[colon+1:]
	if u.Scheme == "tel" {
		if i := strings.IndexAny(rest, ";?"); i >= 0 {
			rest = rest[:i]
		}
		if rest == "" || !IsToken(rest) {
			return URI{}, errURI
		}
		u.User = rest
		return u, nil
	}
	// hostport ends at the first ';' or '?' after the userinfo
	if at := strings.LastIndexByte(cut(rest, "?"), '@'); at >= 0 {
		u.User = rest[:at]
		rest = rest[at+1:]
		if i := strings.IndexByte(u.User, ':'); i >= 0 { // drop a password
			u.User = u.User[:i]
		}
		if u.User == "" || !validUser(u.User) {
			return URI{}, errURI
		}
	}
	hp := rest
	if i := strings.IndexAny(hp, ";?"); i >= 0 {
		hp = hp[:i]
	}
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return URI{}, errURI
		}
		u.Host = strings.ToLower(hp[:end+1])
		if !validIPv6(u.Host[1:end]) {
			return URI{}, errURI
		}
		hp = hp[end+1:]
		if hp != "" {
			if hp[0] != ':' {
				return URI{}, errURI
			}
			u.Port = hp[1:]
		}
	} else {
		if i := strings.IndexByte(hp, ':'); i >= 0 {
			u.Port = hp[i+1:]
			hp = hp[:i]
		}
		u.Host = strings.ToLower(hp)
		if u.Host == "" || !validHost(u.Host) {
			return URI{}, errURI
		}
	}
	if u.Port != "" && !validPort(u.Port) {
		return URI{}, errURI
	}
	return u, nil
}

func cut(s, sep string) string {
	if i := strings.Index(s, sep); i >= 0 {
		return s[:i]
	}
	return s
}

func validUser(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '@' {
			return false
		}
	}
	return true
}

func validHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func validIPv6(s string) bool {
	if len(s) < 2 || len(s) > 45 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

func validPort(s string) bool {
	if len(s) == 0 || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n > 0 && n < 65536
}
