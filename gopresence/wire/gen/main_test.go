package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGeneratedUpToDate fails when a generated file was edited by hand or spec.go changed
// without `go generate ./gopresence/wire`.
func TestGeneratedUpToDate(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./gopresence/wire", path)
		}
	}
}

// TestSpecConsistent: one number and one name per type and per tag, each fitting its byte, and
// no text that would break the C comment or the Markdown table it is written into.
func TestSpecConsistent(t *testing.T) {
	nums, names := map[int]string{}, map[string]bool{}
	check := func(kind string, num int, name, cName string, texts ...string) {
		key := kind + name
		if num < 1 || num > 255 {
			t.Errorf("%s %s: %d does not fit a byte", kind, name, num)
		}
		if other, ok := nums[num]; ok && strings.HasPrefix(other, kind) {
			t.Errorf("%s %d used by %s and %s", kind, num, other, key)
		}
		nums[num] = key
		if names[key] || names[cName] {
			t.Errorf("%s %s: name used twice", kind, name)
		}
		names[key], names[cName] = true, true
		for _, s := range texts {
			if strings.ContainsAny(s, "|\n") || strings.Contains(s, "*/") {
				t.Errorf("%s %s: %q cannot go into a table or a C comment", kind, name, s)
			}
		}
	}
	for _, ft := range frameTypes {
		check("type ", ft.num, ft.name, ft.cName, ft.direction, ft.answers)
	}
	nums = map[int]string{}
	for _, g := range tagGroups {
		for _, tg := range g.tags {
			check("tag ", tg.num, tg.name, tg.cName, tg.value, g.title)
		}
	}
}

// TestNumbersOnlyInSpec: no hand-written type or tag definition next to the generated ones.
func TestNumbersOnlyInSpec(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]*regexp.Regexp{
		"module/*.[ch]":        regexp.MustCompile(`\bW[TF]_[A-Z0-9_]+\s*=|#define\s+WIRE_(VERSION|HDR_LEN|MAX_FRAME)\b`),
		"gopresence/wire/*.go": regexp.MustCompile(`(?m)^\s*\w+\s+(Tag|Type)\s*=|\b(Version|HeaderLen|MaxFrame)\s*=`),
	}
	for glob, re := range defs {
		paths, _ := filepath.Glob(filepath.Join(root, glob))
		for _, p := range paths {
			rel, _ := filepath.Rel(root, p)
			if rel == goOut || rel == cOut {
				continue
			}
			b, _ := os.ReadFile(p)
			if m := re.Find(b); m != nil {
				t.Errorf("%s defines %q: wire numbers belong in gopresence/wire/gen/spec.go", rel, m)
			}
		}
	}
}
