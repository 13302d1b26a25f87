package db

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// URL is a server db_url split as Kamailio's srdb1 splits it (src/lib/srdb1/db_id.c,
// parse_db_url): scheme://[user[:password]@]host[:port]/database. Every server backend
// (mysql://, and any later one) reads its db_url through ParseURL, so they all accept the
// same forms Kamailio's db modules do.
type URL struct {
	Scheme, User, Password string
	// Host as written: a name, an address ("[...]" stripped from an IPv6 one), or db_mysql's
	// "[group]host" (an option group of my.cnf before the host).
	Host     string
	Port     int // 0: the backend's default
	Database string
}

// ParseURL splits a db_url as db_id.c's parse_db_url does (a port of its state machine, so
// the same URLs mean the same things):
//   - with two '@' before the host, the first stays in the user name (user@domain ids); a
//     password runs to the last '@' of the URL, so it may hold '@' (but not '/');
//   - "host:port/db" without '@' is a host and a port, not a user and a password;
//   - an IPv6 address is written in brackets ("[::1]:3306"); brackets around anything else
//     are kept in Host (db_mysql's "[group]host", a my.cnf option group);
//   - the database ends at the first '?' (what follows is ignored, as Kamailio does).
//
// Unlike Kamailio, a port that is not a number from 1 to 65535 is refused (Kamailio silently
// uses the default port), and so are a URL without a host or without a database. Errors never
// hold the password.
func ParseURL(s string) (URL, error) {
	u, err := parseURL(s)
	if err == nil && (u.Host == "" || u.Database == "") {
		err = errors.New("a host and a database are needed")
	}
	if err != nil {
		return URL{}, fmt.Errorf("db_url %q: %v (the form is scheme://[user[:password]@]host[:port]/database)", RedactURL(s), err)
	}
	return u, nil
}

func parseURL(s string) (URL, error) {
	const (
		stScheme = iota
		stSlash1
		stSlash2
		stUserHost
		stPassPort
		stHost
		stHost6
		stPort
	)
	var u URL
	if len(s) < len("s://a/b") {
		return u, errors.New("too short")
	}
	st, begin, foundAnother, ipv6 := stScheme, 0, false, 0
	var prevToken string
	port := func(p string) error {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		u.Port = n
		return nil
	}
	database := func(i int) (URL, error) {
		u.Database, _, _ = strings.Cut(s[i+1:], "?")
		return u, nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch st {
		case stScheme:
			if c == ':' {
				st, u.Scheme = stSlash1, s[:i]
			}
		case stSlash1, stSlash2:
			if c != '/' {
				return u, errors.New(`no "//" after the scheme`)
			}
			st++
			begin = i + 1
		case stUserHost:
			switch c {
			case '@':
				if !foundAnother && strings.IndexByte(s[i+1:], '@') >= 0 {
					foundAnother = true // the first '@' is the user's own
					continue
				}
				st, u.User, begin = stHost, s[begin:i], i+1
			case ':':
				st, prevToken, begin = stPassPort, s[begin:i], i+1
			case '[':
				st, begin = stHost6, i+1
			case '/':
				u.Host = s[begin:i]
				return database(i)
			}
		case stPassPort:
			switch c {
			case '@':
				st, u.User = stHost, prevToken
				if last := strings.LastIndexByte(s, '@'); last > i {
					i = last // the password runs to the last '@'
				}
				u.Password, begin = s[begin:i], i+1
			case '/':
				u.Host = prevToken
				if err := port(s[begin:i]); err != nil {
					return u, err
				}
				return database(i)
			}
		case stHost:
			switch c {
			case '[':
				st, begin = stHost6, i+1
			case ':':
				st, u.Host, begin = stPort, s[begin:i-ipv6], i+1
			case '/':
				u.Host = s[begin : i-ipv6]
				return database(i)
			}
		case stHost6:
			if c == ']' {
				if _, err := netip.ParseAddr(s[begin:i]); err == nil {
					ipv6 = 1
				} else {
					begin-- // not an address: the brackets stay ([group])
					ipv6 = 0
				}
				st = stHost
			}
		case stPort:
			if c == '/' {
				if err := port(s[begin:i]); err != nil {
					return u, err
				}
				return database(i)
			}
		}
	}
	return u, errors.New("no /database")
}

// String is the URL with its password masked, for logs and errors.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != "" || u.Password != "" {
		b.WriteString(u.User)
		if u.Password != "" {
			b.WriteString(":xxxx")
		}
		b.WriteString("@")
	}
	host := u.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	b.WriteString(host)
	if u.Port != 0 {
		b.WriteString(":" + strconv.Itoa(u.Port))
	}
	return b.String() + "/" + u.Database
}

// RedactURL masks the password of a db_url, parsable or not, for logs and errors: whatever
// stands between the first ':' after "://" and the last '@' before the database.
func RedactURL(s string) string {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		// no scheme: anything before an '@' may be a secret
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			return "xxxx" + s[at:]
		}
		return s
	}
	head := s[:len(s)-len(rest)]
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return s
	}
	return head + user + ":xxxx" + rest[at:]
}
