package gopresence

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/events/presence"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// Events a C module registered (bind_presence add_event) are served like ours, but the C side
// finishes their NOTIFYs: the stored bodies go to agg_nbody, and Content-Type, presentity and
// version travel as fields (module/notify.c).
const moduleEvents = "module_event=x-agg\tapplication/x-agg+xml\t600\tagg\tpubl\tnew\topen\n" +
	"module_event=x-plain\tapplication/x-plain\t300\t-\tpubl\tkeep\topen\n"

func modulePublish(event, etag, expires, body string) map[wire.Tag]string {
	m := publish(etag, expires, body)
	m[wire.Event] = event
	if body != "" {
		m[wire.ContentType] = map[string]string{"x-agg": "application/x-agg+xml", "x-plain": "application/x-plain"}[event]
	}
	return m
}

func moduleSubscribe(event, callID, toTag, expires string, cseq int) map[wire.Tag]string {
	m := subscribe(callID, toTag, expires, cseq)
	m[wire.Event] = event
	if expires == "" {
		delete(m, wire.Expires) // no header: the event's default
	}
	return m
}

func parts(t *testing.T, n map[wire.Tag]string) (bodies []string, off string) {
	t.Helper()
	fs, err := wire.DecodeFields([]byte(n[wire.NBodyParts]))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		switch f.Tag {
		case wire.NBodyPart:
			bodies = append(bodies, string(f.Value))
		case wire.NOffIndex:
			off = string(f.Value)
		default:
			t.Fatalf("unexpected field %d in NBodyParts", f.Tag)
		}
	}
	return bodies, off
}

func TestModuleEventAggregatedByC(t *testing.T) {
	e, _ := newTestEngine(t, "", moduleEvents)
	r := do(t, e, wire.TPublish, modulePublish("x-agg", "", "60", "<a/>"))
	if r.code != 200 {
		t.Fatalf("publish: %+v", r)
	}
	first := r.headers["SIP-ETag"]
	do(t, e, wire.TPublish, modulePublish("x-agg", "", "60", "<b/>"))

	r = do(t, e, wire.TSubscribe, moduleSubscribe("x-agg", "w1", "", "", 1))
	if r.code != 200 || r.headers["Expires"] != "600" || len(r.notifs) != 1 {
		t.Fatalf("subscribe (default expires of the module's event): %+v", r)
	}
	n := r.notifs[0]
	if _, has := n[wire.NBody]; has || strings.Contains(n[wire.NHeaders], "Content-Type") {
		t.Fatalf("the C side must build body and Content-Type: %+v", n)
	}
	if n[wire.NContentType] != "application/x-agg+xml" || n[wire.NPresURI] != "sip:alice@ex.com" || n[wire.NVersion] != "1" {
		t.Fatalf("module fields: %q %q %q", n[wire.NContentType], n[wire.NPresURI], n[wire.NVersion])
	}
	if b, off := parts(t, n); strings.Join(b, ",") != "<a/>,<b/>" || off != "" {
		t.Fatalf("parts %q, off %q", b, off)
	}

	r = do(t, e, wire.TPublish, modulePublish("x-agg", first, "0", ""))
	if len(r.notifs) != 1 || r.notifs[0][wire.NVersion] != "2" {
		t.Fatalf("remove: %+v", r.notifs)
	}
	if b, off := parts(t, r.notifs[0]); strings.Join(b, ",") != "<a/>,<b/>" || off != "0" {
		t.Fatalf("remove: parts %q, off %q (the removed one stays, marked)", b, off)
	}
}

