package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The plots drawn from what the run collected (series.go), stock and ours on the same axes, as
// SVG files in conf.plotDir (docs/perf next to docs/performance.md unless BENCH_PLOTS says
// otherwise). A section that did not run draws nothing, and leaves an older file of its own
// in place.

// plotWidth is every file's width.
const plotWidth = 16 * vg.Centimeter

// cdfPoints is the most points a distribution curve keeps (files stay a few tens of KiB).
const cdfPoints = 400

var (
	stockColor = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
	oursColor  = color.RGBA{R: 0xe0, G: 0x60, B: 0x10, A: 0xff}
)

// curveStyle: stock blue, ours orange, by the label's first word; a label's second variant
// ("…, last of 10", "…: first NOTIFY") dashed.
func curveStyle(label string, dashed bool) draw.LineStyle {
	c := color.Color(stockColor)
	if strings.HasPrefix(label, "ours") {
		c = oursColor
	}
	st := draw.LineStyle{Color: c, Width: vg.Points(1.5)}
	if dashed {
		st.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	return st
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	// top left is empty in answered vs offered (it rises to the right)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(4)
	p.Add(plotter.NewGrid())
	return p
}

// logAxis makes a a log axis over values ≥ min (a log axis cannot show 0).
func logAxis(a *plot.Axis) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = plot.TickerFunc(logTicks)
}

// logTicks is plot.LogTicks without the ticks outside [min, max]: it rounds the range out to
// whole decades, and the plot makes room for those labels too, leaving a gap above the data.
func logTicks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.LogTicks{Prec: -1}).Ticks(min, max) {
		if t.Value >= min*(1-1e-9) && t.Value <= max*(1+1e-9) {
			out = append(out, t)
		}
	}
	return out
}

func addCurve(p *plot.Plot, label string, xs, ys []float64, dashed, points bool) error {
	xy := make(plotter.XYs, len(xs))
	for i := range xs {
		xy[i].X, xy[i].Y = xs[i], ys[i]
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.LineStyle = curveStyle(label, dashed)
	p.Add(l)
	if !points {
		p.Legend.Add(label, l)
		return nil
	}
	s, err := plotter.NewScatter(xy)
	if err != nil {
		return err
	}
	s.GlyphStyle.Color = l.LineStyle.Color
	s.GlyphStyle.Radius = vg.Points(2.5)
	p.Add(s)
	p.Legend.Add(label, l, s)
	return nil
}

// writePlots draws every plot the run has data for into dir and returns the files written.
func writePlots(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	var errs []string
	save := func(name string, rows []*plot.Plot, w, h vg.Length) {
		path := filepath.Join(dir, name)
		if err := saveSVG(path, rows, w, h); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			return
		}
		files = append(files, path)
	}
	s := collected
	for _, key := range sortedKeys(s.sweep) {
		rate, cpu, err := sweepPlots(key, s.sweep[key])
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		save("rate-"+fileName(key)+".svg", []*plot.Plot{rate, cpu}, plotWidth, 20*vg.Centimeter)
	}
	for _, key := range sortedKeys(s.latency) {
		p, err := cdfPlot(s.titles[key], "ms (log scale)", s.latency[key], true)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		save("latency-"+fileName(key)+".svg", []*plot.Plot{p}, plotWidth, 11*vg.Centimeter)
	}
	for _, key := range sortedKeys(s.fanout) {
		p, err := cdfPlot(s.titles[key], "ms since the PUBLISH was sent", s.fanout[key], false)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		p.Y.Label.Text = "fraction of watchers notified"
		save("fanout-"+fileName(key)+".svg", []*plot.Plot{p}, plotWidth, 11*vg.Centimeter)
	}
	if len(errs) > 0 {
		return files, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return files, nil
}

// sweepPlots is the rate sweep of one scenario and children: answered vs offered (with the
// line where all is answered), and CPU per answered call vs offered.
func sweepPlots(key string, byTarget map[string][]sweepPoint) (*plot.Plot, *plot.Plot, error) {
	scen, children, _ := strings.Cut(key, " ")
	name := scenarioNames[scen]
	if name == "" {
		name = scen
	}
	rate := newPlot(fmt.Sprintf("%s, %s: answered vs offered", name, strings.Replace(children, "c", "children=", 1)),
		"offered calls/s (log scale)", "answered calls/s (log)") // a longer label pushes the plot down
	cpu := newPlot("Kamailio CPU per answered call (all processes)", "offered calls/s (log scale)", "CPU ms per call")
	for _, p := range []*plot.Plot{rate, cpu} {
		logAxis(&p.X)
	}
	logAxis(&rate.Y)
	lo, hi := math.Inf(1), 0.0
	for _, t := range sortedKeys(byTarget) {
		ps := sortedSweep(byTarget[t])
		var xs, ya, yc []float64
		for _, p := range ps {
			xs, ya, yc = append(xs, p.offered), append(ya, math.Max(p.answered, 0.1)), append(yc, p.cpuMS)
			lo, hi = math.Min(lo, p.offered), math.Max(hi, p.offered)
		}
		if err := addCurve(rate, t, xs, ya, false, true); err != nil {
			return nil, nil, err
		}
		if err := addCurve(cpu, t, xs, yc, false, true); err != nil {
			return nil, nil, err
		}
	}
	if hi > 0 { // all answered: answered = offered
		l, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
		if err != nil {
			return nil, nil, err
		}
		l.LineStyle = draw.LineStyle{Color: color.Gray{Y: 0x99}, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}
		rate.Add(l)
		rate.Legend.Add("answered = offered", l)
	}
	cpu.Y.Min = 0
	cpu.Legend.XOffs = 0.6 * plotWidth // top right, left-aligned (see cdfPlot)
	return rate, cpu, nil
}

// cdfPlot draws one distribution curve per label (target, or "target: variant"; a variant
// after the first of a target is dashed). Samples ≤ 0 are drawn at 0.001 on a log axis.
func cdfPlot(title, xLabel string, byLabel map[string][]float64, logX bool) (*plot.Plot, error) {
	p := newPlot(title, xLabel, "fraction of samples ≤ x")
	// bottom right is empty in a distribution: it has risen to 1 by the largest samples. The
	// legend's left edge is put there (not its right edge): a viewer without the font gonum
	// measured draws the labels wider, and left-aligned labels then run into empty space
	// rather than over their line samples.
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.XOffs, p.Legend.YOffs = 0.45*plotWidth, vg.Points(8)
	if logX {
		logAxis(&p.X)
	}
	seen := map[string]bool{}
	for _, label := range sortedKeys(byLabel) {
		target, _, _ := strings.Cut(label, ":")
		xs, ys := cdf(byLabel[label], cdfPoints)
		if logX {
			for i := range xs {
				xs[i] = math.Max(xs[i], 0.001)
			}
		}
		if err := addCurve(p, fmt.Sprintf("%s (n=%d)", label, len(byLabel[label])), xs, ys, seen[target], false); err != nil {
			return nil, err
		}
		seen[target] = true
	}
	p.Y.Min, p.Y.Max = 0, 1
	return p, nil
}

// saveSVG stacks plots top to bottom on one w × h SVG, their plotting areas aligned.
func saveSVG(path string, plots []*plot.Plot, w, h vg.Length) error {
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	img := vgsvg.New(w, h)
	dc := draw.New(img)
	pad := vg.Points(6)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadX: pad, PadY: 3 * pad, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fileName makes a series key a file name: "subscribe_cycle c1" → "subscribe_cycle-c1".
func fileName(key string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '-'
	}, key)
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
