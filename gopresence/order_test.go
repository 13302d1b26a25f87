package gopresence

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// Concurrent PUBLISHes to one presentity: the NOTIFY with the highest CSeq (the one a watcher
// keeps, RFC 3261 §12.2.2) must carry the final state, never an older one.
func TestConcurrentPublishesNeverLeaveOlderState(t *testing.T) {
	e, _ := newTestEngine(t, "", "")
	do(t, e, wire.TSubscribe, subscribe("w1", "", "600", 1))
	const writers, rounds = 8, 20
	type seen struct {
		cseq int
		body string
	}
	var mu sync.Mutex
	var last seen
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			body := func(r int) string {
				return fmt.Sprintf(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@ex.com"><tuple id="w%d"><status><basic>open</basic></status><note>%d</note></tuple></presence>`, w, r)
			}
			r := do(t, e, wire.TPublish, publish("", "600", body(0)))
			etag := r.headers["SIP-ETag"]
			for i := 1; i <= rounds; i++ {
				r = do(t, e, wire.TPublish, publish(etag, "600", body(i)))
				if r.code != 200 {
					t.Errorf("writer %d round %d: %d", w, i, r.code)
					return
				}
				etag = r.headers["SIP-ETag"]
				for _, n := range r.notifs {
					c, _ := strconv.Atoi(n[wire.NCSeq])
					mu.Lock()
					if c > last.cseq {
						last = seen{c, n[wire.NBody]}
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	key := presentityKey{uri: "sip:alice@ex.com", event: "presence"}
	sh := e.shards.of(key)
	sh.mu.Lock()
	final := string(e.currentBody(sh, key))
	sh.mu.Unlock()
	if last.body != final {
		t.Fatalf("watcher's newest NOTIFY (CSeq %d) is not the final state:\n%s\nvs\n%s", last.cseq, last.body, final)
	}
	if want := 1 + writers*(rounds+1); last.cseq != want { // + the SUBSCRIBE's NOTIFY
		t.Fatalf("CSeq %d, want %d (one NOTIFY per state change)", last.cseq, want)
	}
}