func TestModuleEventWithoutAggregation(t *testing.T) {
	e, _ := newTestEngine(t, "", moduleEvents)
	do(t, e, wire.TPublish, modulePublish("x-plain", "", "60", "old"))
	do(t, e, wire.TPublish, modulePublish("x-plain", "", "60", "new"))
	r := do(t, e, wire.TSubscribe, moduleSubscribe("x-plain", "w1", "", "60", 1))
	if len(r.notifs) != 1 {
		t.Fatalf("%+v", r)
	}
	n := r.notifs[0]
	if n[wire.NBody] != "new" || n[wire.NContentType] != "application/x-plain" || n[wire.NVersion] != "1" {
		t.Fatalf("newest body and module fields: %+v", n)
	}
	if _, has := n[wire.NBodyParts]; has {
		t.Fatal("parts for an event that does not aggregate")
	}
	// etag_not_new (x-plain): a refresh and a modify keep the entity-tag; x-agg's change
	etag := do(t, e, wire.TPublish, modulePublish("x-plain", "", "60", "v1")).headers["SIP-ETag"]
	if got := do(t, e, wire.TPublish, modulePublish("x-plain", etag, "60", "")).headers["SIP-ETag"]; got != etag {
		t.Errorf("refresh of an etag_not_new event: %q -> %q", etag, got)
	}
	if got := do(t, e, wire.TPublish, modulePublish("x-plain", etag, "60", "v2")).headers["SIP-ETag"]; got != etag {
		t.Errorf("modify of an etag_not_new event: %q -> %q", etag, got)
	}
	etag = do(t, e, wire.TPublish, modulePublish("x-agg", "", "60", "<c/>")).headers["SIP-ETag"]
	if got := do(t, e, wire.TPublish, modulePublish("x-agg", etag, "60", "")).headers["SIP-ETag"]; got == etag || got == "" {
		t.Errorf("refresh of x-agg kept its entity-tag %q", got)
	}
	if r := do(t, e, wire.TSubscribe, moduleSubscribe("x-nope", "w2", "", "60", 1)); r.code != 489 ||
		!strings.Contains(r.headers["Allow-Events"], "x-agg") || !strings.Contains(r.headers["Allow-Events"], "x-plain") {
		t.Fatalf("unknown event: %+v", r)
	}
}

