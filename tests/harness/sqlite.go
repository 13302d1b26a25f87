package harness

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// SQLite runs sqlite3 commands or queries on db and returns its trimmed output. It waits up to
// 2 s for a lock a Kamailio holds, and the whole call is bounded.
func SQLite(db string, cmds ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	argv := append([]string{"-batch", "-bail", "-cmd", ".timeout 2000", db}, cmds...)
	out, err := exec.CommandContext(ctx, "sqlite3", argv...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
