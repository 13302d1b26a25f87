package gopresence

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Held state is most of the engine's heap, and with Go's default GOGC=100 the heap may grow to
// twice the live data before a collection: 100,000 held subscriptions would cost twice their
// size in RSS. gcPace lowers GOGC as the live heap grows so that the headroom stays about
// gcHeadroom bytes (never below gcMinPercent, never above 100): a collection still comes only
// every gcHeadroom bytes of allocation — thousands of requests — while memory per held item
// stays close to its live size. An operator's GOGC in Kamailio's environment wins.
const (
	gcHeadroom   = 16 << 20
	gcMinPercent = 10
	gcEvery      = 5 * time.Second
)

// gcPercentFor is the GOGC for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return 100
	}
	p := int(uint64(gcHeadroom) * 100 / live)
	return max(gcMinPercent, min(100, p))
}

// gcPace adjusts GOGC until stop is closed.
func gcPace(stop <-chan struct{}) {
	if os.Getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := 100
	t := time.NewTicker(gcEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if p := gcPercentFor(sample[0].Value.Uint64()); p != current {
			debug.SetGCPercent(p)
			current = p
		}
	}
}
