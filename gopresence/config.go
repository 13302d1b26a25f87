// Package gopresence is the presence engine: PUBLISH, SUBSCRIBE and NOTIFY semantics
// (RFC 3903, RFC 6665, RFC 3856), state, storage and timers. Pure Go: Kamailio is reached only
// through wire frames (package wire), so everything here runs under `go test` alone.
package gopresence

import (
	"bufio"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/events/cmodule"
	"github.com/gopresence/gopresence/gopresence/sip"
)

// Config holds the module parameters the engine uses. module/params.def is their one table:
// names, defaults and what a bad value becomes are decided there, and the C module hands the
// engine only values that passed (as "name=value" lines, ParseConfig). Each field's `param` tag
// is its modparam name; config_test.go holds this struct and DefaultConfig against the table.
// A `check` tag names a SIP syntax rule (the table's GP_SIP_URI, GP_TOKEN32): SIP syntax is
// the engine's, so the module's start-up check (Validate) applies it, and a bad value stops
// Kamailio naming the parameter.
type Config struct {
	DBURL               string `param:"db_url"`
	PresentityTable     string `param:"presentity_table"`
	ActiveWatchersTable string `param:"active_watchers_table"`
	WatchersTable       string `param:"watchers_table"`
	CleanPeriod         int    `param:"clean_period"`
	DBUpdatePeriod      int    `param:"db_update_period"`
	ExpiresOffset       int    `param:"expires_offset"`
	MaxExpires          uint32 `param:"max_expires"`
	MinExpires          uint32 `param:"min_expires"`
	MinExpiresAction    int    `param:"min_expires_action"`
	ServerAddress       string `param:"server_address" check:"sip_uri"`
	SubsHtableSize      int    `param:"subs_htable_size"`
	PresHtableSize      int    `param:"pres_htable_size"`
	TimeoutRmSubs       int    `param:"timeout_rm_subs"`
	SubsRespond200      int    `param:"subs_respond_200"`
	SendFastNotify      int    `param:"send_fast_notify"`
	CSeqOffset          int    `param:"cseq_offset"`
	ToTagPref           string `param:"to_tag_pref" check:"token32"`
	ForceDelete         int    `param:"force_delete"`
	SipURIMatch         int    `param:"sip_uri_match"`
	SubsDBMode          int    `param:"subs_db_mode"`    // 0 memory only, 1 write-through, 2 write-back, 3 DB only
	PublCache           int    `param:"publ_cache"`      // 0 with subs_db_mode 3: the database holds the state (several nodes)
	DBCommitDelay       int    `param:"db_commit_delay"` // ms a change may wait to be written behind; 0: before the reply
	SocketPath          string `param:"engine_socket"`   // the module resolves its default

	// Not a modparam: the events C modules registered through bind_presence's add_event,
	// handed over by the module as "module_event=" lines when it starts the engine.
	ModuleEvents []cmodule.Event
}

// DefaultConfig has the defaults of module/params.def (stock's, presence.c:84-176).
func DefaultConfig() Config {
	return Config{
		PresentityTable:     "presentity",
		ActiveWatchersTable: "active_watchers",
		WatchersTable:       "watchers",
		CleanPeriod:         100,
		DBUpdatePeriod:      100,
		MaxExpires:          3600,
		MinExpiresAction:    1,
		SubsHtableSize:      9,
		PresHtableSize:      9,
		TimeoutRmSubs:       1,
		SubsRespond200:      1,
		SendFastNotify:      1,
		ToTagPref:           "10",
		SubsDBMode:          2,
		PublCache:           1,
		DBCommitDelay:       100,
	}
}

// ParseConfig reads "name=value" lines over the defaults. Unknown names are an error: the C
// side only forwards parameters it declared, so an unknown one is a bug, not user input.
func ParseConfig(text string) (Config, error) {
	c := DefaultConfig()
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			return c, fmt.Errorf("config line %q has no '='", line)
		}
		if name == "module_event" {
			ev, err := cmodule.Parse(val)
			if err != nil {
				return c, err
			}
			c.ModuleEvents = append(c.ModuleEvents, ev)
			continue
		}
		if err := c.set(name, val); err != nil {
			return c, err
		}
	}
	return c, sc.Err()
}

// set stores one value in the field tagged with its name.
func (c *Config) set(name, val string) error {
	v := reflect.ValueOf(c).Elem()
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Tag.Get("param") != name {
			continue
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(val)
		case reflect.Int:
			n, err := strconv.Atoi(val)
			if err != nil {
				return fmt.Errorf("modparam %q: %q is not an integer", name, val)
			}
			f.SetInt(int64(n))
		case reflect.Uint32:
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return fmt.Errorf("modparam %q: %q is not a non-negative integer", name, val)
			}
			f.SetUint(n)
		default:
			return fmt.Errorf("modparam %q: field kind %s not handled", name, f.Kind())
		}
		return nil
	}
	return fmt.Errorf("unknown engine parameter %q", name)
}

// tables are the table names for the storage layer.
func (c *Config) tables() db.Tables {
	return db.Tables{Presentity: c.PresentityTable, ActiveWatchers: c.ActiveWatchersTable, Watchers: c.WatchersTable}
}

// check applies the rules the engine adds to the table's: a server needs its database (the
// module runs in library mode without one and starts no engine), and the SIP syntax of the
// fields tagged `check`.
func (c *Config) check() error {
	if c.DBURL == "" {
		return errors.New("modparam \"db_url\" is not set")
	}
	v := reflect.ValueOf(c).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if rule := f.Tag.Get("check"); rule != "" {
			if err := checkSyntax(rule, v.Field(i).String()); err != nil {
				return fmt.Errorf("modparam %q: %q %w", f.Tag.Get("param"), v.Field(i).String(), err)
			}
		}
	}
	return nil
}

var errSyntax = errors.New("is not valid")

// checkSyntax: sip_uri is empty or a bare sip:/sips: URI (it becomes every Contact we send);
// token32 is an RFC 3261 token of at most 32 characters, or empty (it starts every To tag).
func checkSyntax(rule, val string) error {
	if val == "" {
		return nil
	}
	switch rule {
	case "sip_uri":
		u, err := sip.ParseURI(val)
		if err != nil || (u.Scheme != "sip" && u.Scheme != "sips") || strings.ContainsAny(val, "<>") {
			return fmt.Errorf("%w: not a sip: or sips: URI", errSyntax)
		}
	case "token32":
		if len(val) > 32 || !sip.IsToken(val) {
			return fmt.Errorf("%w: not a token of at most 32 characters", errSyntax)
		}
	default:
		return fmt.Errorf("unknown check %q", rule)
	}
	return nil
}
