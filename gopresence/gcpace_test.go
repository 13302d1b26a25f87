package gopresence

import (
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100}, {1 << 20, 100}, {16 << 20, 100}, {32 << 20, 50}, {64 << 20, 25}, {160 << 20, 10}, {1 << 30, 10},
	} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("live %d MiB: GOGC %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// Free heap pages are returned once the engine is idle after a burst (above releaseAbove), not
// for a few pages, not under load (the pages are about to be reused; each release is a full
// GC), and not again within releaseEvery.
func TestShouldRelease(t *testing.T) {
	long := time.Since(time.Time{})
	for _, c := range []struct {
		free, allocated uint64
		since           time.Duration
		want            bool
	}{
		{40 << 20, 0, long, true}, {releaseAbove + 1, idleAlloc - 1, releaseEvery, true},
		{releaseAbove, 0, long, false}, {1 << 20, 0, long, false}, {40 << 20, idleAlloc, long, false},
		{40 << 20, 50 << 20, long, false}, {40 << 20, 0, releaseEvery - time.Second, false},
	} {
		if got := shouldRelease(c.free, c.allocated, c.since); got != c.want {
			t.Errorf("free %d MiB, %d KiB allocated in the tick, %v since the last: %v, want %v",
				c.free>>20, c.allocated>>10, c.since, got, c.want)
		}
	}
}
