module github.com/gopresence/gopresence

go 1.26.8

require github.com/mattn/go-sqlite3 v1.14.53

require github.com/beevik/etree v1.8.1 // indirect
