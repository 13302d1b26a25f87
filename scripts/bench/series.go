package main

import (
	"math"
	"sort"
	"sync"
)

// The series a run collects for its plots (plots.go): what the table sums up in one number per
// cell, point by point. Keys end in the target's name so that stock and ours share one plot.
type series struct {
	mu sync.Mutex
	// rate sweep: "<scenario>/c<children>" → target → one point per step
	sweep map[string]map[string][]sweepPoint
	// latency samples in ms: "<what>" → target → samples
	latency map[string]map[string][]float64
	// fan-out: "<kind> <n>" → target → ms from the PUBLISH sent to each NOTIFY received
	fanout map[string]map[string][]float64
	// titles of the latency and fan-out plots, by key (what the x axis measures)
	titles map[string]string
}

// sweepPoint is one step of the rate search: offered calls/s, calls answered successfully per
// second of the step, and Kamailio's CPU ms per successful call.
type sweepPoint struct{ offered, answered, cpuMS float64 }

var collected = &series{sweep: map[string]map[string][]sweepPoint{},
	latency: map[string]map[string][]float64{}, fanout: map[string]map[string][]float64{},
	titles: map[string]string{}}

func (s *series) addSweep(key, target string, p sweepPoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sweep[key] == nil {
		s.sweep[key] = map[string][]sweepPoint{}
	}
	s.sweep[key][target] = append(s.sweep[key][target], p)
}

func (s *series) addSamples(m map[string]map[string][]float64, key, title, target string, ms []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m[key] == nil {
		m[key] = map[string][]float64{}
	}
	m[key][target] = append(m[key][target], ms...)
	if title != "" {
		s.titles[key] = title
	}
}

// answeredRate is successful calls per second of a step: over its length, or over the time
// it really took when that was longer (a step that fell behind answered less than offered).
func answeredRate(success int, stepSec int, elapsedSec float64) float64 {
	d := math.Max(float64(stepSec), elapsedSec)
	if d <= 0 {
		return 0
	}
	return float64(success) / d
}

// percentile is the p-th percentile (0 < p ≤ 100) of samples by the nearest-rank method: the
// smallest sample with at least p % of the samples at or below it. NaN without samples.
func percentile(samples []float64, p float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(s) {
		rank = len(s)
	}
	return s[rank-1]
}

// cdf is the empirical distribution of samples as points (x = sample, y = fraction of samples
// ≤ x), sorted by x, thinned to at most max points (the first and last always kept) so that a
// plot of 20,000 samples stays a small file; a step at each kept sample.
func cdf(samples []float64, max int) (xs, ys []float64) {
	if len(samples) == 0 {
		return nil, nil
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	n := len(s)
	stride := 1
	if max > 1 && n > max {
		stride = (n + max - 2) / (max - 1)
	}
	for i := 0; i < n; i += stride {
		xs = append(xs, s[i])
		ys = append(ys, float64(i+1)/float64(n))
	}
	if xs[len(xs)-1] != s[n-1] || ys[len(ys)-1] != 1 {
		xs = append(xs, s[n-1])
		ys = append(ys, 1)
	}
	return xs, ys
}

// sortedSweep is a target's sweep points by offered rate (the refinement step comes last in
// the order run).
func sortedSweep(ps []sweepPoint) []sweepPoint {
	out := append([]sweepPoint(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].offered < out[j].offered })
	return out
}
