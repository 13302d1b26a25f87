package gopresence

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/events/presence"
	"github.com/gopresence/gopresence/gopresence/wire"
)

func frameOf(typ wire.Type, m map[wire.Tag]string) *testFrame {
	b := wire.NewBuilder(typ, 1)
	for tag, v := range m {
		b.AddStr(tag, v)
	}
	raw := b.Bytes()
	f, _ := wire.Decode(raw)
	return &testFrame{Frame: f, raw: raw}
}

func frameOfF(typ wire.Type, m map[wire.Tag]string) *wire.Frame { return frameOf(typ, m).Frame }

// testFrame keeps a decoded frame's bytes, to send it over a socket.
type testFrame struct {
	*wire.Frame
	raw []byte
}

func (f *testFrame) rawForTest() []byte { return f.raw }

// BenchmarkPublishModify: one PUBLISH modify (validate, store with group commit, NOTIFY to one watcher).
func BenchmarkPublishModify(b *testing.B) {
	e, _ := newTestEngine(b, "", "")
	e.log = nil
	out, _ := wire.Decode(e.Handle(frameOfF(wire.TPublish, publish("", "3600", pidf1))))
	etag := ""
	for _, l := range splitHeaders(out.Str(wire.Headers)) {
		if l[0] == "SIP-ETag" {
			etag = l[1]
		}
	}
	e.Handle(frameOfF(wire.TSubscribe, subscribe("w", "", "3600", 1)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _ := wire.Decode(e.Handle(frameOfF(wire.TPublish, publish(etag, "3600", pidf2))))
		for _, l := range splitHeaders(out.Str(wire.Headers)) {
			if l[0] == "SIP-ETag" {
				etag = l[1]
			}
		}
	}
}

func splitHeaders(h string) [][2]string {
	var out [][2]string
	for len(h) > 0 {
		i := 0
		for i < len(h) && h[i] != '\r' {
			i++
		}
		line := h[:i]
		for j := 0; j+1 < len(line); j++ {
			if line[j] == ':' && line[j+1] == ' ' {
				out = append(out, [2]string{line[:j], line[j+2:]})
				break
			}
		}
		if i+2 > len(h) {
			break
		}
		h = h[i+2:]
	}
	return out
}

// BenchmarkAggregate: PIDF aggregation of 4 publications.
func BenchmarkAggregate(b *testing.B) {
	var pubs []events.Publication
	for i := 0; i < 4; i++ {
		pubs = append(pubs, events.Publication{ETag: fmt.Sprint(i), Body: []byte(fmt.Sprintf(
			`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t%d"><status><basic>open</basic></status><note>n</note></tuple></presence>`, i))})
	}
	p := presence.Package{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.NotifyBody(pubs, "")
	}
}

// BenchmarkFindWatchers: the NOTIFYs of one state change to 1,000 watchers.
func BenchmarkFindWatchers(b *testing.B) {
	e, _ := newTestEngine(b, "", "")
	e.log = nil
	e.Handle(frameOfF(wire.TPublish, publish("", "3600", pidf1)))
	for i := 0; i < 1000; i++ {
		e.Handle(frameOfF(wire.TSubscribe, subscribe(fmt.Sprint("w", i), "", "3600", 1)))
	}
	key := presentityKey{uri: "sip:alice@ex.com", event: "presence"}
	sh := e.shards.of(key)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sh.mu.Lock()
		n := e.notifyWatchers(sh, key, sh.pres[key], "", "", e.now().Unix())
		sh.mu.Unlock()
		if len(n) != 1000 {
			b.Fatal(len(n))
		}
	}
}

// BenchmarkWireRoundTrip: encode and decode a PUBLISH request frame.
func BenchmarkWireRoundTrip(b *testing.B) {
	m := publish("a.1.2.3.4", "3600", pidf1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		frameOf(wire.TPublish, m)
	}
}

// BenchmarkHeldSubscription: Go heap held per subscription (each to its own presentity, with
// SIPp-like dialog identifiers), after a GC; reported as heap-B/sub (b.N is ignored).
func BenchmarkHeldSubscription(b *testing.B) {
	const n = 20000
	e, _ := newTestEngine(b, "", "db_commit_delay=1000\n")
	e.log = nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		m := subscribe(fmt.Sprintf("%d-4242@127.0.0.1", i), "", "3600", 1)
		m[wire.RURI] = fmt.Sprintf("sip:p%d@127.0.0.1", i)
		m[wire.ToURI] = m[wire.RURI]
		m[wire.FromURI] = fmt.Sprintf("sip:w%d@127.0.0.1", i)
		m[wire.FromTag] = fmt.Sprintf("%dSIPpTag00%d", 4242, i)
		m[wire.Contact] = fmt.Sprintf("sip:w%d@127.0.0.1:5070", i)
		m[wire.UserAgent] = "SIPp"
		e.Handle(frameOfF(wire.TSubscribe, m))
	}
	e.writer.Close() // the queued rows are not held state
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := e.Stats().Subscriptions; got != n {
		b.Fatalf("%d subscriptions", got)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/sub")
	runtime.KeepAlive(e)
}

// BenchmarkSubscribeCycle: the bench's subscribe cycle on the engine alone (no socket): an
// initial SUBSCRIBE to a presentity without publication, an in-dialog refresh, an
// un-SUBSCRIBE; each answered with its NOTIFY.
func BenchmarkSubscribeCycle(b *testing.B) {
	e, _ := newTestEngine(b, "", "")
	e.log = nil
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprint("c", i)
		out, _ := wire.Decode(e.Handle(frameOfF(wire.TSubscribe, subscribe(id, "", "600", 1))))
		tt := out.Str(wire.ToTagOut)
		if tt == "" {
			b.Fatalf("no To tag: %s", out.Str(wire.Code))
		}
		e.Handle(frameOfF(wire.TSubscribe, subscribe(id, tt, "600", 2)))
		e.Handle(frameOfF(wire.TSubscribe, subscribe(id, tt, "0", 3)))
	}
}

// BenchmarkHeldPresentity: Go heap held per presentity (one publication each, the bench's
// held_publish body), after a GC; reported as heap-B/pres, and once the bodies are idle and
// packed (bodyzip.go) as idle-heap-B/pres (b.N is ignored).
func BenchmarkHeldPresentity(b *testing.B) {
	const n = 20000
	e, clk := newTestEngine(b, "", "db_commit_delay=1000\n")
	e.log = nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		uri := fmt.Sprintf("sip:h%d@127.0.0.1", i)
		body := fmt.Sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"+
			"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"%s\">\n"+
			"<tuple id=\"t1\"><status><basic>open</basic></status><note>held %d</note></tuple>\n"+
			"</presence>\n", uri, i)
		m := publish("", "3600", body)
		m[wire.RURI] = uri
		e.Handle(frameOfF(wire.TPublish, m))
	}
	e.writer.Close() // the queued rows are not held state
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := e.Stats().Presentities; got != n {
		b.Fatalf("%d presentities", got)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/pres")
	clk.t = clk.t.Add(bodyIdle)
	e.packIdleBodies()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "idle-heap-B/pres")
	runtime.KeepAlive(e)
}
