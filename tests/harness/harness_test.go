package harness

import (
	"strings"
	"testing"
)

// Ports are handed out once per process, from the range below the ephemeral one.
func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 50; i++ {
		p, err := FreePort(i%2 == 0)
		if err != nil {
			t.Fatal(err)
		}
		if p < portRangeLow || p >= portRangeHigh || seen[p] {
			t.Fatalf("port %d: outside %d-%d or handed out twice", p, portRangeLow, portRangeHigh)
		}
		seen[p] = true
	}
}

func TestModParams(t *testing.T) {
	got := ModParams("presence", map[string]any{"subs_db_mode": 1, "server_address": "sip:a"})
	want := []string{`modparam("presence", "server_address", "sip:a")`, `modparam("presence", "subs_db_mode", 1)`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// What tells the targets' cfgs apart, and what the suite's and the bench's choices add.
func TestCfgRender(t *testing.T) {
	render := func(c Cfg) string {
		t.Helper()
		b, err := c.Render()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	base := Cfg{Port: 5070, Dir: "/w", OursDir: "/b/modules", ModParams: []string{`modparam("tm", "x", 1)`}}
	for _, c := range []struct {
		change         func(*Cfg)
		has, hasNot    []string
		target, reason string
	}{
		{func(c *Cfg) { c.Target = Stock }, []string{StockModuleDir + "/presence.so", "presence_xml",
			`"db_url", "sqlite:////w/presence.db"`, `modparam("tm", "x", 1)`, "children=2", "disable_tcp=yes", "handle_publish();"},
			[]string{"/b/modules", "sanity", "t_release", "xlog", "ctl.so"}, "stock", "plain"},
		{func(c *Cfg) { c.Target = Ours; c.TCP = true; c.DBURL = "sqlite:///x.db" }, []string{"/b/modules/presence.so",
			"listen=tcp:127.0.0.1:5070", `"db_url", "sqlite:///x.db"`}, []string{"presence_xml", "disable_tcp"}, "ours", "tcp"},
		{func(c *Cfg) { c.Target = Floor; c.Screening = true; c.Children = 4 }, []string{"sanity_check", "t_release();", "children=4"},
			[]string{"presence.so", "handle_publish();", "handle_subscribe();", `modparam("tm"`}, "floor", "screening"},
		{func(c *Cfg) { c.Target = Ours; c.PublishSender = true; c.SubscribeWatcher = true },
			[]string{`handle_publish("$hdr(X-Sender)")`, `handle_subscribe("$hdr(X-Watcher)")`}, nil, "ours", "variants"},
		{func(c *Cfg) { c.Target = Stock; c.LogReturnCode = true; c.Ctl = true },
			[]string{`xlog.so`, `"handle_publish returned $rc\n"`, `"handle_subscribe returned $rc\n"`,
				`ctl.so`, `modparam("ctl", "binrpc", "unix:/w/kamailio_ctl")`}, nil, "stock", "return codes, ctl"},
	} {
		cfg := base
		c.change(&cfg)
		text := render(cfg)
		for _, s := range c.has {
			if !strings.Contains(text, s) {
				t.Errorf("%s, %s: cfg has no %q", c.target, c.reason, s)
			}
		}
		for _, s := range c.hasNot {
			if strings.Contains(text, s) {
				t.Errorf("%s, %s: cfg has %q", c.target, c.reason, s)
			}
		}
		if !strings.Contains(text, "is_method(\"OPTIONS\")") {
			t.Errorf("%s, %s: no OPTIONS branch, which the readiness rule needs", c.target, c.reason)
		}
	}
	if _, err := (Cfg{Target: "x"}).Render(); err == nil {
		t.Error("unknown target rendered")
	}
	if _, err := (Cfg{Target: Ours}).Render(); err == nil {
		t.Error("ours without its module directory rendered")
	}
}

func TestIsError(t *testing.T) {
	for line, want := range map[string]bool{
		` 1(26743) ERROR: db_sqlite [dbase.c:528]: db_sqlite_commit(): sqlite commit failed`:                 true,
		` 0(15568) CRITICAL: <core> [core/mem/q_malloc.c:1]: x`:                                              true,
		` 0(15568) BUG: <core> [x.c:1]: y`:                                                                   true,
		` 0(14119) ALERT: <core> [main.c:770]: handle_sigs(): child process 14134 exited by a signal 11`:     true,
		` 0(14119) ALERT: <core> [main.c:770]: handle_sigs(): child process 14134 exited normally, status=0`: false,
		` 2(14134) NOTICE: presence [request.c:283]: engine_handle_request(): PUBLISH: 503`:                  false,
		` 1(1) WARNING: <script>: malformed PUBLISH`:                                                         false,
	} {
		if got := IsError(line); got != want {
			t.Errorf("IsError(%q) = %v, want %v", line, got, want)
		}
	}
}
