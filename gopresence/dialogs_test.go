package gopresence

import (
	"fmt"
	"testing"

	"github.com/gopresence/gopresence/db"
)

func subOf(callID string) *subscription {
	return &subscription{Watcher: db.Watcher{CallID: callID, ToTag: "t", FromTag: "f"}}
}

// Every dialog hashing alike: put, get, replace and delete still work by the full key.
func TestDialogIndexChains(t *testing.T) {
	d := newDialogIndex()
	d.collide = func(db.DialogKey) uint64 { return 7 }
	subs := map[string]*subscription{}
	for i := 0; i < 5; i++ {
		s := subOf(fmt.Sprint("c", i))
		subs[s.CallID] = s
		if old := d.put(s); old != nil {
			t.Fatalf("put %s replaced %s", s.CallID, old.CallID)
		}
	}
	for id, s := range subs {
		if got := d.get(s.dialog()); got != s {
			t.Fatalf("get %s: %v", id, got)
		}
	}
	again := subOf("c2")
	if old := d.put(again); old != subs["c2"] {
		t.Fatalf("re-put c2 replaced %v", old)
	}
	d.del(subs["c2"]) // the replaced one: must not remove the new entry
	if d.get(again.dialog()) != again || d.len() != 5 {
		t.Fatalf("del of a replaced subscription removed the new one (len %d)", d.len())
	}
	for _, id := range []string{"c0", "c4", "c1"} { // middle, head and tail of the chain
		d.del(subs[id])
		if d.get(subs[id].dialog()) != nil {
			t.Fatalf("%s still indexed", id)
		}
	}
	if d.get(subs["c3"].dialog()) != subs["c3"] || d.get(again.dialog()) != again || d.len() != 2 {
		t.Fatalf("survivors lost (len %d)", d.len())
	}
	if d.get(db.DialogKey{CallID: "nope", ToTag: "t", FromTag: "f"}) != nil {
		t.Fatal("unknown dialog found")
	}
}

// dialogTag names a dialog from the request's identity: a retransmission gets the same tag,
// any other request another one; the prefix is to_tag_pref.
func TestDialogTagStable(t *testing.T) {
	e, _ := newTestEngine(t, "", "to_tag_pref=pp\n")
	a := e.dialogTag("call-1", "ft", 1)
	if a != e.dialogTag("call-1", "ft", 1) || a[:2] != "pp" || len(a) != 2+16 {
		t.Fatalf("tag %q not stable or malformed", a)
	}
	for _, b := range []string{e.dialogTag("call-2", "ft", 1), e.dialogTag("call-1", "fu", 1),
		e.dialogTag("call-1", "ft", 2), e.dialogTag("call-1ft", "", 1)} {
		if b == a {
			t.Fatalf("different requests share tag %q", a)
		}
	}
}
