package db

import (
	"strings"
	"testing"
)

// The forms db_id.c's parse_db_url gives these meanings to (Kamailio 5.6.3), one by one.
func TestParseURLLikeKamailio(t *testing.T) {
	for in, want := range map[string]URL{
		"mysql://kamailio:kamailiorw@localhost/kamailio": {"mysql", "kamailio", "kamailiorw", "localhost", 0, "kamailio"},
		"mysql://u:p@db.example.com:3307/k":              {"mysql", "u", "p", "db.example.com", 3307, "k"},
		"mysql://u@127.0.0.1/k":                          {"mysql", "u", "", "127.0.0.1", 0, "k"},
		"mysql://127.0.0.1/k":                            {"mysql", "", "", "127.0.0.1", 0, "k"},
		"mysql://127.0.0.1:3306/k":                       {"mysql", "", "", "127.0.0.1", 3306, "k"},
		"mysql://u:p@ss@h/k":                             {"mysql", "u", "p@ss", "h", 0, "k"},
		"mysql://u@dom:p@h/k":                            {"mysql", "u@dom", "p", "h", 0, "k"},
		"mysql://u@dom@h/k":                              {"mysql", "u@dom", "", "h", 0, "k"},
		"mysql://u:p@[::1]:3306/k":                       {"mysql", "u", "p", "::1", 3306, "k"},
		"mysql://u:p@[::1]/k":                            {"mysql", "u", "p", "::1", 0, "k"},
		"mysql://[kamailio]/kamailio":                    {"mysql", "", "", "[kamailio]", 0, "kamailio"},
		"mysql://u:p@[grp]h:3306/k":                      {"mysql", "u", "p", "[grp]h", 3306, "k"},
		"mysql://u:p@h/k?opt=1":                          {"mysql", "u", "p", "h", 0, "k"},
		"postgres://u:p@h:5432/k":                        {"postgres", "u", "p", "h", 5432, "k"},
	} {
		got, err := ParseURL(in)
		if err != nil || got != want {
			t.Errorf("%s: got %+v %v, want %+v", in, got, err, want)
		}
	}
}

// What cannot name a server and a database is refused, and the error never shows a password.
func TestParseURLRefusesWithoutPassword(t *testing.T) {
	for _, in := range []string{"mysql:/u:secret@h/k", "mysql://u:secret@h", "mysql://u:secret@h:port/k",
		"mysql://u:secret@h:0/k", "mysql://u:secret@h:70000/k", "mysql://u:secret@h/", "mysql://u:secret@/k",
		"mysql//u:secret@h/k", "u:secret@h/k", "mysql://"} {
		_, err := ParseURL(in)
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: error shows the password: %v", in, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"mysql://u:secret@h:3306/k":  "mysql://u:xxxx@h:3306/k",
		"mysql://u:sec@ret@h/k":      "mysql://u:xxxx@h/k",
		"mysql://u@d:secret@h/k":     "mysql://u@d:xxxx@h/k",
		"mysql://u@h/k":              "mysql://u@h/k",
		"mysql://h:3306/k":           "mysql://h:3306/k",
		"sqlite:///var/lib/p.db":     "sqlite:///var/lib/p.db",
		"mysql:/u:secret@h/k":        "xxxx@h/k",
		"mysql://u:sec/ret@h/k":      "mysql://u:xxxx@h/k",
		"u:secret@h":                 "xxxx@h",
		"mysql://u:secret@[::1]/k":   "mysql://u:xxxx@[::1]/k",
		"mysql://u:secret@[grp]h/k?": "mysql://u:xxxx@[grp]h/k?",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	u, _ := ParseURL("mysql://u:secret@[::1]:3306/k")
	if s := u.String(); s != "mysql://u:xxxx@[::1]:3306/k" {
		t.Errorf("String: %s", s)
	}
}

// The edges of ParseURL's checks: the shortest URL it takes, the highest port, and an '@'
// right after the user's own '@' (the user ends at the last one before the host).
func TestParseURLEdges(t *testing.T) {
	for in, want := range map[string]URL{
		"s://a/b":               {"s", "", "", "a", 0, "b"},
		"mysql://u:p@h:65535/k": {"mysql", "u", "p", "h", 65535, "k"},
		"mysql://u@@h/k":        {"mysql", "u@", "", "h", 0, "k"},
	} {
		got, err := ParseURL(in)
		if err != nil || got != want {
			t.Errorf("%s: got %+v %v, want %+v", in, got, err, want)
		}
	}
	if _, err := ParseURL("s://a/"); err == nil {
		t.Error(`"s://a/" (6 bytes) accepted`)
	}
}

// String writes "user@" exactly when there is a user or a password, and masks the password.
func TestURLStringUserPart(t *testing.T) {
	for _, c := range []struct {
		u    URL
		want string
	}{
		{URL{Scheme: "mysql", User: "u", Host: "h", Database: "k"}, "mysql://u@h/k"},
		{URL{Scheme: "mysql", Password: "p", Host: "h", Database: "k"}, "mysql://:xxxx@h/k"},
		{URL{Scheme: "mysql", Host: "h", Port: 3306, Database: "k"}, "mysql://h:3306/k"},
	} {
		if got := c.u.String(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.u, got, c.want)
		}
	}
}

// Without a scheme everything up to the last '@' is masked, even when nothing stands before it.
func TestRedactURLLeadingAt(t *testing.T) {
	if got := RedactURL("@h"); got != "xxxx@h" {
		t.Errorf("RedactURL(@h) = %s, want xxxx@h", got)
	}
}
