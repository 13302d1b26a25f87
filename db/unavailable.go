package db

import "errors"

// ErrUnavailable wraps a backend's error when the database server could not be used at all
// (refused or lost connection, a server shutting down or restarting), as opposed to a refused
// change (a taken key): the request may be retried later, so the engine answers 503 with
// Retry-After. The batch was rolled back, except when the connection broke during its COMMIT,
// when the server may have committed it (no client can tell; the error says so).
var ErrUnavailable = errors.New("database unavailable")
