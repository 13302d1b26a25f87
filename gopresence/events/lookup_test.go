package events

import (
	"reflect"
	"testing"
)

type fakePackage struct{ name string }

func (p fakePackage) Name() string                          { return p.name }
func (fakePackage) ContentType() string                     { return "application/x-test" }
func (fakePackage) DefaultExpires() uint32                  { return 1 }
func (fakePackage) Validate([]byte) error                   { return nil }
func (fakePackage) NotifyBody([]Publication, string) []byte { return nil }

// A package registered with a parameter is found when the request carries that parameter,
// whatever the case and whatever else it carries; id= alone never selects one.
func TestLookupByParameter(t *testing.T) {
	plain, sla := fakePackage{"x-test"}, fakePackage{"x-test;sla"}
	Register(plain)
	Register(sla)
	Register(plain) // again: listed once
	for _, c := range []struct {
		name   string
		params []string
		want   Package
	}{
		{"X-Test", nil, plain},
		{"x-test", []string{"id"}, plain},
		{"x-test", []string{"other"}, plain},
		{"x-test", []string{"id", "SLA"}, sla},
		{"x-test", []string{"other", "sla"}, sla},
		{"x-tes", []string{"sla"}, nil},
	} {
		if got := Lookup(c.name, c.params); got != c.want {
			t.Errorf("Lookup(%q, %q) = %v, want %v", c.name, c.params, got, c.want)
		}
	}
	if got, want := Names()[:2], []string{"x-test;sla", "x-test"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() starts %q, want %q (newest first, once each)", got, want)
	}
}
