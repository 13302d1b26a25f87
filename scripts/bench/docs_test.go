package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A run replaces only what stands between the markers: the prose around them, odd spacing and
// a missing final newline included, comes back byte for byte.
func TestReplaceBetweenMarkers(t *testing.T) {
	before := "# Title\n\nHand-written  intro.\r\n\n" + beginMarker + "\n"
	after := endMarker + "\n\n## How to run\n\n    make bench\n\ttabs stay"
	doc := before + "## Latest run — old\n\n| old | table |\n" + after
	got, err := replaceBetweenMarkers(doc, "## Latest run — new\n\n| new | table |\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := before + "## Latest run — new\n\n| new | table |\n" + after; got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// the generated part always ends its last line, so the end marker stays on its own line
	got, err = replaceBetweenMarkers(doc, "no newline")
	if err != nil || got != before+"no newline\n"+after {
		t.Errorf("got %q, %v", got, err)
	}
	// twice in a row: the same document
	again, err := replaceBetweenMarkers(got, "no newline\n")
	if err != nil || again != got {
		t.Errorf("second replacement changed the document: %q, %v", again, err)
	}
}

func TestReplaceBetweenMarkersErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"no markers", "# Title\n\nprose\n", "want exactly one " + beginMarker},
		{"no end", "x\n" + beginMarker + "\ny\n", "want exactly one " + endMarker},
		{"no begin", "x\n" + endMarker + "\n", "want exactly one " + beginMarker},
		{"two begins", beginMarker + "\n" + beginMarker + "\n" + endMarker + "\n", "found 2"},
		{"end first", endMarker + "\n" + beginMarker + "\n", "on a line of its own before"},
		{"same line", beginMarker + endMarker + "\n", "on a line of its own before"},
	} {
		got, err := replaceBetweenMarkers(c.doc, "table\n")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %q, error %v; want an error with %q", c.name, got, err, c.want)
		}
	}
}

// The committed document has its markers, so a run can update it.
func TestPerformanceDocMarkers(t *testing.T) {
	doc, err := os.ReadFile("../../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := replaceBetweenMarkers(string(doc), "generated\n")
	if err != nil {
		t.Fatalf("docs/performance.md: %v", err)
	}
	head := string(doc[:strings.Index(string(doc), beginMarker)])
	tail := string(doc[strings.Index(string(doc), endMarker):])
	if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, tail) || !strings.Contains(tail, "## How to run") {
		t.Errorf("docs/performance.md: the prose around the markers did not survive")
	}
}

// Every BENCH_* variable the bench reads is explained in docs/performance.md's hand-written
// part (outside the markers).
func TestEveryVariableDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/performance.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	prose := s[:strings.Index(s, beginMarker)] + s[strings.Index(s, endMarker):]
	files, _ := filepath.Glob("*.go")
	re := regexp.MustCompile(`"(BENCH_[A-Z0-9_]+)"`)
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			seen++
			if !strings.Contains(prose, m[1]) {
				t.Errorf("%s reads %s; docs/performance.md does not explain it", f, m[1])
			}
		}
	}
	if seen < 20 {
		t.Errorf("found only %d BENCH_ variables in the sources: the pattern no longer matches them", seen)
	}
}
