package gopresence

import (
	"testing"

	"github.com/gopresence/gopresence/db"
)

// $subs' expires is the seconds left, never below 0; local_cseq and version as stock's subs_t
// holds them while a NOTIFY is sent (the CSeq before it) and between NOTIFYs (the next one).
func TestSnapshotExpiresAndCounters(t *testing.T) {
	s := &subscription{Watcher: db.Watcher{LocalCSeq: 5, Version: 3}}
	for _, c := range []struct {
		expires, want int64
	}{{60, 60}, {1, 1}, {0, 0}, {-5, 0}} {
		if got := snapshot(s, c.expires, StatusActive, "", false).expires; got != c.want {
			t.Errorf("expires %d shown as %d, want %d", c.expires, got, c.want)
		}
	}
	if si := snapshot(s, 60, StatusActive, "", true); si.localCSeq != 4 || si.version != 3 {
		t.Errorf("sending: local_cseq %d, version %d; want 4, 3", si.localCSeq, si.version)
	}
	if si := snapshot(s, 60, StatusActive, "", false); si.localCSeq != 5 || si.version != 4 {
		t.Errorf("between NOTIFYs: local_cseq %d, version %d; want 5, 4", si.localCSeq, si.version)
	}
}
