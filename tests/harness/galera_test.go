package harness

import (
	"testing"
	"time"
)

// The cluster replicates both ways, and node 1 keeps serving writes when node 2 is killed.
func TestGalera(t *testing.T) {
	if !GaleraAvailable() {
		t.Skip("Galera not installed (scripts/deps.sh)")
	}
	g, err := StartGalera(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	n1, n2 := g.Nodes[0], g.Nodes[1]
	if err := n1.Exec("", "CREATE DATABASE g; CREATE TABLE g.t (k INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO g.t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := n2.Exec("", "INSERT INTO g.t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	for i, m := range g.Nodes {
		if out, err := m.Query("g", "SELECT k FROM t ORDER BY k"); err != nil || out != "1\n2" {
			t.Fatalf("node %d: %q %v", i+1, out, err)
		}
	}
	start := time.Now()
	n2.Kill()
	if err := g.WaitSynced(1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 1 alone primary %v after node 2's kill", time.Since(start).Round(time.Millisecond))
	if err := n1.Exec("g", "INSERT INTO t VALUES (3)"); err != nil {
		t.Fatal(err)
	}
}
