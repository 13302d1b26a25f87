package main

import (
	"math"
	"testing"
)

func TestPercentileNearestRank(t *testing.T) {
	s := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6} // 1..10 shuffled
	for _, c := range []struct{ p, want float64 }{{50, 5}, {99, 10}, {90, 9}, {10, 1}, {0.1, 1}, {100, 10}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if s[0] != 5 {
		t.Errorf("percentile sorted its argument in place: %v", s)
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("no samples: want NaN")
	}
	// 1,000 samples 1..1000: p99 is the 990th
	var k []float64
	for i := 1000; i >= 1; i-- {
		k = append(k, float64(i))
	}
	if got := percentile(k, 99); got != 990 {
		t.Errorf("p99 of 1..1000 = %v", got)
	}
}

func TestCDFSmall(t *testing.T) {
	xs, ys := cdf([]float64{3, 1, 2, 2}, 100)
	wantX, wantY := []float64{1, 2, 2, 3}, []float64{0.25, 0.5, 0.75, 1}
	if len(xs) != 4 {
		t.Fatalf("xs %v ys %v", xs, ys)
	}
	for i := range xs {
		if xs[i] != wantX[i] || ys[i] != wantY[i] {
			t.Errorf("point %d: (%v, %v), want (%v, %v)", i, xs[i], ys[i], wantX[i], wantY[i])
		}
	}
	if xs, _ := cdf(nil, 10); xs != nil {
		t.Error("no samples: want no points")
	}
}

// Thinning keeps at most max points, ends at (largest sample, 1), and never goes down.
func TestCDFThinned(t *testing.T) {
	var s []float64
	for i := 0; i < 20000; i++ {
		s = append(s, float64((i*7919)%20000)) // 0..19999, shuffled
	}
	xs, ys := cdf(s, 500)
	if len(xs) > 500 || len(xs) < 400 {
		t.Errorf("%d points, want at most 500 and not far fewer", len(xs))
	}
	if xs[0] != 0 || xs[len(xs)-1] != 19999 || ys[len(ys)-1] != 1 {
		t.Errorf("ends: first x %v, last (%v, %v)", xs[0], xs[len(xs)-1], ys[len(ys)-1])
	}
	for i := 1; i < len(xs); i++ {
		if xs[i] < xs[i-1] || ys[i] <= ys[i-1] {
			t.Fatalf("not increasing at %d: (%v,%v) after (%v,%v)", i, xs[i], ys[i], xs[i-1], ys[i-1])
		}
		if math.Abs(ys[i]-(xs[i]+1)/20000) > 1e-9 {
			t.Fatalf("point %d: y %v for x %v", i, ys[i], xs[i])
		}
	}
}

func TestAnsweredRate(t *testing.T) {
	if got := answeredRate(1000, 10, 9.5); got != 100 {
		t.Errorf("on time: %v, want 100 (over the step's length)", got)
	}
	if got := answeredRate(1000, 10, 20); got != 50 {
		t.Errorf("fell behind: %v, want 50", got)
	}
	if got := answeredRate(5, 0, 0); got != 0 {
		t.Errorf("no time: %v", got)
	}
}

func TestSortedSweep(t *testing.T) {
	in := []sweepPoint{{offered: 10}, {offered: 50}, {offered: 25}}
	out := sortedSweep(in)
	if out[0].offered != 10 || out[1].offered != 25 || out[2].offered != 50 || in[1].offered != 50 {
		t.Errorf("got %v (input %v)", out, in)
	}
}
