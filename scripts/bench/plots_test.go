package main

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePlots draws one file per series key, each well-formed SVG naming both targets, from
// synthetic series shaped as the sections record them.
func TestWritePlots(t *testing.T) {
	saved := collected
	defer func() { collected = saved }()
	collected = &series{sweep: map[string]map[string][]sweepPoint{},
		latency: map[string]map[string][]float64{}, fanout: map[string]map[string][]float64{}, titles: map[string]string{}}
	for _, tg := range []string{"stock", "ours"} {
		for _, r := range []float64{400, 10, 100} { // out of order, as a refinement step comes last
			collected.addSweep("subscribe_cycle c1", tg, sweepPoint{offered: r, answered: r * 0.9, cpuMS: 1000 / r})
		}
		var lat, fan []float64
		for i := 0; i < 1000; i++ {
			lat = append(lat, 0.2+float64(i%97)/10)
			fan = append(fan, float64(i)/40)
		}
		lat[0] = 0 // drawn on a log axis all the same
		collected.addSamples(collected.latency, "subscribe", "title", tg+": 200", lat)
		collected.addSamples(collected.latency, "subscribe", "", tg+": first NOTIFY", lat)
		collected.addSamples(collected.fanout, "dialog 1000", "fan-out", tg, fan)
	}
	dir := t.TempDir()
	files, err := writePlots(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"rate-subscribe_cycle-c1.svg", "latency-subscribe.svg", "fanout-dialog-1000.svg"}
	if len(files) != len(want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	for i, f := range files {
		if filepath.Base(f) != want[i] {
			t.Errorf("file %d: %s, want %s", i, filepath.Base(f), want[i])
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(strings.NewReader(string(data)))
		root := ""
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: not well-formed XML: %v", f, err)
			}
			if se, ok := tok.(xml.StartElement); ok && root == "" {
				root = se.Name.Local
			}
		}
		if root != "svg" {
			t.Errorf("%s: root element %q", f, root)
		}
		for _, tg := range []string{"stock", "ours"} {
			if !strings.Contains(string(data), tg) {
				t.Errorf("%s: no curve labelled %s", f, tg)
			}
		}
	}
	if got := collected.titles["subscribe"]; got != "title" {
		t.Errorf("a second series without a title replaced the key's: %q", got)
	}
}

func TestFileName(t *testing.T) {
	if got := fileName("dialog_publish_cycle c4"); got != "dialog_publish_cycle-c4" {
		t.Errorf("got %q", got)
	}
	if got := fileName("a/b:ü"); got != "a-b--" {
		t.Errorf("got %q", got)
	}
}

// Log ticks stay within the range (plot.LogTicks rounds it out to decades), labels on decades.
func TestLogTicksInRange(t *testing.T) {
	ts := logTicks(9, 1440)
	labels := []string{}
	for _, tk := range ts {
		if tk.Value < 9 || tk.Value > 1440 {
			t.Errorf("tick %v outside [9, 1440]", tk.Value)
		}
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, ",") != "10,100,1000" {
		t.Errorf("labels %v, want 10,100,1000", labels)
	}
}
