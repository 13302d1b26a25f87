package mysql

import (
	"context"
	"database/sql/driver"
	"fmt"
)

// readCommitted is a connector whose connections are READ COMMITTED from the start: the shared
// mode's transactions need it (db/mysql/shared.go), and setting it once per connection instead
// of per transaction (database/sql's TxOptions) saves a round trip to the server on every change
// of a presentity. The single-node mode's transactions have one writer (db.Writer), which reads
// nothing back inside them: the level changes nothing for it.
type readCommitted struct{ driver.Connector }

// sessionIsolation works on MySQL and MariaDB alike (the variable's name differs: tx_isolation,
// transaction_isolation).
const sessionIsolation = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"

func (c readCommitted) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("mysql: the driver's connection cannot run %q", sessionIsolation)
	}
	if _, err := ex.ExecContext(ctx, sessionIsolation, nil); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
