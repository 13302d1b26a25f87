// Package schema holds Kamailio 5.6.3's presence tables as each backend creates them: the
// columns, constraints and version rows of Kamailio's utils/kamctl/<db>/*-create.sql.
package schema

import _ "embed"

// SQLite creates the tables when missing (IF NOT EXISTS), under their stock names.
//
//go:embed sqlite.sql
var SQLite string

// MySQL creates the tables when missing (IF NOT EXISTS), under their stock names, one
// statement per line ending in ';' (see MySQLStatements).
//
//go:embed mysql.sql
var MySQL string
