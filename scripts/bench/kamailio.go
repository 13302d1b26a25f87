package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/gopresence/gopresence/tests/harness"
)

// kamailio is one instance (tests/harness): its own directory (cfg, presence.db,
// kamailio.log), port and process group.
type kamailio struct {
	*harness.Kamailio
	children int
	// the mariadb section: more nodes on the same database, and the server whose CPU counts
	// with theirs (nil otherwise)
	others []*harness.Kamailio
	maria  *harness.MariaDB
}

// portB is the port of the scenarios' port_b key: the second node's, else the only one's.
func (k *kamailio) portB() int {
	if len(k.others) > 0 {
		return k.others[0].Port
	}
	return k.Port
}

// CPU is the CPU seconds of every node's process group and, on MariaDB, of mariadbd's.
func (k *kamailio) CPU() float64 {
	s := k.Kamailio.CPU()
	for _, o := range k.others {
		s += o.CPU()
	}
	return s + k.dbCPU()
}

// dbCPU is mariadbd's share of CPU (0 without it).
func (k *kamailio) dbCPU() float64 {
	if k.maria == nil {
		return 0
	}
	m, _ := harness.GroupCPU(k.maria.PGID())
	return m
}

// Stop stops every node.
func (k *kamailio) Stop() {
	for _, o := range k.others {
		o.Stop()
	}
	k.Kamailio.Stop()
}

// newKamailio prepares dir (a fresh one) for target: the cfg and, for stock, the DB with
// Kamailio's own schema. Target harness.Floor is the same cfg without any presence module,
// PUBLISH and SUBSCRIBE answered 200 by sl_send_reply: Kamailio's own cost of those requests
// (cpuSection only; no DB).
func newKamailio(target string, children int, dir string, pkgMB int, companions ...string) (*kamailio, error) {
	return newKamailioTuned(target, children, dir, pkgMB, func(cfg *harness.Cfg) { cfg.Companions = companions })
}

// newKamailioTuned is newKamailio with tune changing the cfg before Kamailio is prepared.
func newKamailioTuned(target string, children int, dir string, pkgMB int, tune func(*harness.Cfg)) (*kamailio, error) {
	os.RemoveAll(dir) // a fresh directory: dir is always inside the bench's work directory
	cfg, err := nodeCfg(target, children, dir)
	if err != nil {
		return nil, err
	}
	tune(&cfg)
	k, err := harness.New(harness.Options{Cfg: cfg,
		StockWAL: conf.stockWAL, ShmMB: conf.shmMB, PkgMB: pkgMB, Nice: conf.nice})
	if err != nil {
		return nil, err
	}
	return &kamailio{Kamailio: k, children: children}, nil
}

// nodeCfg makes dir and gives the bench cfg of a Kamailio on a free port there.
func nodeCfg(target string, children int, dir string) (harness.Cfg, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return harness.Cfg{}, err
	}
	port, err := harness.FreePort(false)
	if err != nil {
		return harness.Cfg{}, err
	}
	return benchCfg(target, children, port, dir), nil
}

// benchCfg is the cfg of every bench run: the three targets' cfgs differ only in the presence
// module's loadmodule/modparam lines and in handle_publish()/handle_subscribe() (floor:
// sl_send_reply("200", "OK")). Screening: the route of kamailio-cfg/kamailio.cfg (maxfwd,
// sanity, in-dialog requests to tm), debug=BENCH_DEBUG so that logging does not dominate.
func benchCfg(target string, children, port int, dir string) harness.Cfg {
	params := append([]string{
		fmt.Sprintf(`modparam("presence", "server_address", "sip:127.0.0.1:%d")`, port),
		`modparam("presence", "clean_period", 30)`,
		`modparam("presence", "db_update_period", 30)`,
		`modparam("presence", "max_expires", 3600)`,
	}, conf.extraParams...)
	return harness.Cfg{Target: target, Port: port, Dir: dir, OursDir: conf.modDir, Children: children,
		Debug: conf.debug, ModParams: params, Screening: true}
}

// start launches Kamailio and waits until it serves; a failure says why with its log.
func (k *kamailio) start() error {
	if err := k.Start(conf.startTimeout); err != nil {
		return k.startError(err)
	}
	return nil
}

func (k *kamailio) startError(err error) error {
	first := "    (none)"
	if lines := k.errorLines(0, 6); len(lines) > 0 {
		first = indent(strings.Join(lines, "\n"), "    ")
	}
	return fmt.Errorf("%s Kamailio (children=%d, port %d) did not start: %v\n  cfg: %s\n  log: %s\n"+
		"  its first error lines:\n%s\n  its last lines:\n%s",
		k.Target, k.children, k.Port, err, k.CfgPath, k.LogPath, first, indent(k.LogTail(8), "    "))
}

// errorLines returns the distinct error and warning lines logged after offset, at most max of
// them, verbatim, with how many lines of each there were.
func (k *kamailio) errorLines(offset int64, max int) []string {
	lines, _ := k.LogLines(offset)
	var ks kinds
	for _, line := range lines {
		if !harness.IsError(line) && !harness.IsWarning(line) {
			continue
		}
		key := line
		// group lines that differ only by the pid/time prefix
		if i := strings.Index(line, ": <"); i > 0 {
			key = line[i:]
		} else if i := strings.Index(line, "ERROR:"); i > 0 {
			key = line[i:]
		}
		ks.add(key, strings.TrimSpace(line))
	}
	return ks.top(max, "  ", "... and %d other kinds of lines")
}

// kinds counts lines by kind, in the order each kind first came, for a note that shows each
// kind once.
type kinds struct {
	order  []string
	shown  map[string]string // kind → the line shown for it (its first)
	counts map[string]int
}

func (ks *kinds) add(kind, shown string) {
	if ks.counts == nil {
		ks.shown, ks.counts = map[string]string{}, map[string]int{}
	}
	if ks.counts[kind] == 0 {
		ks.order = append(ks.order, kind)
		ks.shown[kind] = shown
	}
	ks.counts[kind]++
}

// top returns the first max kinds as "<shown><sep>[x<count>]", then more (a format with the
// number of kinds left out) if there were others.
func (ks *kinds) top(max int, sep, more string) []string {
	var out []string
	for i, kind := range ks.order {
		if i == max {
			out = append(out, fmt.Sprintf(more, len(ks.order)-max))
			break
		}
		out = append(out, fmt.Sprintf("%s%s[x%d]", ks.shown[kind], sep, ks.counts[kind]))
	}
	return out
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}
