// Package gopresence is the presence engine: PUBLISH, SUBSCRIBE and NOTIFY semantics
// (RFC 3903, RFC 6665, RFC 3856), state, storage and timers. Pure Go: Kamailio is reached only
// through wire frames (package wire), so everything here runs under `go test` alone.
package gopresence

import (
	"bufio"

	"fmt"
	"github.com/gopresence/gopresence/db"
	"strconv"
	"strings"
)

// Config holds the module parameters the engine uses. The C module hands them over as
// "name=value" lines (ParseConfig); names are the modparam names.
type Config struct {
	DBURL               string
	PresentityTable     string
	ActiveWatchersTable string
	WatchersTable       string
	CleanPeriod         int
	DBUpdatePeriod      int
	ExpiresOffset       int
	MaxExpires          uint32
	MinExpires          uint32
	MinExpiresAction    int
	ServerAddress       string
	SubsHtableSize      int
	PresHtableSize      int
	TimeoutRmSubs       int
	SubsRespond200      int
	SendFastNotify      int
	CSeqOffset          int
	ToTagPref           string
	ForceDelete         int
	SipURIMatch         int
	SubsDBMode          int // 0 memory only, 1 write-through, 2 write-back, 3 DB only (as 1)
	DBCommitDelay       int // ms a change may wait to be written behind; 0: before the reply

	// Not modparams: set by the module for the engine process.
	SocketPath string
}

// DefaultConfig has the stock defaults (presence.c:84-176 and the admin guide).
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
		if err := c.set(name, val); err != nil {
			return c, err
		}
	}
	return c, sc.Err()
}

func (c *Config) set(name, val string) error {
	str := map[string]*string{
		"db_url": &c.DBURL, "presentity_table": &c.PresentityTable,
		"active_watchers_table": &c.ActiveWatchersTable, "watchers_table": &c.WatchersTable,
		"server_address": &c.ServerAddress, "socket_path": &c.SocketPath,
		"to_tag_pref": &c.ToTagPref,
	}
	if p, ok := str[name]; ok {
		*p = val
		return nil
	}
	ints := map[string]*int{
		"clean_period": &c.CleanPeriod, "db_update_period": &c.DBUpdatePeriod,
		"expires_offset": &c.ExpiresOffset, "min_expires_action": &c.MinExpiresAction,
		"subs_htable_size": &c.SubsHtableSize, "pres_htable_size": &c.PresHtableSize,
		"timeout_rm_subs": &c.TimeoutRmSubs, "subs_respond_200": &c.SubsRespond200,
		"send_fast_notify": &c.SendFastNotify, "cseq_offset": &c.CSeqOffset,
		"force_delete": &c.ForceDelete, "sip_uri_match": &c.SipURIMatch,
		"subs_db_mode": &c.SubsDBMode, "db_commit_delay": &c.DBCommitDelay,
	}
	if p, ok := ints[name]; ok {
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("modparam %q: %q is not an integer", name, val)
		}
		*p = n
		return nil
	}
	u32 := map[string]*uint32{"max_expires": &c.MaxExpires, "min_expires": &c.MinExpires}
	if p, ok := u32[name]; ok {
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return fmt.Errorf("modparam %q: %q is not a non-negative integer", name, val)
		}
		*p = uint32(n)
		return nil
	}
	return fmt.Errorf("unknown engine parameter %q", name)
}

// tables are the table names for the storage layer.
func (c *Config) tables() db.Tables {
	return db.Tables{Presentity: c.PresentityTable, ActiveWatchers: c.ActiveWatchersTable, Watchers: c.WatchersTable}
}

// Normalize applies stock's corrections for out-of-range values (presence.c mod_init) and
// rejects what stock rejects.
func (c *Config) Normalize() error {
	if c.MaxExpires == 0 {
		c.MaxExpires = 3600
	}
	if c.ExpiresOffset < 0 {
		c.ExpiresOffset = 0
	}
	if c.MinExpires > c.MaxExpires {
		c.MinExpires = c.MaxExpires
	}
	if c.MinExpiresAction != 1 && c.MinExpiresAction != 2 {
		return fmt.Errorf("modparam \"min_expires_action\": %d is not 1 (reply 423) or 2 (raise to min_expires)", c.MinExpiresAction)
	}
	if c.SubsHtableSize < 1 || c.SubsHtableSize > 20 {
		c.SubsHtableSize = 9
	}
	if c.PresHtableSize < 1 || c.PresHtableSize > 20 {
		c.PresHtableSize = 9
	}
	if c.SubsDBMode < 0 || c.SubsDBMode > 3 {
		return fmt.Errorf("modparam \"subs_db_mode\": %d is not 0, 1, 2 or 3", c.SubsDBMode)
	}
	if c.DBCommitDelay < 0 || c.DBCommitDelay > 60000 {
		return fmt.Errorf("modparam \"db_commit_delay\": %d ms is out of range [0, 60000]", c.DBCommitDelay)
	}
	if c.DBURL == "" {
		return fmt.Errorf("modparam \"db_url\" is not set")
	}
	return nil
}