func TestModuleEventConfigRefused(t *testing.T) {
	for _, bad := range []string{"module_event=x\tctype\t60\tagg\tpubl\tnew", "module_event=\tctype\t60\tagg\tpubl\tnew\topen",
		"module_event=x\tctype\tsoon\tagg\tpubl\tnew\topen", "module_event=x\tctype\t60\tagg\tother\tnew\topen",
		"module_event=x\tctype\t60\tagg\tpubl\tmaybe\topen", "module_event=x\tctype\t60\tagg\tpubl\tnew\tclosed"} {
		if _, err := ParseConfig(bad + "\n"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// presence_xml's shape: "presence" with watcher authorization (the verdict comes from C in the
// SUBSCRIBE) and its watcher info "presence.winfo", whose documents the engine builds.
const authEvents = "module_event=presence\tapplication/pidf+xml\t3600\tagg\tpubl\tnew\tauth\n" +
	"module_event=presence.winfo\tapplication/watcherinfo+xml\t3600\t-\twinfo\tnew\topen\n"

func authSubscribe(callID, user, status, reason string) map[wire.Tag]string {
	m := subscribe(callID, "", "600", 1)
	m[wire.FromURI] = "sip:" + user + "@ex.com"
	m[wire.AuthStatus] = status
	if reason != "" {
		m[wire.AuthReason] = reason
	}
	return m
}

func TestModuleAuthorizationAndWatcherInfo(t *testing.T) {
	url := memBackend.newURL(t)
	e, _ := newTestEngine(t, url, authEvents)
	r := do(t, e, wire.TSubscribe, authSubscribe("b1", "bob", "2", ""))
	if r.code != 200 || len(r.notifs) != 1 || subscriptionState(r.notifs[0]) != "pending;expires=600" {
		t.Fatalf("pending watcher: %+v", r)
	}
	if _, has := r.notifs[0][wire.NBody]; has {
		t.Fatal("a pending watcher got a body")
	}
	// the first verdict stands (stock): a new dialog of bob stays pending whatever the rules say now
	if r = do(t, e, wire.TSubscribe, authSubscribe("b2", "bob", "1", "")); subscriptionState(r.notifs[0]) != "pending;expires=600" {
		t.Fatalf("second SUBSCRIBE of bob: %q", subscriptionState(r.notifs[0]))
	}
	r = do(t, e, wire.TSubscribe, authSubscribe("c1", "carol", "3", "rejected"))
	if r.code != 200 || len(r.notifs) != 1 || subscriptionState(r.notifs[0]) != "terminated;reason=rejected" {
		t.Fatalf("rejected watcher: %+v", r)
	}
	if s := e.Stats(); s.Subscriptions != 2 {
		t.Fatalf("%d subscriptions kept, want bob's 2 (the rejected one is not kept)", s.Subscriptions)
	}

	r = do(t, e, wire.TSubscribe, winfoSubscribe("wi"))
	if r.code != 200 || len(r.notifs) != 1 {
		t.Fatalf("winfo subscribe: %+v", r)
	}
	body := r.notifs[0][wire.NBody]
	for _, want := range []string{`version="1" state="full"`, `resource="sip:alice@ex.com" package="presence"`,
		`<watcher id="b1" event="subscribe" status="pending">sip:bob@ex.com</watcher>`,
		`<watcher id="b2" event="subscribe" status="pending">sip:bob@ex.com</watcher>`} {
		if !strings.Contains(body, want) {
			t.Errorf("full winfo lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "carol") || r.notifs[0][wire.NContentType] != "application/watcherinfo+xml" {
		t.Errorf("full winfo: %+v", r.notifs[0])
	}
	r = do(t, e, wire.TSubscribe, authSubscribe("d1", "dave", "1", ""))
	if len(r.notifs) != 2 || r.notifs[0][wire.NCallID] != "wi" || r.notifs[1][wire.NCallID] != "d1" {
		t.Fatalf("dave's SUBSCRIBE: %d NOTIFYs, want the winfo partial then dave's", len(r.notifs))
	}
	if body := r.notifs[0][wire.NBody]; !strings.Contains(body, `version="2" state="partial"`) ||
		!strings.Contains(body, `<watcher id="d1" event="subscribe" status="active">sip:dave@ex.com</watcher>`) ||
		strings.Contains(body, "bob") {
		t.Fatalf("partial winfo:\n%s", body)
	}
	if subscriptionState(r.notifs[1]) != "active;expires=600" {
		t.Fatalf("dave: %q", subscriptionState(r.notifs[1]))
	}

	// a watcher leaves: the winfo subscriber gets the full list again
	r = do(t, e, wire.TSubscribe, moduleSubscribe("presence", "d1", r.toTag, "0", 2))
	if len(r.notifs) != 2 || r.notifs[0][wire.NCallID] != "wi" || !strings.Contains(r.notifs[0][wire.NBody], `version="3" state="full"`) ||
		strings.Contains(r.notifs[0][wire.NBody], "dave") {
		t.Fatalf("after dave left: %+v", r.notifs)
	}
	// verdicts survive a restart (the watchers table): bob is still pending
	e.Close()
	e2, _ := newTestEngine(t, url, authEvents)
	if got, _ := e2.store.LoadAuthorizations(); len(got) != 3 {
		t.Fatalf("%d verdicts stored, want bob, carol and dave", len(got))
	}
	r = do(t, e2, wire.TSubscribe, authSubscribe("b3", "bob", "1", ""))
	if len(r.notifs) != 2 || r.notifs[0][wire.NCallID] != "wi" ||
		!strings.Contains(r.notifs[0][wire.NBody], `status="pending">sip:bob@ex.com`) ||
		subscriptionState(r.notifs[1]) != "pending;expires=600" {
		t.Fatalf("bob after a restart (winfo partial, then bob's pending NOTIFY): %+v", r.notifs)
	}
}

// registerGoPresenceForTests puts the engine's own presence package back after a test made a
// C module's "presence" take it over (the registry is the process's, as in the engine).
func registerGoPresenceForTests() { events.Register(presence.Package{}) }

// forgetModuleEvents leaves the registry as the engine's own packages made it, for the next test.
func forgetModuleEvents(cfg Config) {
	if len(cfg.ModuleEvents) == 0 {
		return
	}
	for _, ev := range cfg.ModuleEvents {
		events.Unregister(ev.Name())
	}
	registerGoPresenceForTests()
}

// update_presentity (pua_json's publications): the caller names the publication; publishing
// again under that name replaces it, and its watchers hear the new state.
func TestPublicationNamedByCaller(t *testing.T) {
	e, _, _ := subscribed(t, "")
	named := func(body, expires string) result {
		m := publish("", expires, body)
		m[wire.SetETag] = "call-1@pbx"
		return do(t, e, wire.TPublish, m)
	}
	r := named(pidf1, "60")
	if r.code != 200 || r.headers["SIP-ETag"] != "call-1@pbx" || len(r.notifs) != 1 {
		t.Fatalf("first: %+v", r)
	}
	r = named(pidf2, "60")
	if r.code != 200 || r.headers["SIP-ETag"] != "call-1@pbx" || len(r.notifs) != 1 || r.notifs[0][wire.NBody] != pidf2 {
		t.Fatalf("replacement: %+v", r)
	}
	if s := e.Stats(); s.Publications != 1 {
		t.Fatalf("%d publications, want the one replaced", s.Publications)
	}
	if r = named("", "0"); r.code != 200 || e.Stats().Publications != 0 {
		t.Fatalf("removal: %+v, %+v", r, e.Stats())
	}
}

// The status a module's rules give must be one stock knows (1 active .. 4 waiting); anything
// else is the module's error, answered 500. A reason reaches Subscription-State only as a token
// of at most 64 characters.
func TestVerdictValues(t *testing.T) {
	e, _ := newTestEngine(t, "", authEvents)
	for i, c := range []struct {
		status, reason string
		code           int
		state          string
	}{
		{"4", "", 200, ""}, {"0", "", 500, ""}, {"5", "", 500, ""}, {"x", "", 500, ""},
		{"3", strings.Repeat("r", 64), 200, "terminated;reason=" + strings.Repeat("r", 64)},
		{"3", strings.Repeat("r", 65), 200, "terminated;reason=rejected"},
		{"3", "no\r\nX-Injected: 1", 200, "terminated;reason=rejected"},
		{"3", "", 200, "terminated;reason=rejected"},
		{"3", "deactivated", 200, "terminated;reason=deactivated"},
	} {
		r := do(t, e, wire.TSubscribe, authSubscribe(fmt.Sprint("v", i), fmt.Sprint("u", i), c.status, c.reason))
		if r.code != c.code {
			t.Errorf("status %q: %d, want %d", c.status, r.code, c.code)
			continue
		}
		if c.state != "" && (len(r.notifs) != 1 || subscriptionState(r.notifs[0]) != c.state) {
			t.Errorf("status %q reason %q: %+v, want Subscription-State %s", c.status, c.reason, r.notifs, c.state)
		}
	}
}

// Restoring says what it restored; a module's event that takes over one of ours says so, a new
// one does not.
func TestModuleEventsLogged(t *testing.T) {
	url := memBackend.newURL(t)
	e, _ := newTestEngine(t, url, authEvents)
	do(t, e, wire.TSubscribe, authSubscribe("l1", "bob", "2", ""))
	e.Close()
	cfg, err := ParseConfig("db_url=" + url + "\n" + authEvents)
	if err != nil {
		t.Fatal(err)
	}
	forgetModuleEvents(cfg) // as at a Kamailio start: our presence is there, the module's not yet
	log := &captureLog{}
	e2, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e2.Close(); forgetModuleEvents(cfg) })
	if !log.has(`restored 0 publications and 1 subscriptions`) {
		t.Errorf("no restore line: %q", log.lines)
	}
	if !log.has(`event "presence" is served with the callbacks of the C module`) ||
		log.has(`event "presence.winfo" is served with the callbacks`) {
		t.Errorf("take-over lines: %q", log.lines)
	}
}

// Watcher info at the expiry second: a watcher whose subscription ends now is no longer
// listed, a winfo subscription that ends now gets no NOTIFY, and the partial NOTIFY's
// Subscription-State carries what is left of the winfo subscription.
func TestWatcherInfoAtExpirySecond(t *testing.T) {
	e, c := newTestEngine(t, "", authEvents)
	do(t, e, wire.TSubscribe, winfoSubscribe("wi"))
	b := authSubscribe("b1", "bob", "1", "")
	b[wire.Expires] = "100"
	c.t = c.t.Add(10 * time.Second)
	r := do(t, e, wire.TSubscribe, b)
	if len(r.notifs) != 2 || subscriptionState(r.notifs[0]) != "active;expires=590" {
		t.Fatalf("partial winfo NOTIFY 10 s into a 600 s winfo subscription: %+v", r.notifs)
	}
	c.t = c.t.Add(100 * time.Second) // bob's subscription ends now
	r = do(t, e, wire.TSubscribe, moduleSubscribe("presence.winfo", "wi2", "", "600", 1))
	if body := r.notifs[0][wire.NBody]; strings.Contains(body, "bob") {
		t.Fatalf("a subscription ending now is still listed:\n%s", body)
	}
	c.t = c.t.Add(490 * time.Second) // the first winfo subscription ends now
	r = do(t, e, wire.TSubscribe, authSubscribe("d1", "dave", "1", ""))
	for _, n := range r.notifs {
		if n[wire.NCallID] == "wi" {
			t.Fatal("a winfo subscription ending now was notified")
		}
	}
}

// A module's event whose publication expires notifies its watchers (with force_delete=0).
func TestModuleEventExpiryNotifies(t *testing.T) {
	e, c := newTestEngine(t, "", moduleEvents)
	var sent int
	e.SetEngineNotifier(func([]byte) { sent++ })
	do(t, e, wire.TPublish, modulePublish("x-plain", "", "30", "v1"))
	do(t, e, wire.TSubscribe, moduleSubscribe("x-plain", "w1", "", "600", 1))
	c.t = c.t.Add(31 * time.Second)
	e.expirePublications()
	if sent != 1 {
		t.Fatalf("%d NOTIFY frames after the publication expired, want 1", sent)
	}
}

// A fetch (Expires 0) of an authorized event keeps no subscription, and watcher info does not
// report it (stock notifies winfo only for a subscription that lasts).
func TestModuleFetchKeepsNothing(t *testing.T) {
	e, _ := newTestEngine(t, "", authEvents)
	do(t, e, wire.TSubscribe, winfoSubscribe("wi"))
	m := authSubscribe("f1", "bob", "1", "")
	m[wire.Expires] = "0"
	if r := do(t, e, wire.TSubscribe, m); r.code != 200 || len(r.notifs) != 1 || e.Stats().Subscriptions != 1 {
		t.Fatalf("fetch: %d, %d NOTIFYs (want its own only), %d subscriptions (want the winfo one)", r.code, len(r.notifs), e.Stats().Subscriptions)
	}
}

// An initial SUBSCRIBE of an event whose module's rules decide, without their verdict, is
// refused and keeps nothing: a watcher is never active by default.
func TestNoVerdictRefused(t *testing.T) {
	e, _ := newTestEngine(t, "", authEvents)
	m := authSubscribe("n1", "bob", "1", "")
	delete(m, wire.AuthStatus)
	if r := do(t, e, wire.TSubscribe, m); r.code != 500 || len(r.notifs) != 0 || e.Stats().Subscriptions != 0 {
		t.Fatalf("without a verdict: %d, %d NOTIFYs, %d subscriptions", r.code, len(r.notifs), e.Stats().Subscriptions)
	}
	if r := do(t, e, wire.TSubscribe, moduleSubscribe("presence.winfo", "w1", "", "60", 1)); r.code != 200 {
		t.Fatalf("an event without rules needs no verdict: %d", r.code)
	}
}

// winfoSubscribe is alice's watcher-info SUBSCRIBE (dialog callID, 600 s).
func winfoSubscribe(callID string) map[wire.Tag]string {
	w := moduleSubscribe("presence.winfo", callID, "", "600", 1)
	w[wire.FromURI] = "sip:alice@ex.com"
	return w
}
