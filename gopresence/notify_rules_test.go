package gopresence

import (
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// NOTIFY bookkeeping whose breakage no other test would see.

// Every NOTIFY takes the next local CSeq and the next version; the write-back stores both
// (active_watchers local_cseq and version), so a restart continues from them.
func TestWriteBackStoresCSeqAndVersion(t *testing.T) {
	e, _ := newTestEngine(t, "", "db_commit_delay=0")
	do(t, e, wire.TSubscribe, subscribe("c1", "", "600", 1)) // NOTIFY 1
	do(t, e, wire.TPublish, publish("", "600", pidf1))       // NOTIFY 2
	do(t, e, wire.TPublish, publish("", "600", pidf2))       // NOTIFY 3
	e.writeBack()
	ws, err := e.store.LoadWatchers(0)
	if err != nil || len(ws) != 1 {
		t.Fatalf("%d rows, %v", len(ws), err)
	}
	if ws[0].LocalCSeq != 3 || ws[0].Version != 3 {
		t.Fatalf("stored local_cseq %d, version %d; want 3, 3", ws[0].LocalCSeq, ws[0].Version)
	}
}
