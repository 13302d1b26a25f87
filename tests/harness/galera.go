package harness

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// GaleraProvider is Debian's Galera 4 library (package galera-4, installed with mariadb-server
// by scripts/deps.sh).
const GaleraProvider = "/usr/lib/galera/libgalera_smm.so"

// Galera is a private two-node Galera cluster for tests: two MariaDB servers (mariadb.go) on
// 127.0.0.1, each with its own datadir, SQL port, socket, and Galera ports (group
// communication, IST, SST). Node 1 bootstraps the cluster; node 2 joins it by a state transfer
// (rsync). Node 1 weighs 2 and node 2 weighs 1 in the quorum, so node 1 alone still makes the
// primary component when node 2 dies (Kill): the fault the tests make.
type Galera struct {
	Nodes [2]*MariaDB
}

// galeraWait bounds the wait for both nodes to be synced members of one cluster.
const galeraWait = 60 * time.Second

// GaleraAvailable says whether MariaDB, the Galera library and rsync (the state transfer's)
// are installed.
func GaleraAvailable() bool {
	if !MariaDBAvailable() {
		return false
	}
	if _, err := os.Stat(GaleraProvider); err != nil {
		return false
	}
	_, err := os.Stat("/usr/bin/rsync")
	return err == nil
}

// galeraTimeouts make a node notice a dead peer within a few seconds (the defaults take about
// 15 s): suspected after 2 s, declared dead after 3 s.
const galeraTimeouts = "evs.keepalive_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT3S;" +
	"evs.inactive_check_period=PT0.5S;evs.install_timeout=PT3S;evs.join_retrans_period=PT0.5S;gmcast.peer_timeout=PT2S"

// StartGalera starts the cluster under dir (two datadirs, about 15 s in all) and creates the
// test user (replicated to node 2). Stop it when done (Stop).
func StartGalera(dir string) (*Galera, error) {
	if !GaleraAvailable() {
		return nil, errors.New("galera: MariaDB, " + GaleraProvider + " (galera-4) or rsync not installed (scripts/deps.sh)")
	}
	g := &Galera{}
	var gcomm []string
	var ports [2][3]int // group communication, IST, SST
	for i := range g.Nodes {
		m, err := newMariaDB(filepath.Join(dir, fmt.Sprintf("node%d", i+1)))
		if err != nil {
			return nil, err
		}
		for j := range ports[i] {
			if ports[i][j], err = FreePort(true); err != nil {
				return nil, err
			}
		}
		gcomm = append(gcomm, fmt.Sprintf("127.0.0.1:%d", ports[i][0]))
		g.Nodes[i] = m
	}
	for i, m := range g.Nodes {
		weight := 2 - i
		m.extra = []string{"--wsrep-on=ON", "--wsrep-provider=" + GaleraProvider,
			"--wsrep-cluster-name=gopresence-test", "--wsrep-cluster-address=gcomm://" + strings.Join(gcomm, ","),
			"--wsrep-node-name=node" + fmt.Sprint(i+1), "--wsrep-node-address=127.0.0.1",
			// gcache.size: the write-set cache is 128 MB a node by default; a test writes little
			fmt.Sprintf("--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:%d;ist.recv_addr=127.0.0.1:%d;pc.weight=%d;gcache.size=16M;%s",
				ports[i][0], ports[i][1], weight, galeraTimeouts),
			fmt.Sprintf("--wsrep-sst-receive-address=127.0.0.1:%d", ports[i][2]),
			"--wsrep-sst-method=rsync", "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2",
			"--default-storage-engine=InnoDB"}
		if err := os.MkdirAll(m.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	// node 1's datadir; node 2 starts on an empty one and receives node 1's by rsync
	n1, n2 := g.Nodes[0], g.Nodes[1]
	if err := n1.install(); err != nil {
		return nil, err
	}
	if err := n2.emptyDataDir(); err != nil {
		return nil, err
	}
	n1.extra = append(n1.extra, "--wsrep-new-cluster")
	if err := n1.Start(); err != nil {
		return nil, fmt.Errorf("galera node 1: %w", err)
	}
	n1.extra = n1.extra[:len(n1.extra)-1] // a restart joins the cluster instead
	if err := n1.createUser(); err != nil {
		g.Stop()
		return nil, err
	}
	n2.User, n2.Password = n1.User, n1.Password
	if err := n2.Start(); err != nil {
		g.Stop()
		return nil, fmt.Errorf("galera node 2: %w", err)
	}
	if err := g.WaitSynced(2, galeraWait); err != nil {
		g.Stop()
		return nil, err
	}
	return g, nil
}

// WaitSynced waits until every running node is ready (wsrep_ready=ON) in a primary component
// of size nodes.
func (g *Galera) WaitSynced(nodes int, within time.Duration) error {
	deadline := time.Now().Add(within)
	want := fmt.Sprintf("WSREP_CLUSTER_SIZE|%d\nWSREP_CLUSTER_STATUS|Primary\nWSREP_READY|ON", nodes)
	var last string
	for {
		ok := true
		for i, m := range g.Nodes {
			if !m.running() {
				continue
			}
			out, err := m.Query("", "SELECT upper(variable_name), variable_value FROM information_schema.global_status"+
				" WHERE variable_name IN ('wsrep_cluster_size','wsrep_cluster_status','wsrep_ready') ORDER BY 1")
			if err != nil || out != want {
				ok = false
				last = fmt.Sprintf("node %d: %s %v", i+1, strings.ReplaceAll(out, "\n", ", "), err)
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("galera: not %d synced nodes after %v: %s", nodes, within, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop ends both nodes at once (SIGKILL: a test's datadirs are thrown away after it).
func (g *Galera) Stop() {
	g.Nodes[1].Kill()
	g.Nodes[0].Kill()
}

func (m *MariaDB) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cmd != nil
}

// emptyDataDir makes an empty datadir for a joiner's state transfer. The joiner's rsync
// daemon, started as root (the harness's user in CI), drops to the user nobody: then the
// datadir must be nobody's (rsync sets its mode) and the directories above it searchable.
func (m *MariaDB) emptyDataDir() error {
	if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(m.tmpDir(), 0o755); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	if err := os.Chown(m.DataDir, uid, gid); err != nil {
		return err
	}
	for d := filepath.Dir(m.DataDir); d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return err
			}
		}
	}
	return nil
}
