//go:build integration

package integration

import (
	"strings"
	"testing"
)

// Requests a client gets wrong, each answered with an error (or, where the request is in fact
// fine, a 2xx), after which Kamailio still answers. One Kamailio per target for all of them.
func TestBadInput(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, options{tcp: true, expectedLog: badInputLog}, func(t *testing.T, k *kamailio) {
		// the status line wanted from stock and from ours
		perTarget := func(stock, ours string) string {
			if k.Target == "stock" {
				return stock
			}
			return ours
		}
		cases := []struct {
			name string
			run  func(t *testing.T)
		}{
			{"publish Expires abc", func(t *testing.T) {
				// Stock: 200 with Expires 0, not the 500 its code seems to promise: the core's
				// parse_expires takes "abc" without error as 0, and an initial PUBLISH with
				// Expires 0 is stored (kamailio-presence-5.6.3.md §5.2, quirk).
				r, _ := k.answer(t, "publish_any", "expires", "abc")
				wantStatus(t, r, perTarget("200 OK", "400 Bad request"))
				if k.Target == "stock" {
					wantHeader(t, r, "Expires", "0")
				}
			}},
			{"publish without Content-Length over UDP", func(t *testing.T) {
				// RFC 3261 20.14: the datagram's end ends the body. Stock refuses it.
				r, _ := k.answer(t, "publish_no_content_length", "body", pidf("no-clen"))
				wantStatus(t, r, perTarget("400 Bad request", "200 OK"))
			}},
			{"subscribe without Contact", func(t *testing.T) {
				// Stock: "500 Server Internal Error" (missing Contact; kamailio-presence-5.6.3.md
				// §5.3 step 3).
				r, _ := k.answer(t, "subscribe_no_contact")
				wantStatus(t, r, perTarget("500 Server Internal Error", "400 Bad request"))
			}},
			{"initial publish without body", func(t *testing.T) {
				r, _ := k.answer(t, "publish_no_body")
				wantStatus(t, r, "400 Invalid request")
			}},
			{"publish body not XML", func(t *testing.T) {
				r, _ := k.answer(t, "publish_any", "body", "<presence")
				wantStatus(t, r, "415 Unsupported media type")
			}},
			{"publish PIDF as text-plain", func(t *testing.T) {
				// Stock does not look at Content-Type: 200.
				r, _ := k.answer(t, "publish_any", "ctype", "text/plain", "body", pidf("plain"))
				wantStatus(t, r, perTarget("200 OK", "415 Unsupported media type"))
			}},
			{"subscribe unknown To-tag", func(t *testing.T) {
				r, _ := k.answerWith(t, sippOptions{callID: uniqueID("nodialog")}, "dialog_refresh",
					"ftag", "f1", "totag", "no-such-dialog", "seq", "2")
				wantStatus(t, r, "481 Subscription does not exist")
			}},
			{"subscribe Event presence;id=7", func(t *testing.T) {
				// Stock: 489, its event match wants the same parameters on both sides
				// (kamailio-presence-5.6.3.md §3.2).
				r, s := k.answer(t, "subscribe_any", "event", "presence;id=7")
				if k.Target == "stock" {
					wantStatus(t, r, "489 Bad Event")
					return
				}
				wantStatus(t, r, "200 OK")
				if r.status() == 200 {
					wantHeader(t, s.notifies(t, 1)[0], "Event", "presence;id=7")
				}
			}},
			{"publish two Expires", func(t *testing.T) {
				// Stock: takes the first one, "200 OK" with Expires 60.
				r, _ := k.answer(t, "publish_two_expires")
				wantStatus(t, r, perTarget("200 OK", "400 Bad request"))
				if k.Target == "stock" {
					wantHeader(t, r, "Expires", "60")
				}
			}},
			{"publish 50 KB body over TCP", func(t *testing.T) {
				r, _ := k.answerWith(t, sippOptions{tcp: true}, "publish_any", "body", pidf(strings.Repeat("x", 50*1024)))
				wantStatus(t, r, "200 OK")
			}},
			{"subscribe stale CSeq", func(t *testing.T) {
				// RFC 3261 12.2.2: a CSeq not above the last one is out of order: 500. Stock: 400.
				callid, ftag := uniqueID("stale"), uniqueID("ftag")
				port := freeUDPPort(t)
				v := k.runSippWith(t, sippOptions{port: port, callID: callid}, "dialog_open", "ftag", ftag)
				r, _ := k.answerWith(t, sippOptions{port: port, callID: callid}, "dialog_refresh", "target", v["target"],
					"ftag", ftag, "totag", v["totag"], "seq", "1")
				wantStatus(t, r, perTarget("400 Bad request", "500 Server Internal Error"))
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.run(t)
				k.alive(t)
			})
		}
	})
}

// badInputLog is what Kamailio logs at ERROR for TestBadInput's requests.
var badInputLog = []expectedLog{
	{"stock", `ERROR: presence \[subscribe\.c:\d+\]: extract_sdialog_info_ex\(\): cannot parse contact header$`,
		"SUBSCRIBE without Contact"},
	{"stock", `ERROR: presence \[publish\.c:\d+\]: ki_handle_publish_uri\(\): No E-Tag and no body found$`,
		"initial PUBLISH without body"},
	{"stock", `ERROR: presence_xml \[add_events\.c:\d+\]: xml_publ_handl\(\): bad body format$`,
		"PUBLISH body not XML"},
	{"stock", `ERROR: presence \[publish\.c:\d+\]: ki_handle_publish_uri\(\): in event specific publish handling$`,
		"PUBLISH body not XML, second line"},
	{"stock", `ERROR: presence \[subscribe\.c:\d+\]: get_stored_info\(\): wrong sequence number;received: 1 - stored: 1$`,
		"stale CSeq"},
	{"stock", `ERROR: presence \[publish\.c:\d+\]: ki_handle_publish_uri\(\): no Content-Length header found!$`,
		"PUBLISH without Content-Length over UDP"},
}
