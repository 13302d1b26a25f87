// Package mysql is the MySQL/MariaDB backend of package db, for db_url
// mysql://[user[:password]@]host[:port]/database as Kamailio's db_mysql takes it (the grammar
// of db.ParseURL). Importing it registers the scheme; it is pure Go
// (github.com/go-sql-driver/mysql), so it needs no cgo and no client library.
//
// Host "localhost" means the server's unix socket, as for libmysqlclient
// ($MYSQL_UNIX_PORT, else /run/mysqld/mysqld.sock); db_mysql's my.cnf groups ("[group]host")
// are refused with a message naming them: this backend reads no my.cnf.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/db/schema"
)

func init() { db.Register("mysql", open) }

// Bounds of one exchange with the server. A server that is down refuses at once; these bound a
// host that does not answer at all. They are per packet, so a large batch is not cut short.
const (
	dialTimeout = 5 * time.Second
	ioTimeout   = 10 * time.Second
	// idle connections are replaced before a server's wait_timeout (8 h by default) or a
	// firewall drops them
	maxIdleTime = 5 * time.Minute
)

// DefaultSocket is libmysqlclient's unix socket on Debian, for host "localhost".
const DefaultSocket = "/run/mysqld/mysqld.sock"

// Config turns a Kamailio mysql db_url into the driver's configuration (no DSN string: the
// password never goes through a text that could be logged).
func Config(dbURL string) (*mysql.Config, error) {
	u, err := db.ParseURL(dbURL)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(u.Host, "[") {
		return nil, fmt.Errorf("db_url %q: my.cnf option groups (%s) are not supported: write the host, port, user and password in db_url", u, u.Host)
	}
	c := mysql.NewConfig()
	c.User, c.Passwd, c.DBName = u.User, u.Password, u.Database
	if c.User == "" {
		// libmysqlclient connects as the login user when db_url names none
		if me, err := user.Current(); err == nil {
			c.User = me.Username
		}
	}
	if u.Host == "localhost" {
		// as libmysqlclient: the unix socket, whatever the port
		c.Net, c.Addr = "unix", DefaultSocket
		if s := os.Getenv("MYSQL_UNIX_PORT"); s != "" {
			c.Addr = s
		}
	} else {
		port := u.Port
		if port == 0 {
			port = 3306
		}
		c.Net, c.Addr = "tcp", net.JoinHostPort(u.Host, strconv.Itoa(port))
	}
	c.Timeout, c.ReadTimeout, c.WriteTimeout = dialTimeout, ioTimeout, ioTimeout
	// one round trip per statement (no server-side prepare that a reconnect would lose)
	c.InterpolateParams = true
	// the shared mode reads a presentity's three tables in one round trip (the arguments are
	// interpolated and escaped by the driver, never spliced by us)
	c.MultiStatements = true
	// a node turned read-only (a failover) is a bad connection: the pool reconnects
	c.RejectReadOnly = true
	c.Logger = quietLogger{}
	return c, nil
}

// quietLogger drops the driver's own log lines: what fails reaches the engine as an error,
// which it logs with the request it belongs to; the rest (a dead idle connection replaced) is
// recovered by the pool.
type quietLogger struct{}

func (quietLogger) Print(...any) {}

// open connects, creates the tables when missing, and checks that they can hold transactions.
func open(dbURL string, t db.Tables) (db.Backend, error) {
	c, err := Config(dbURL)
	if err != nil {
		return nil, err
	}
	name := db.RedactURL(dbURL)
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("db_url %q: %w", name, err)
	}
	h := sql.OpenDB(readCommitted{conn})
	// Writes are serialised by db.Writer (one transaction at a time); a second connection
	// serves loads and a reconnect while the first is being replaced.
	h.SetMaxOpenConns(4)
	h.SetMaxIdleConns(2)
	h.SetConnMaxIdleTime(maxIdleTime)
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout+ioTimeout)
	defer cancel()
	if err := h.PingContext(ctx); err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: cannot connect: %w", name, classify(err))
	}
	if _, err := h.ExecContext(ctx, lockDDL); err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: creating %s: %w", name, LockTable, classify(err))
	}
	if err := createTables(ctx, h, t); err != nil {
		h.Close()
		return nil, fmt.Errorf("db_url %q: %w", name, err)
	}
	return &store{h: h, t: t, sql: writeSQL(t)}, nil
}

// createTables runs the schema, renamed as the modparams say, and refuses tables of an engine
// without transactions (MyISAM, from an old kamdbctl): Apply's all-or-none needs InnoDB.
func createTables(ctx context.Context, h *sql.DB, t db.Tables) error {
	for _, stmt := range Statements(t) {
		if _, err := h.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating tables: %w", classify(err))
		}
	}
	for _, name := range []string{t.Presentity, t.ActiveWatchers, t.Watchers} {
		var engine sql.NullString
		err := h.QueryRowContext(ctx, `SELECT ENGINE FROM information_schema.TABLES
 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, name).Scan(&engine)
		if err != nil {
			return fmt.Errorf("table %s: reading its engine: %w", name, classify(err))
		}
		if !strings.EqualFold(engine.String, "InnoDB") {
			return fmt.Errorf("table %s uses engine %s, which has no transactions: convert it (ALTER TABLE %s ENGINE=InnoDB)", name, engine.String, name)
		}
	}
	return nil
}

// Statements is the schema (db/schema/mysql.sql) as single statements for tables t.
func Statements(t db.Tables) []string {
	ddl := schema.MySQL
	for stock, name := range t.Renamed() {
		if name != stock {
			ddl = strings.NewReplacer(
				"CREATE TABLE IF NOT EXISTS `"+stock+"` (", "CREATE TABLE IF NOT EXISTS `"+name+"` (",
				"values ('"+stock+"',", "values ('"+name+"',",
			).Replace(ddl)
		}
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(ddl, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")))
			cur.Reset()
		}
	}
	return out
}

// classify marks the errors that say the server could not be used (db.ErrUnavailable) apart
// from the server's refusal of a statement (a MySQLError: a taken key, a bad value), so the
// engine answers 503 for the first and 500 for the second.
func classify(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213: // deadlock, or a Galera certification failure: rolled back, may be run again
			return fmt.Errorf("%w: %w: %w", db.ErrUnavailable, db.ErrConflict, err)
		case 1040, // too many connections
			1053, // server shutdown in progress
			1205, // lock wait timeout
			1290, // read-only (--read-only)
			1792, // read-only transaction
			1927: // connection killed
			return fmt.Errorf("%w: %w", db.ErrUnavailable, err)
		}
		return err
	}
	return fmt.Errorf("%w: %w", db.ErrUnavailable, err)
}
