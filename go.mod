module github.com/gopresence/gopresence

go 1.26.8

require (
	github.com/beevik/etree v1.8.1
	github.com/go-sql-driver/mysql v1.10.2
	github.com/mattn/go-sqlite3 v1.14.53
)

require filippo.io/edwards25519 v1.2.0 // indirect
