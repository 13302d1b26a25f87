//go:build integration

package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statsOptions: kex for stats.get_statistics, xhttp_prom answering /metrics on the SIP TCP port.
var statsOptions = options{
	ctl: true, tcp: true,
	skip:      map[string]string{"stock": "stock 5.6.3 exports no presence statistics"},
	globals:   "tcp_accept_no_cl=yes",
	modules:   []string{"kex", "xhttp", "xhttp_prom"},
	modparams: map[string]map[string]any{"xhttp_prom": {"xhttp_prom_stats": "presence:"}},
	routes: `event_route[xhttp:request] {
	if ($hu =~ "^/metrics") {
		prom_dispatch();
	} else {
		xhttp_reply("404", "Not Found", "text/plain", "");
	}
}`,
}

// metric reads one value from a stats.get_statistics dump ("presence:name = N") or a
// Prometheus page ("kamailio_presence_name N ts").
func metric(t *testing.T, text, name string) int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\s*(?:presence:` + name + ` = |kamailio_presence_` + name + ` )(-?[0-9]+)`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no statistic %s in:\n%s", name, text)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// The module's statistics through Kamailio's counters: kamcmd stats.get_statistics presence:
// and Prometheus (Debian's xhttp_prom) scraped over HTTP from the running Kamailio.
func TestStatistics(t *testing.T) {
	t.Parallel()
	eachTargetWith(t, statsOptions, func(t *testing.T, k *kamailio) {
		// the harness's readiness probes are requests too: counters are compared to before
		before := k.kamcmd(t, "stats.get_statistics", "presence:")
		etag := k.runSipp(t, "publish_initial", "note", "counted")["etag"]
		w := k.startSipp(t, "watch_notifies", "count", "1")
		w.waitVar(t, "subscribed", 10*time.Second)
		k.runSipp(t, "publish_modify", "etag", etag, "note", "again")
		w.wait(t)
		k.runSipp(t, "publish_unknown_etag", "etag", "a.1.2.3.4")
		time.Sleep(1100 * time.Millisecond) // the engine's numbers are read at most once a second
		dump := k.kamcmd(t, "stats.get_statistics", "presence:")
		for name, want := range map[string]int{"publish_2xx": 2, "publish_4xx": 1, "subscribe_2xx": 1,
			"notify_sent": 2, "notify_failed": 0, "notify_timeout": 0, "engine_requests": 4,
			"engine_unavailable": 0} {
			if got := metric(t, dump, name) - metric(t, before, name); got != want {
				t.Errorf("presence:%s grew by %d, want %d", name, got, want)
			}
		}
		for name, want := range map[string]int{"presentities": 1, "publications": 1, "subscriptions": 1,
			"subscriptions_active": 1, "subscriptions_pending": 0, "subscriptions_event_presence": 1} {
			if got := metric(t, dump, name); got != want {
				t.Errorf("presence:%s = %d, want %d", name, got, want)
			}
		}
		if rtt := metric(t, dump, "engine_rtt_us"); rtt <= 0 {
			t.Errorf("presence:engine_rtt_us = %d, want > 0", rtt)
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", k.Port))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		if resp.StatusCode != 200 || !strings.Contains(page, "kamailio_presence_") {
			t.Fatalf("/metrics: %d\n%s", resp.StatusCode, page)
		}
		// every metric the Grafana dashboard plots is on the page
		dash, err := os.ReadFile("../../docs/grafana/presence-dashboard.json")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`kamailio_presence_[a-z0-9_]+`).FindAllString(string(dash), -1) {
			if m != "kamailio_presence_subscriptions_event_" && !strings.Contains(page, m+" ") {
				t.Errorf("the dashboard plots %s, which /metrics does not have", m)
			}
		}
		for name, want := range map[string]int{"notify_sent": metric(t, dump, "notify_sent"),
			"subscriptions_active": 1, "publish_2xx": metric(t, dump, "publish_2xx")} {
			if got := metric(t, page, name); got != want {
				t.Errorf("kamailio_presence_%s = %d, want %d", name, got, want)
			}
		}
	})
}
