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

// After a burst of load (a restart's re-registrations, a bulk of PUBLISHes) the heap's pages
// that the burst's garbage occupied stay resident: Go's background scavenger keeps about 10%
// above the heap goal and returns the rest slowly. Once the engine is idle (less than
// idleAlloc allocated since the last tick) with more than releaseAbove of such pages, it
// returns them at once (debug.FreeOSMemory: a full GC, then every free page released). Under
// load it does not: the next allocations reuse those pages, and a forced GC would cost CPU.
// Light traffic counts as idle too, so releases are at most releaseEvery apart: a forced GC of
// a 150 MiB heap is about 0.1–0.2 CPU s, under 1% of a core at that spacing.
const (
	memTick      = 500 * time.Millisecond
	paceEvery    = int(gcEvery / memTick) // GOGC is adjusted every paceEvery ticks
	releaseAbove = 8 << 20
	idleAlloc    = 1 << 20
	releaseEvery = 30 * time.Second
)

// shouldRelease: free (resident but unused) heap bytes worth returning, allocated bytes since
// the last tick low enough to call the engine idle, and the last release long enough ago.
func shouldRelease(free, allocated uint64, sinceLast time.Duration) bool {
	return free > releaseAbove && allocated < idleAlloc && sinceLast >= releaseEvery
}

// gcPace adjusts GOGC (unless the operator set GOGC) and returns free heap pages to the OS
// when idle, until stop is closed.
func gcPace(stop <-chan struct{}) {
	pace := os.Getenv("GOGC") == ""
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/heap/allocs:bytes"}}
	current := 100
	var allocs uint64
	var released time.Time
	t := time.NewTicker(memTick)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(sample)
		for _, m := range sample {
			if m.Value.Kind() != metrics.KindUint64 {
				return
			}
		}
		if p := gcPercentFor(sample[0].Value.Uint64()); pace && tick%paceEvery == 0 && p != current {
			debug.SetGCPercent(p)
			current = p
		}
		a := sample[2].Value.Uint64()
		if shouldRelease(sample[1].Value.Uint64(), a-allocs, time.Since(released)) {
			debug.FreeOSMemory()
			released = time.Now()
		}
		allocs = a
	}
}
