//go:build integration

package integration

import (
	"fmt"
	"testing"
)

// State survives a restart: Kamailio stopped with SIGTERM and started again on the same DB
// and port still knows the subscription dialog (an in-dialog refresh gets 200 and a NOTIFY
// with a higher CSeq than any before, carrying the published state) and the publication (a
// refresh with its ETag gets 200). Run with write-through (the suite's mode) and with
// write-back (stock's default, where the state reaches the DB at shutdown); on SQLite and on
// MariaDB.
func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	for _, mode := range []int{1, 2} {
		t.Run(fmt.Sprintf("subs_db_mode=%d", mode), func(t *testing.T) {
			t.Parallel()
			o := options{presence: map[string]any{"subs_db_mode": mode}, dbs: bothDBs}
			eachTargetWith(t, o, func(t *testing.T, k *kamailio) {
				etag := k.runSipp(t, "publish_initial", "note", "before-restart")["etag"]
				// The dialog's Call-ID and From-tag are ours, and the second sipp uses the same
				// port, so its Contact is the one stored.
				port := freeUDPPort(t)
				callid, ftag := uniqueID("restart"), uniqueID("ftag")
				open := k.startSippWith(t, sippOptions{port: port, callID: callid}, "dialog_open", "ftag", ftag)
				v := open.wait(t)
				maxCSeq := 0
				for _, n := range open.notifies(t, 1) {
					maxCSeq = max(maxCSeq, n.cseq())
				}

				k.restart(t)

				r, s := k.answerWith(t, sippOptions{port: port, callID: callid}, "dialog_refresh", "target", v["target"],
					"ftag", ftag, "totag", v["totag"], "seq", "2")
				wantStatus(t, r, "200 OK")
				if r.status() == 200 {
					n := s.notifies(t, 1)[0]
					if k.Target == "stock" && mode == 1 {
						// Stock 5.6.3 in write-through mode repeats the CSeq of the first NOTIFY:
						// that NOTIFY's local_cseq is only kept in memory (notify() skips the DB
						// update while a SUBSCRIBE is being handled), so after the restart the
						// dialog starts again from the CSeq stored by the INSERT.
						if n.cseq() != maxCSeq {
							t.Errorf("stock: NOTIFY after restart has CSeq %d; stock was seen to repeat %d", n.cseq(), maxCSeq)
						}
					} else if n.cseq() <= maxCSeq {
						t.Errorf("NOTIFY after restart has CSeq %d, not above the %d sent before", n.cseq(), maxCSeq)
					}
					wantHeader(t, n, "Subscription-State", "active;expires=300")
					wantNote(t, n, "before-restart")
				}
				r, _ = k.answer(t, "publish_refresh", "etag", etag)
				wantStatus(t, r, "200 OK")
			})
		})
	}
}
