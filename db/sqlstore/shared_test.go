package sqlstore

import (
	"errors"
	"testing"
)

// A multi-statement read cut short by the server keeps the server's error, so that the backend
// can see a conflict in it (TestSharedNodesGalera logged a deadlock victim as "unavailable").
func TestNoResultSetKeepsTheServersError(t *testing.T) {
	cause := errors.New("Error 1213 (40001): Deadlock found")
	err := noResultSet("active_watchers", cause)
	if !errors.Is(err, cause) {
		t.Fatalf("%v does not wrap the server's error", err)
	}
	if got, want := err.Error(), "loading active_watchers: no result set: Error 1213 (40001): Deadlock found"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got, want := noResultSet("watchers", nil).Error(), "loading watchers: no result set"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
