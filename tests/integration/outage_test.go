//go:build integration

package integration

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopresence/gopresence/tests/harness"
)

// outageLoad is the PUBLISH load of the outage tests: 40 new presentities a second for 20 s,
// the database server stopped from the 5th second for 10 s.
const (
	outageRate    = 40
	outageCalls   = 800
	outageStart   = 5 * time.Second
	outageLength  = 10 * time.Second
	outageTimeout = 60 * time.Second
)

// loadUser is the presentity a publish_load call published, from its answer's To header.
var loadUser = regexp.MustCompile(`sip:(load\d+)@`)

// outageRun is what the load saw: the answers by code, and the presentities acknowledged
// (with their ETag) and refused.
type outageRun struct {
	codes    map[int]int
	acked    map[string]string // user → ETag of its 200
	refused  map[string]bool
	lastCode int
}

// runOutage starts ours on its own MariaDB with the presence modparams given, puts it under the
// PUBLISH load, stops the server for 10 s in the middle, and checks what holds for every
// setting: every PUBLISH answered (200, or 503 with Retry-After), 200s again after the outage
// without restarting Kamailio, no log line showing the password.
func runOutage(t *testing.T, presence map[string]any, expected ...expectedLog) (*kamailio, *harness.MariaDB, outageRun) {
	t.Helper()
	if !slices.Contains(selectedTargets(t), harness.Ours) {
		t.Skip("ours only")
	}
	srv := startOwnMariaDB(t)
	o := options{mariadb: srv, ctl: true, presence: presence, expectedLog: expected}
	k := startKamailioOn(t, harness.Ours, mysqlDB, o)
	// a subscription acknowledged before the outage stays stored through it
	r, _ := k.answer(t, "subscribe_any", "expires", "120")
	wantStatus(t, r, "200 OK")

	load := k.startSippWith(t, sippOptions{calls: outageCalls, rate: outageRate, timeout: outageTimeout}, "publish_load")
	time.Sleep(outageStart)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	time.Sleep(outageLength)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("MariaDB down for %v", time.Since(down).Round(time.Millisecond))
	load.Wait(outageTimeout)
	if load.Err != nil {
		t.Fatalf("load: %v\n%s", load.Err, load.report())
	}

	run := outageRun{codes: map[int]int{}, acked: map[string]string{}, refused: map[string]bool{}}
	answered := map[string]bool{}
	for _, r := range load.responses() {
		m := loadUser.FindStringSubmatch(r.header("To"))
		if m == nil {
			t.Fatalf("answer without a load user:\n%s", r.text)
		}
		answered[m[1]] = true
		code := r.status()
		run.codes[code]++
		run.lastCode = code
		switch code {
		case 200:
			run.acked[m[1]] = r.header("SIP-ETag")
		case 503:
			run.refused[m[1]] = true
			if r.header("Retry-After") == "" {
				t.Errorf("503 without Retry-After:\n%s", r.text)
			}
		default:
			t.Errorf("answer %d during the outage test:\n%s", code, r.text)
		}
	}
	t.Logf("answers: %v", run.codes)
	if len(answered) != outageCalls {
		t.Errorf("%d of %d PUBLISHes answered", len(answered), outageCalls)
	}
	if n := run.codes[200] + run.codes[503]; n > outageCalls {
		// handle_publish is stateless (as stock's): a PUBLISH that sipp retransmitted while the
		// first copy waited on the database is handled, and answered, once more
		t.Logf("%d answers to %d PUBLISHes: retransmissions answered too", n, outageCalls)
	}
	if run.lastCode != 200 {
		t.Errorf("the last PUBLISH, after the outage, got %d", run.lastCode)
	}
	for _, l := range k.logLines(t) {
		if strings.Contains(l, srv.Password) {
			t.Errorf("a log line shows the database password: %s", l)
		}
	}
	k.waitQuery(t, "SELECT count(*) FROM active_watchers", "1", dbWait)
	return k, srv, run
}

