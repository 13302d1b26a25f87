package main

import (
	"strings"
	"testing"
)

// The latency rate is half the lower of the targets' subscribe rates, a bound kept as a bound,
// and BENCH_LATENCY_RATE without them.
func TestLatencyRate(t *testing.T) {
	savedB, savedConf := b, conf
	defer func() { b, conf = savedB, savedConf }()
	conf.targets, conf.latencyChildren, conf.latencyRate = []string{"stock", "ours"}, 1, 77
	for _, c := range []struct {
		stock, ours val
		want        int
		from        string
	}{
		{val{v: 800, ok: true}, val{v: 1600, op: "≥", ok: true}, 400, "½ of 800"},
		{val{v: 3200, op: "≥", ok: true}, val{v: 6400, op: "≥", ok: true}, 1600, "½ of ≥3200"},
		{val{v: 10, op: "<", ok: true}, val{v: 10, ok: true}, 5, "½ of <10"},
		{val{v: 10, ok: true}, val{v: 10, op: "<", ok: true}, 5, "½ of <10"},
		{textVal("did not start"), val{v: 400, ok: true}, 200, "½ of 400"},
		{textVal("did not start"), textVal("did not start"), 77, "BENCH_LATENCY_RATE"},
	} {
		b = &bench{broken: map[string]string{}, best: map[string]val{
			"subscribe_cycle/1/stock": c.stock, "subscribe_cycle/1/ours": c.ours,
			"subscribe_cycle/4/stock": {v: 1, ok: true}}} // other children do not count
		rate, from := latencyRate()
		if rate != c.want || !strings.HasPrefix(from, c.from) {
			t.Errorf("stock %s, ours %s: %d (%s), want %d (%s…)", c.stock.txt, c.ours.txt, rate, from, c.want, c.from)
		}
	}
	b = &bench{broken: map[string]string{}, best: map[string]val{}}
	if rate, from := latencyRate(); rate != 77 || from != "BENCH_LATENCY_RATE" {
		t.Errorf("no rate section: %d (%s)", rate, from)
	}
}
