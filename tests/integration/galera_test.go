//go:build integration

package integration

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// Issue 10: the mode for several nodes (subs_db_mode=3, publ_cache=0) on a two-node Galera
// cluster (tests/harness/galera.go): Kamailio A on Galera node 1, Kamailio B on Galera node 2,
// one database replicated between them. Ours only: the check is of the shared mode.

// galeraCluster starts the test's cluster; without Galera installed the test skips (fails
// under GOPRESENCE_MYSQL_REQUIRED=1, as make test-mysql sets: scripts/deps.sh installs it).
func galeraCluster(t *testing.T) *harness.Galera {
	t.Helper()
	if !slices.Contains(selectedTargets(t), harness.Ours) {
		t.Skip("ours only: the shared mode on Galera")
	}
	if !slices.Contains(selectedDBs(t), mysqlDB) {
		t.Skipf("GOPRESENCE_DBS=%s: not testing on MariaDB", os.Getenv("GOPRESENCE_DBS"))
	}
	if !harness.GaleraAvailable() {
		if os.Getenv("GOPRESENCE_MYSQL_REQUIRED") == "1" {
			t.Fatal("GOPRESENCE_MYSQL_REQUIRED=1 but Galera is not installed (galera-4, rsync: scripts/deps.sh)")
		}
		t.Skip("Galera not installed (galera-4 and rsync, scripts/deps.sh): the Galera test is skipped")
	}
	g, err := harness.StartGalera(testDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	return g
}

// watcherLog collects a watcher's NOTIFYs as they come (many come at once: the ua's channel
// would fill), one per CSeq (a retransmission is the same NOTIFY).
type watcherLog struct {
	mu     sync.Mutex
	byCSeq map[int]sipMsg
	dups   []string // NOTIFYs with a CSeq seen before and another body
}

func collect(t *testing.T, w *ua) *watcherLog {
	l := &watcherLog{byCSeq: map[int]sipMsg{}}
	go func() {
		for m := range w.notifies {
			l.mu.Lock()
			c := m.cseq(t)
			if old, ok := l.byCSeq[c]; ok && old.body != m.body {
				l.dups = append(l.dups, fmt.Sprintf("CSeq %d from ports %d and %d", c, old.from.Port, m.from.Port))
			}
			l.byCSeq[c] = m
			l.mu.Unlock()
		}
	}()
	return l
}

// since returns the CSeqs above c, in order, and the NOTIFY of the highest.
func (l *watcherLog) since(c int) ([]int, sipMsg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var cs []int
	for k := range l.byCSeq {
		if k > c {
			cs = append(cs, k)
		}
	}
	sort.Ints(cs)
	if len(cs) == 0 {
		return nil, sipMsg{}
	}
	return cs, l.byCSeq[cs[len(cs)-1]]
}

// waitSince waits until the watcher has n NOTIFYs above CSeq c (or within passes).
func (l *watcherLog) waitSince(c, n int, within time.Duration) []int {
	end := time.Now().Add(within)
	for {
		cs, _ := l.since(c)
		if len(cs) >= n || time.Now().After(end) {
			return cs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// One presentity watched through both nodes and published through both at once (their
// changes conflict in certification; the engine makes them again): every watcher gets
// exactly one NOTIFY per PUBLISH, CSeqs consecutive. Then Galera node 2 is killed under a
// PUBLISH load through both nodes: B refuses (503 with Retry-After), A goes on taking them,
// and A serves every publication acknowledged by either node and notifies every watcher.
func TestSharedNodesGalera(t *testing.T) {
	t.Parallel()
	start := time.Now()
	g := galeraCluster(t)
	t.Logf("Galera cluster of 2 synced in %v", time.Since(start).Round(time.Millisecond))
	gone := expectedLog{"ours", `database unavailable`, "B's refusals once its Galera node is dead (503, Retry-After)"}
	// node 1's commits wait until it has excluded the dead node 2 (about 3 s, galera.go's
	// timeouts): a request of A's that waits past the worker's 2 s gets 500
	stalled := expectedLog{"ours", `no answer from the presence engine within|presence engine unavailable: replying 500`,
		"A's requests while Galera node 1 excludes node 2"}
	a := startKamailioOn(t, harness.Ours, mysqlDB, options{mariadb: g.Nodes[0], presence: sharedParams(), ctl: true,
		expectedLog: []expectedLog{stalled}})
	b := startKamailioOn(t, harness.Ours, mysqlDB, options{dbURL: g.Nodes[1].URL(a.Database), presence: sharedParams(), ctl: true,
		expectedLog: []expectedLog{gone}})
	nodes := []*kamailio{a, b}

	// watchers of one presentity, half through each node, each refreshed through the other
	const watchers = 8
	var ws []*ua
	var logs []*watcherLog
	first := make([]int, watchers)
	for i := range watchers {
		w := newUA(t, fmt.Sprintf("gal-w%d-%d", i, a.Port))
		w.resource = "gal"
		if r := w.subscribe(nodes[i%2].Port, 600); !strings.HasPrefix(r.first, "SIP/2.0 200") {
			t.Fatalf("SUBSCRIBE %d through %d: %s", i, nodes[i%2].Port, r.first)
		}
		c := w.notify(5 * time.Second).cseq(t)
		// refreshed at once through the other node, whose Galera node has just applied the
		// dialog (or waits for it: the in-dialog request must not get 481)
		if r := w.subscribe(nodes[(i+1)%2].Port, 600); !strings.HasPrefix(r.first, "SIP/2.0 200") {
			t.Fatalf("refresh %d through %d right after the SUBSCRIBE: %s", i, nodes[(i+1)%2].Port, r.first)
		}
		if n := w.notify(5 * time.Second); n.cseq(t) != c+1 || n.from.Port != nodes[(i+1)%2].Port {
			t.Fatalf("watcher %d: refresh's NOTIFY CSeq %d from %d after %d", i, n.cseq(t), n.from.Port, c)
		}
		first[i] = c + 1
		ws = append(ws, w)
		logs = append(logs, collect(t, w))
	}

	// two publishers a node at once, each PUBLISH a new tuple of the one presentity
	const publishers, each = 4, 10
	var wg sync.WaitGroup
	codes := make([][]string, publishers)
	for p := range publishers {
		u := newUA(t, fmt.Sprintf("gal-p%d-%d", p, a.Port))
		u.resource = "gal"
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r, ok := u.publish(nodes[p%2].Port, fmt.Sprintf("p%d-%d", p, i), 5*time.Second)
				if !ok {
					r.first = "no answer"
				}
				codes[p] = append(codes[p], r.first)
			}
		}()
	}
	wg.Wait()
	for p, cs := range codes {
		for i, c := range cs {
			if !strings.HasPrefix(c, "SIP/2.0 200") {
				t.Fatalf("PUBLISH %d of publisher %d (through %d): %s", i, p, nodes[p%2].Port, c)
			}
		}
	}
	const published = publishers * each
	for i, l := range logs {
		cs := l.waitSince(first[i], published, 5*time.Second)
		l.quietFor(t, i, first[i], 500*time.Millisecond)
		cs, last := l.since(first[i])
		if len(cs) != published || cs[0] != first[i]+1 || cs[len(cs)-1] != first[i]+published || len(l.dups) > 0 {
			t.Fatalf("watcher %d (through %d): %d NOTIFYs for %d PUBLISHes, CSeqs %v after %d; duplicates %v",
				i, nodes[i%2].Port, len(cs), published, cs, first[i], l.dups)
		}
		for p := range publishers {
			if !strings.Contains(last.body, fmt.Sprintf("<note>p%d-%d</note>", p, each-1)) {
				t.Fatalf("watcher %d: the last NOTIFY lacks publisher %d's last PUBLISH: %q", i, p, last.body)
			}
		}
	}
	// the changes made again, as presence.status counts them (and as logged: "made again")
	retries := func() (n int) {
		for _, k := range nodes {
			m := regexp.MustCompile(`conflicts_retried: (\d+)`).FindStringSubmatch(k.kamcmd(t, "presence.status"))
			if m == nil {
				t.Fatalf("presence.status without conflicts_retried")
			}
			c, _ := strconv.Atoi(m[1])
			n += c
			for _, l := range k.logLines(t) {
				if strings.Contains(l, ": made again") {
					c--
				}
			}
			if c != 0 {
				t.Errorf("node %d: conflicts_retried %s, %d more than logged", k.Port, m[1], c)
			}
		}
		return n
	}
	t.Logf("%d PUBLISHes through both nodes at once: %d NOTIFYs to each of %d watchers, %d changes made again after a conflict",
		published, published, watchers, retries())

	galeraNodeKilled(t, g, a, b, logs)
	t.Logf("conflict retries in the run: %d; the test took %v", retries(), time.Since(start).Round(time.Millisecond))
	a.checkLogClean(t)
	b.checkLogClean(t)
}

// quietFor fails if a NOTIFY beyond the wanted ones comes within d (a duplicate of a
// PUBLISH's).
func (l *watcherLog) quietFor(t *testing.T, i, since int, d time.Duration) {
	t.Helper()
	before, _ := l.since(since)
	time.Sleep(d)
	if after, _ := l.since(since); len(after) != len(before) {
		t.Fatalf("watcher %d: %d more NOTIFYs after the last PUBLISH's", i, len(after)-len(before))
	}
}

// loadRun is one publisher's PUBLISHes under the fault: the notes answered 200, the ones that
// got no answer, and the answers by first line.
type loadRun struct {
	acked, unanswered []string
	answers           map[string]int
	last              string   // the last answer's code
	refusals          []sipMsg // B's answers other than 200 after the kill
}

// galeraNodeKilled kills Galera node 2 (SIGKILL) under a PUBLISH load through both Kamailio
// nodes, and checks what each node answered and what A serves afterwards.
func galeraNodeKilled(t *testing.T, g *harness.Galera, a, b *kamailio, logs []*watcherLog) {
	t.Helper()
	var killedAt time.Time
	var mu sync.Mutex
	killed := func() bool { mu.Lock(); defer mu.Unlock(); return !killedAt.IsZero() }
	runs := make([]loadRun, 2)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for n, k := range []*kamailio{a, b} {
		u := newUA(t, fmt.Sprintf("gal-load%d-%d", n, a.Port))
		u.resource = "gal-load"
		run := &runs[n]
		run.answers = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				note := fmt.Sprintf("k%d-%d", n, i)
				after := killed()
				r, ok := u.publish(k.Port, note, 3*time.Second)
				code := "no answer"
				if ok {
					code = strings.Join(strings.Fields(r.first)[1:2], "")
				}
				run.answers[code]++
				run.last = code
				switch {
				case !ok:
					run.unanswered = append(run.unanswered, note)
				case code == "200":
					run.acked = append(run.acked, note)
				case after:
					run.refusals = append(run.refusals, r)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	if err := g.Nodes[1].Kill(); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitSynced(1, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("Galera node 1 alone primary %v after node 2's kill", time.Since(killedAt).Round(time.Millisecond))
	ackedBefore := len(runs[0].acked) // racy read only for the log below
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("A (Galera node 1): answers %v, %d acknowledged (%d by the time node 1 was alone)", runs[0].answers, len(runs[0].acked), ackedBefore)
	t.Logf("B (Galera node 2, killed): answers %v", runs[1].answers)

	// B refused with 503 and Retry-After once its database node was gone, never hung
	if len(runs[1].refusals) == 0 {
		t.Fatalf("B: no refusal after its Galera node was killed: %v", runs[1].answers)
	}
	for _, r := range runs[1].refusals {
		if !strings.HasPrefix(r.first, "SIP/2.0 503") || r.headers["retry-after"] == "" {
			t.Errorf("B after the kill: %s, Retry-After %q", r.first, r.headers["retry-after"])
		}
	}
	if n := runs[1].answers["no answer"]; n > 0 {
		t.Errorf("B left %d PUBLISHes unanswered", n)
	}
	if len(runs[0].acked) < 20 || runs[0].last != "200" {
		t.Fatalf("A did not go on serving: %v", runs[0].answers)
	}

	// A serves every publication either node acknowledged
	f := newUA(t, fmt.Sprintf("gal-fetch-%d", a.Port))
	f.resource = "gal-load"
	if r := f.subscribe(a.Port, 0); !strings.HasPrefix(r.first, "SIP/2.0 200") {
		t.Fatalf("fetch through A: %s", r.first)
	}
	body := f.notify(5 * time.Second).body
	for n, run := range runs {
		for _, note := range run.acked {
			if !strings.Contains(body, "<note>"+note+"</note>") {
				t.Fatalf("A lacks %s, acknowledged by %s (%d acknowledged)", note, []string{"A", "B"}[n], len(run.acked))
			}
		}
	}
	// and every watcher, whichever node took its SUBSCRIBE, hears of a PUBLISH through A
	p := newUA(t, fmt.Sprintf("gal-after-%d", a.Port))
	p.resource = "gal"
	marks := make([]int, len(logs))
	for i, l := range logs {
		if cs, _ := l.since(0); len(cs) > 0 {
			marks[i] = cs[len(cs)-1]
		}
	}
	if r, ok := p.publish(a.Port, "after", 5*time.Second); !ok || !strings.HasPrefix(r.first, "SIP/2.0 200") {
		t.Fatalf("PUBLISH through A after the kill: %v %s", ok, r.first)
	}
	for i, l := range logs {
		l.waitSince(marks[i], 1, 3*time.Second)
		cs, last := l.since(marks[i])
		if len(cs) != 1 || last.from.Port != a.Port || !strings.Contains(last.body, "<note>after</note>") {
			t.Fatalf("watcher %d after the kill: %d NOTIFYs, last from %d: %q", i, len(cs), last.from.Port, last.body)
		}
	}
}
