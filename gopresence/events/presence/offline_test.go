package presence

import (
	"strings"
	"testing"

	"github.com/gopresence/gopresence/gopresence/events"
)

// What watchers get when a publication goes (presence_xml offline_nbody) and when documents
// older than the newest repeat a tuple, pinned to the byte.

func TestOfflineBody(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	for _, c := range []struct{ name, in, want string }{
		{"status kept, basic closed",
			`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t1"><status><basic>open</basic><location>home</location></status><note>n</note></tuple><tuple id="t2"/></presence>`,
			`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x">` + "\n" +
				`  <tuple id="t1">` + "\n" + `    <status>` + "\n" + `      <basic>closed</basic>` + "\n" +
				`      <location>home</location>` + "\n" + `    </status>` + "\n" + `  </tuple>` + "\n" + `</presence>` + "\n"},
		{"status without basic",
			`<presence entity="sip:a@x"><tuple id="t1"><status><location>home</location></status></tuple></presence>`,
			`<presence entity="sip:a@x">` + "\n" + `  <tuple id="t1">` + "\n" + `    <status>` + "\n" +
				`      <location>home</location>` + "\n" + `      <basic>closed</basic>` + "\n" + `    </status>` + "\n" +
				`  </tuple>` + "\n" + `</presence>` + "\n"},
		{"tuple without status",
			`<presence entity="sip:a@x"><tuple id="t1"><note>n</note></tuple></presence>`,
			`<presence entity="sip:a@x">` + "\n" + `  <tuple id="t1">` + "\n" + `    <status>` + "\n" +
				`      <basic>closed</basic>` + "\n" + `    </status>` + "\n" + `  </tuple>` + "\n" + `</presence>` + "\n"},
		{"no tuple",
			`<presence entity="sip:a@x"><note>n</note></presence>`,
			`<presence entity="sip:a@x"/>` + "\n"},
	} {
		got := string(Package{}.NotifyBody([]events.Publication{{ETag: "a", Body: []byte(c.in)}}, "a"))
		if got != head+c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.name, got, head+c.want)
		}
	}
}

// Three publications, newest last: the middle one adds its tuple, the oldest repeats that
// tuple's id and is left out (agregate_xmls keeps the newer).
func TestAggregateSkipsTupleAddedByANewerDocument(t *testing.T) {
	doc := func(id, note string) events.Publication {
		return events.Publication{ETag: note, Body: []byte(`<presence entity="sip:a@x"><tuple id="` + id + `"><note>` + note + `</note></tuple></presence>`)}
	}
	got := string(Package{}.NotifyBody([]events.Publication{doc("t2", "oldest"), doc("t2", "middle"), doc("t3", "newest")}, ""))
	if strings.Count(got, `id="t2"`) != 1 || strings.Contains(got, "oldest") || !strings.Contains(got, "middle") || !strings.Contains(got, "newest") {
		t.Fatalf("aggregate:\n%s", got)
	}
}