func (k *kamailio) logLines(t *testing.T) []string {
	t.Helper()
	lines, err := k.LogLines(0)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// storedLoad is the set of load presentities in the database.
func (k *kamailio) storedLoad(t *testing.T) map[string]bool {
	stored := map[string]bool{}
	for _, u := range strings.Fields(k.query(t, "SELECT username FROM presentity WHERE username LIKE 'load%'")) {
		stored[u] = true
	}
	return stored
}

// Issue 10: MariaDB stopped for 10 s under load, ours with write-through settings
// (db_commit_delay=0, subs_db_mode=1). Requests in the outage get 503 with Retry-After (never
// a hang, never a 200 for a write that did not happen), each logged with its presentity;
// Kamailio takes requests again by itself once the server is back; and the database holds
// exactly the publications that got a 200 (no acknowledged write lost, no refused one
// applied), as does a Kamailio restarted on it.
func TestMariaDBOutageWriteThrough(t *testing.T) {
	t.Parallel()
	k, _, run := runOutage(t, map[string]any{"db_commit_delay": 0, "subs_db_mode": 1},
		expectedLog{"ours", `publish: storing sip:load\d+@127\.0\.0\.1: .*database unavailable`, "the outage's refusals, one a request"})
	checkOutageRefusals(t, k, run, `storing sip:(load\d+)@.*database unavailable`)
}

// The same outage in the mode for several nodes (subs_db_mode=3, publ_cache=0: the database
// holds the state): each request's transaction cannot begin, so it gets 503 with Retry-After
// and a log line, nothing of it applied; the database holds exactly what got a 200.
func TestMariaDBOutageShared(t *testing.T) {
	t.Parallel()
	k, _, run := runOutage(t, map[string]any{"subs_db_mode": 3, "publ_cache": 0},
		expectedLog{"ours", `publish sip:load\d+@127\.0\.0\.1: locking: .*database unavailable`, "the outage's refusals, one a request"},
		expectedLog{"ours", `reading expired rows: .*database unavailable`, "the timers during the outage"})
	checkOutageRefusals(t, k, run, `publish sip:(load\d+)@.*database unavailable`)
}

// checkOutageRefusals: requests were refused with 503 during the outage, each logged (logRE
// names the presentity), and the database, before and after a restart, holds exactly the
// publications that got a 200.
func checkOutageRefusals(t *testing.T, k *kamailio, run outageRun, logRE string) {
	t.Helper()
	if run.codes[503] == 0 {
		t.Fatalf("answers %v: no 503 while the database was down", run.codes)
	}
	logged := 0
	// a COMMIT whose connection broke has an unknown outcome (the server may have made it
	// durable before it went): its request is refused, and its publication may be stored
	unknown := map[string]bool{}
	for _, l := range k.logLines(t) {
		if m := regexp.MustCompile(logRE).FindStringSubmatch(l); m != nil && run.refused[m[1]] {
			logged++
			if strings.Contains(l, "commit (outcome unknown") {
				unknown[m[1]] = true
			}
		}
	}
	if logged < run.codes[503] {
		t.Errorf("%d log lines for %d refused requests", logged, run.codes[503])
	}
	stored := k.storedLoad(t)
	for u := range run.acked {
		if !stored[u] {
			t.Errorf("%s got 200 but is not in presentity", u)
		}
	}
	for u := range stored {
		if _, ok := run.acked[u]; !ok && unknown[u] {
			t.Logf("%s is in presentity, its PUBLISH refused when its commit's connection broke (outcome unknown to the engine)", u)
		} else if !ok {
			t.Errorf("%s is in presentity but its PUBLISH was refused", u)
		}
	}
	k.restart(t)
	if n := heldLoadUsers(t, k); n != len(stored) {
		t.Errorf("after a restart the engine holds %d load presentities, %d were acknowledged", n, len(run.acked))
	}
}

// The same outage with write-behind (db_commit_delay 100 ms, the default; subs_db_mode=2): the
// engine answers from memory, so every PUBLISH gets 200; the changes the unavailable database
// refused stay queued, in order, logged once at ERR ("... written-behind changes kept"), and are
// written when it is back (db.Writer; logged at INFO): the database then holds every
// acknowledged publication, and a Kamailio restarted on it serves all of them. (The queue is
// bounded: past 65,536 waiting changes requests wait, and get 503 past their deadline.)
func TestMariaDBOutageWriteBehind(t *testing.T) {
	t.Parallel()
	k, _, run := runOutage(t, map[string]any{"db_commit_delay": 100, "subs_db_mode": 2},
		expectedLog{"ours", `database unavailable.*written-behind changes kept, written when it is back`,
			"the outage, logged once"})
	if run.codes[200] != outageCalls {
		t.Fatalf("answers %v: write-behind answers every PUBLISH from memory", run.codes)
	}
	kept := 0
	for _, l := range k.logLines(t) {
		if strings.Contains(l, "written-behind changes kept") {
			kept++
		}
	}
	if kept != 1 {
		t.Errorf("the outage logged %d times, want once", kept)
	}
	k.waitQuery(t, "SELECT COUNT(DISTINCT username) FROM presentity WHERE username LIKE 'load%'", fmt.Sprint(outageCalls), 10*time.Second)
	stored := k.storedLoad(t)
	for u := range run.acked {
		if !stored[u] {
			t.Errorf("%s: acknowledged, not in the database after the outage", u)
		}
	}
	k.restart(t)
	if n := heldLoadUsers(t, k); n != outageCalls {
		t.Errorf("after a restart the engine holds %d load presentities, want all %d acknowledged", n, outageCalls)
	}
}

// A db_url whose password is wrong, or whose server is not there, stops ours at start-up with
// the reason, and no line of Kamailio's log shows the password.
func TestMySQLStartupErrorsHidePassword(t *testing.T) {
	t.Parallel()
	if !slices.Contains(selectedTargets(t), harness.Ours) {
		t.Skip("ours only")
	}
	const secret = "Wr0ng-s3cret"
	for name, want := range map[string]string{
		"wrong password": `Access denied for user 'gopresence'`,
		"no server":      `connection refused`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k := newKamailioOn(t, harness.Ours, mysqlDB, options{})
			port := k.MariaDB.Port
			if name == "no server" {
				port = freeUDPPort(t)
			}
			k.DBURL = fmt.Sprintf("mysql://%s:%s@127.0.0.1:%d/%s", k.MariaDB.User, secret, port, k.Database)
			cfg, err := k.Render()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(k.CfgPath, cfg, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := k.Launch(); err != nil {
				t.Fatal(err)
			}
			if _, err := k.WaitReady(startTimeout); err == nil {
				t.Fatal("Kamailio started with a db_url it cannot open")
			}
			found := false
			for _, l := range k.logLines(t) {
				if strings.Contains(l, secret) {
					t.Errorf("the log shows the password: %s", l)
				}
				found = found || regexp.MustCompile(want).MatchString(l) && strings.Contains(l, "mysql://gopresence:xxxx@127.0.0.1")
			}
			if !found {
				t.Errorf("no log line with the redacted db_url and %q", want)
				k.dumpLog(t)
			}
		})
	}
}

// heldLoadUsers counts the load presentities the engine holds (a retransmitted initial PUBLISH
// handled twice gives its presentity two publications: one presentity).
func heldLoadUsers(t *testing.T, k *kamailio) int {
	t.Helper()
	users := map[string]bool{}
	for _, m := range regexp.MustCompile(`user: (load\d+)`).FindAllStringSubmatch(k.kamcmd(t, "presence.presentity_list"), -1) {
		users[m[1]] = true
	}
	return len(users)
}
