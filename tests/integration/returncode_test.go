//go:build integration

package integration

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// handle_publish and handle_subscribe return 1 when the request was accepted (2xx) or the
// PUBLISH named an unknown ETag (412: stock's update_presentity replies and reports success),
// and -1 for every other rejection, as stock does: a script tests them with if (...).
func TestHandleReturnCodes(t *testing.T) {
	t.Parallel()
	o := options{logReturnCode: true, expectedLog: []expectedLog{
		{"stock", `ERROR: presence \[publish\.c:\d+\]: ki_handle_publish_uri\(\):\s+event=\[foo\]$`,
			"stock logs the unknown event of a PUBLISH at ERROR"},
		{"stock", `ERROR: presence \[subscribe\.c:\d+\]: handle_subscribe\(\): Missing event header field value$`,
			"stock's message for an unknown event in a SUBSCRIBE"},
	}}
	eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
		steps := []struct {
			scenario string
			keys     []string
			status   string // "": the scenario checks the answer itself
			rc       string
		}{
			{"publish_any", nil, "200 OK", "handle_publish returned 1"},
			{"publish_unknown_etag", []string{"etag", "a.1.2.3.4"}, "", "handle_publish returned 1"},
			{"publish_any", []string{"event", "foo"}, "489 Bad Event", "handle_publish returned -1"},
			{"subscribe_any", nil, "200 OK", "handle_subscribe returned 1"},
			{"subscribe_any", []string{"event", "foo"}, "489 Bad Event", "handle_subscribe returned -1"},
		}
		var want []string
		for _, s := range steps {
			if s.status == "" { // 412
				k.runSipp(t, s.scenario, s.keys...)
			} else {
				r, _ := k.answer(t, s.scenario, s.keys...)
				wantStatus(t, r, s.status)
			}
			want = append(want, s.rc)
		}
		if got := k.waitReturnCodes(t, len(want)); strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("the script logged %q, want %q", got, want)
		}
	})
}

var returnCodeLine = regexp.MustCompile(`handle_(publish|subscribe) returned -?\d+`)

// waitReturnCodes returns the last n "handle_* returned N" lines of the log (the readiness
// probe's come first). The log is written behind: it waits until there are n and none has
// come for 300 ms, at most 2 s.
func (k *kamailio) waitReturnCodes(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	last, stable := -1, time.Now()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		lines, err := k.LogLines(0)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, l := range lines {
			if m := returnCodeLine.FindString(l); m != "" {
				got = append(got, m)
			}
		}
		if len(got) != last {
			last, stable = len(got), time.Now()
		} else if len(got) >= n && time.Since(stable) >= 300*time.Millisecond {
			break
		}
	}
	if len(got) > n {
		got = got[len(got)-n:]
	}
	return got
}
