package main

import (
	"strings"
	"testing"

	"github.com/gopresence/gopresence/tests/harness"
)

// The floor's cfg is the others' without any presence line, and answers PUBLISH and SUBSCRIBE
// with sl_send_reply; apart from those lines the three cfgs are the same.
func TestFloorCfg(t *testing.T) {
	defer func(dir string) { conf.modDir = dir }(conf.modDir)
	conf.modDir = "/build/modules"
	render := func(target string) []string {
		b, err := benchCfg(target, 2, 5060, "/tmp/x").Render()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(b), "\n")
	}
	code := func(lines []string) []string { // without comments and blank lines
		var out []string
		for _, l := range lines {
			if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
				out = append(out, s)
			}
		}
		return out
	}
	presenceLine := func(s string) bool {
		return strings.Contains(s, "presence") || strings.Contains(s, "handle_") ||
			s == `sl_send_reply("200", "OK");`
	}
	floor := code(render(harness.Floor))
	var replies int
	for _, l := range floor {
		if strings.Contains(l, "presence") || strings.Contains(l, "handle_") {
			t.Errorf("floor cfg has %q", l)
		}
		if l == `sl_send_reply("200", "OK");` {
			replies++
		}
	}
	if replies != 3 { // PUBLISH, SUBSCRIBE, OPTIONS
		t.Errorf("floor cfg: %d sl_send_reply(\"200\", \"OK\"), want 3", replies)
	}
	for _, target := range []string{"stock", "ours"} {
		full := code(render(target))
		if !strings.Contains(strings.Join(full, "\n"), "handle_publish();") {
			t.Errorf("%s cfg has no handle_publish()", target)
		}
		strip := func(lines []string) string {
			var out []string
			for _, l := range lines {
				if !presenceLine(l) {
					out = append(out, l)
				}
			}
			return strings.Join(out, "\n")
		}
		if a, b := strip(full), strip(floor); a != b {
			t.Errorf("%s and floor cfgs differ beyond the presence lines:\n%s\n---\n%s", target, a, b)
		}
	}
}

func TestAboveFloor(t *testing.T) {
	for _, c := range []struct {
		total, floor val
		want         string
		ok           bool
	}{
		{num(3.5, "%.2f"), num(1.25, "%.2f"), "2.25", true},
		{val{v: 3.5, txt: "3.50 (!)", ok: true}, num(1, "%.2f"), "2.50 (!)", true},
		{num(1, "%.2f"), num(1.5, "%.2f"), "-0.50", false},
		{textVal("did not start"), num(1, "%.2f"), "did not start", false},
		{num(3, "%.2f"), textVal("no calls"), "no floor", false},
	} {
		got := aboveFloor(c.total, c.floor)
		if got.txt != c.want || got.ok != c.ok {
			t.Errorf("aboveFloor(%v, %v) = %q ok=%v, want %q ok=%v", c.total, c.floor, got.txt, got.ok, c.want, c.ok)
		}
	}
	r := &row{metric: "m", cells: map[string]val{"stock": num(1, "%.2f"), "ours": num(1, "%.2f")}, noRatio: true}
	old := b.rows
	defer func() { b.rows = old }()
	b.rows = []*row{r}
	if got := b.table(); !strings.HasSuffix(got, "| m | 1.00 | 1.00 | — |") {
		t.Errorf("table with a noRatio row:\n%s", got)
	}
}

// The floor with NOTIFY is the floor plus uac and, after each SUBSCRIBE's 200, one NOTIFY
// through uac_req_send in the SUBSCRIBE's dialog; PUBLISH is answered as on the floor.
func TestFloorNotifyCfg(t *testing.T) {
	cfg := benchCfg(harness.Floor, 1, 5060, "/tmp/x")
	plain, err := cfg.Render()
	if err != nil {
		t.Fatal(err)
	}
	cfg.FloorNotify = true
	cfg.Modules = append(cfg.Modules, "uac")
	b, err := cfg.Render()
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"/uac.so\"", "uac_req_send();", `$uac_req(method) = "NOTIFY";`,
		`$uac_req(callid) = $ci;`, `Subscription-State: " + $var(state)`} {
		if !strings.Contains(text, want) {
			t.Errorf("floor with NOTIFY: no %q", want)
		}
	}
	if strings.Count(text, "uac_req_send") != 1 || strings.Contains(string(plain), "uac_req") {
		t.Errorf("one uac_req_send, only with FloorNotify")
	}
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); !strings.HasPrefix(l, "#") &&
			(strings.Contains(l, "handle_subscribe(") || strings.Contains(l, "presence.so")) {
			t.Errorf("floor with NOTIFY has %q", l)
		}
	}
}
