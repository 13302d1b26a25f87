package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gopresence/gopresence/tests/harness"
)

// mariadbSection: the mode for several nodes (docs/operations.md) on one private MariaDB
// server (tests/harness), ours and stock with the same presence parameters: subs_db_mode=3
// (the database is the only copy of the subscriptions) and publ_cache=0 (nor a cache of the
// publications). One node, then two nodes on one database with the load alternating between
// their ports (each cycle's requests go to the two nodes in turn). Per scenario and node
// count: the highest rate with 0 failed calls, and the CPU per 1,000 calls of every node's
// processes and mariadbd's together, at one rate both targets sustained.
func mariadbSection() {
	if !harness.MariaDBAvailable() {
		b.note("mariadb: skipped: mariadbd, mariadb-install-db or mariadb not installed (scripts/deps.sh)")
		return
	}
	dir := filepath.Join(conf.work, "mariadb-server")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatalf("%v", err)
	}
	m, err := harness.StartMariaDB(dir)
	if err != nil {
		b.note("mariadb: skipped: the server did not start: %v", err)
		return
	}
	defer m.Stop()
	c := conf.mariadbChildren
	for _, nodes := range conf.mariadbNodes {
		start := startOnMariaDB(m, nodes)
		for _, scen := range []string{"publish_cycle", "subscribe_cycle"} {
			what := fmt.Sprintf("%s on MariaDB, %d node(s), children=%d", scenarioNames[scen], nodes, c)
			r := b.add(fmt.Sprintf("%s: highest rate with 0 failed calls (calls/s; %d s steps)", what, conf.stepSec), "higher")
			rate := 0
			for t, v := range rateSearchOn(scen, c, conf.mariadbRates, "mariadb", start) {
				r.cells[t] = v
				if good := int(v.v); v.ok && v.op != "<" && (rate == 0 || good < rate) {
					rate = good
				}
			}
			brokenCells(r)
			if rate == 0 {
				rate = conf.mariadbRates[0]
			}
			// at most the CPU section's rate: the CPU per call, not the machine's ceiling
			rate = min(rate, conf.cpuRate)
			cr := b.add(fmt.Sprintf("%s: CPU s per 1,000 calls, Kamailio's and mariadbd's (at %d calls/s for %d s)",
				what, rate, conf.cpuSec), "lower")
			for _, t := range targets() {
				cr.cells[t] = cpuRunOn(t, scen, c, rate, "mariadb-cpu", start)
			}
			brokenCells(cr)
		}
	}
}

// startOnMariaDB is the starter of nodes Kamailio instances of a target on a new database of
// m: the first makes it (stock's tables from Debian's MySQL scripts, ours makes its own), the
// others use it. The returned kamailio stops them all and counts their CPU and mariadbd's.
func startOnMariaDB(m *harness.MariaDB, nodes int) starter {
	return func(target string, children int, dir string) *kamailio {
		os.RemoveAll(dir)
		first, err := startNode(target, children, filepath.Join(dir, "node1"), m, "")
		if err != nil {
			return startFailed(target, err)
		}
		k := &kamailio{Kamailio: first.Kamailio, children: children, maria: m}
		for i := 2; i <= nodes; i++ {
			n, err := startNode(target, children, filepath.Join(dir, fmt.Sprintf("node%d", i)), nil, first.DBURL)
			if err != nil {
				k.Stop()
				return startFailed(target, err)
			}
			k.others = append(k.others, n.Kamailio)
		}
		return k
	}
}

// startNode starts one node: on a new database of m, or (m nil) on the database of dbURL.
func startNode(target string, children int, dir string, m *harness.MariaDB, dbURL string) (*kamailio, error) {
	cfg, err := nodeCfg(target, children, dir)
	if err != nil {
		return nil, err
	}
	cfg.DBURL = dbURL
	cfg.ModParams = append(cfg.ModParams, sharedParams(target)...)
	hk, err := harness.New(harness.Options{Cfg: cfg, MariaDB: m, ShmMB: conf.shmMB, PkgMB: conf.pkgMB, Nice: conf.nice})
	if err != nil {
		return nil, err
	}
	k := &kamailio{Kamailio: hk, children: children}
	return k, k.start()
}

// sharedParams are the presence parameters of the mode for several nodes (module/README.md),
// on one node as on two. Stock's default db_table_lock_type (1) LOCKs the presentity table
// around a PUBLISH, and its NOTIFY then fails on MySQL: its docs tell MySQL users to set 0.
func sharedParams(target string) []string {
	p := []string{`modparam("presence", "subs_db_mode", 3)`, `modparam("presence", "publ_cache", 0)`}
	if target == harness.Stock {
		p = append(p, `modparam("presence", "db_table_lock_type", 0)`)
	}
	return p
}

// startFailed reports a target that did not start, as startTargetWith does.
func startFailed(target string, err error) *kamailio {
	msg := fmt.Sprintf("ERROR: %s: cannot start on MariaDB: %v", target, err)
	fmt.Fprintln(os.Stderr, "\n"+msg+"\n")
	b.broken[target] = "did not start"
	b.notes = append(b.notes, msg)
	return nil
}
