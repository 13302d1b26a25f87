//go:build integration

package integration

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

var cseqRE = regexp.MustCompile(`(?m)^CSeq:\s*(\d+)\s+NOTIFY`)

// Issue 3 item 7: publishers racing on one presentity. Each PUBLISH is acknowledged; the
// watcher's newest NOTIFY (highest CSeq, which a UA keeps) must show every publisher's last
// acknowledged state, never an older one.
func TestConcurrentPublishBurst(t *testing.T) {
	const publishers, rounds = 4, 6 // 1 initial + 5 modifies each
	o := options{skip: map[string]string{"stock": "stock 5.6.3 on SQLite answers concurrent PUBLISHes with 500 (database is locked)"}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		w := k.startSippWith(t, sippOptions{autoAnswer: true}, "watch_burst", "expires", "60")
		w.waitVar(t, "subscribed", dbWait)
		var ps []*sipp
		for i := 0; i < publishers; i++ {
			ps = append(ps, k.startSipp(t, "publish_burst", "tuple", fmt.Sprintf("p%d", i)))
		}
		for _, p := range ps {
			p.wait(t)
		}
		w.wait(t)
		got := w.requests("NOTIFY")
		if want := 1 + publishers*rounds; len(got) != want {
			t.Fatalf("watcher got %d NOTIFYs, want %d (one per acknowledged change)\n%s", len(got), want, w.report())
		}
		best, bestCSeq := "", -1
		for _, n := range got {
			m := cseqRE.FindStringSubmatch(n.text)
			if m == nil {
				t.Fatalf("NOTIFY without CSeq:\n%s", n.text)
			}
			if c, _ := strconv.Atoi(m[1]); c > bestCSeq {
				best, bestCSeq = n.text, c
			}
		}
		for i := 0; i < publishers; i++ {
			want := fmt.Sprintf("<note>p%d-%d</note>", i, rounds-1)
			if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(best) {
				t.Errorf("newest NOTIFY (CSeq %d) lacks %s:\n%s", bestCSeq, want, best)
			}
		}
	})
}
