//go:build integration

package integration

import (
	"regexp"
	"testing"
	"time"
)

// Start-up with bad parameter values (module/params.def, module/README.md 2.18): a
// configuration stock starts, ours starts too, correcting the value as stock does and saying so
// at WARN; what stock refuses, ours refuses; the documented exceptions are refusals of values
// stock would run with in no sane way. Each refusal names the parameter.
func TestBadParamValues(t *testing.T) {
	const starts, refuses = "starts", "refuses"
	cases := []struct {
		name        string
		params      map[string]any
		stock, ours string
		oursLog     string // a line ours must log
	}{
		{"timeout_rm_subs=5", map[string]any{"timeout_rm_subs": 5}, starts, starts,
			`WARNING: .*modparam "timeout_rm_subs": 5 read as 1 \(on\)`},
		{"subs_htable_size=0", map[string]any{"subs_htable_size": 0}, starts, starts,
			`WARNING: .*modparam "subs_htable_size": 0 is out of range \[1, 20\], using 9`},
		{"expires_offset=-5", map[string]any{"expires_offset": -5}, starts, starts,
			`WARNING: .*modparam "expires_offset": -5 is out of range \[0, \d+\], using 0`},
		{"min_expires above max_expires", map[string]any{"min_expires": 7200, "max_expires": 3600}, starts, starts,
			`WARNING: .*modparam "min_expires": 7200 is above max_expires, using 3600`},
		{"local_log_facility unknown", map[string]any{"local_log_facility": "LOG_NOPE"}, refuses, refuses,
			`ERROR: .*modparam "local_log_facility": "LOG_NOPE" is not a syslog facility`},
		{"min_expires_action=3", map[string]any{"min_expires_action": 3}, refuses, refuses,
			`ERROR: .*modparam "min_expires_action": 3 is out of range \[1, 2\]`},
		{"server_address without scheme", map[string]any{"server_address": "10.0.0.1:5060"}, starts, refuses,
			`modparam "server_address": "10.0.0.1:5060" is not valid: not a sip: or sips: URI`},
		{"subs_db_mode=4", map[string]any{"subs_db_mode": 4}, starts, refuses,
			`ERROR: .*modparam "subs_db_mode": 4 is out of range \[0, 3\]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, target := range selectedTargets(t) {
				want := map[string]string{"stock": c.stock, "ours": c.ours}[target]
				k := newKamailio(t, target, options{presence: c.params})
				if err := k.Launch(); err != nil {
					t.Fatal(err)
				}
				_, err := k.WaitReady(startTimeout)
				got := starts
				if err != nil {
					got = refuses
				}
				if got != want {
					t.Errorf("%s %s, want it to %s (%v)", target, got, want, err)
					k.dumpLog(t)
					continue
				}
				if target != "ours" {
					continue
				}
				if got == refuses {
					select {
					case <-k.Exited:
					case <-time.After(5 * time.Second):
						t.Errorf("ours did not exit after refusing to start")
					}
				}
				lines, err := k.LogLines(0)
				if err != nil {
					t.Fatal(err)
				}
				re := regexp.MustCompile(c.oursLog)
				found := false
				for _, l := range lines {
					found = found || re.MatchString(l)
				}
				if !found {
					t.Errorf("ours logged no line matching %q", c.oursLog)
					k.dumpLog(t)
				}
			}
		})
	}
}
