package gopresence

import (
	"fmt"
	"testing"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// The timers' rules at their edges: the expiry second itself, force_delete, rows that never
// expire, and how engine NOTIFYs are framed.

// engineFrames collects the frames the engine sends to its C thread.
func engineFrames(t *testing.T, e *Engine) *[]*wire.Frame {
	var sent []*wire.Frame
	e.SetEngineNotifier(func(b []byte) {
		f, err := wire.Decode(b)
		if err != nil {
			t.Error(err)
			return
		}
		sent = append(sent, f)
	})
	return &sent
}

func TestPublicationExpiresAtItsSecond(t *testing.T) {
	e, c, _ := subscribed(t, "")
	sent := engineFrames(t, e)
	do(t, e, wire.TPublish, publish("", "30", pidf1))
	c.t = c.t.Add(29 * time.Second)
	e.expirePublications()
	if s := e.Stats(); s.Publications != 1 || len(*sent) != 0 {
		t.Fatalf("a second before its expiry: %+v, %d frames", s, len(*sent))
	}
	c.t = c.t.Add(time.Second)
	e.expirePublications()
	if s := e.Stats(); s.Publications != 0 || s.Presentities != 0 || len(*sent) != 1 {
		t.Fatalf("at its expiry: %+v, %d frames", s, len(*sent))
	}
	if got := subscriptionState(map[wire.Tag]string{wire.NHeaders: (*sent)[0].Str(wire.NHeaders)}); got != "active;expires=570" {
		t.Fatalf("Subscription-State %q", got)
	}
}

func TestSubscriptionExpiresAtItsSecond(t *testing.T) {
	e, c, _ := subscribed(t, "") // 600 s
	sent := engineFrames(t, e)
	c.t = c.t.Add(599 * time.Second)
	e.expireSubscriptions()
	if s := e.Stats(); s.Subscriptions != 1 || len(*sent) != 0 {
		t.Fatalf("a second before its expiry: %+v, %d frames", s, len(*sent))
	}
	c.t = c.t.Add(time.Second)
	e.expireSubscriptions()
	if s := e.Stats(); s.Subscriptions != 0 || len(*sent) != 1 {
		t.Fatalf("at its expiry: %+v, %d frames", s, len(*sent))
	}
	f := (*sent)[0]
	if subscriptionState(map[wire.Tag]string{wire.NHeaders: f.Str(wire.NHeaders)}) != "terminated;reason=timeout" || f.Str(wire.NCSeq) != "2" || f.Has(wire.NBody) {
		t.Fatalf("expiry NOTIFY: CSeq %s, headers %q, body %v", f.Str(wire.NCSeq), f.Str(wire.NHeaders), f.Has(wire.NBody))
	}
}

// force_delete=1: an expired publication goes without telling its watchers.
func TestForceDelete(t *testing.T) {
	e, c, _ := subscribed(t, "force_delete=1")
	sent := engineFrames(t, e)
	do(t, e, wire.TPublish, publish("", "30", pidf1))
	c.t = c.t.Add(30 * time.Second)
	e.expirePublications()
	if s := e.Stats(); s.Publications != 0 || len(*sent) != 0 {
		t.Fatalf("force_delete=1: %+v, %d frames", s, len(*sent))
	}
}

// A row with expires -1 (stock's state that never expires) outlives every cleanup.
func TestPublicationWithoutExpiry(t *testing.T) {
	dbURL := memBackend.newURL(t)
	e1, _ := newTestEngine(t, dbURL, "")
	err := e1.storePublication(e1.shards.s[0], time.Time{}, db.Op{Kind: db.InsertPresentity, Presentity: &db.Presentity{
		Username: "alice", Domain: "ex.com", Event: "presence", ETag: "static", Expires: -1, Body: []byte(pidf1), RUID: "r1"}})
	if err != nil {
		t.Fatal(err)
	}
	e1.Close()
	e2, c := newTestEngine(t, dbURL, "")
	c.t = c.t.Add(1000 * time.Hour)
	e2.expirePublications()
	if s := e2.Stats(); s.Publications != 1 {
		t.Fatalf("a publication without expiry was removed: %+v", s)
	}
}

// NOTIFYs the engine sends itself go 256 to a frame (all 300 watch one presentity: one shard).
func TestEngineNotifyFrames(t *testing.T) {
	e, c := newTestEngine(t, "", "")
	sent := engineFrames(t, e)
	for i := 0; i < 300; i++ {
		do(t, e, wire.TSubscribe, subscribe(fmt.Sprint("w", i), "", "60", 1))
	}
	c.t = c.t.Add(60 * time.Second)
	e.expireSubscriptions()
	var per []int
	for _, f := range *sent {
		n := 0
		for _, fl := range f.Fields {
			if fl.Tag == wire.NotifyBegin {
				n++
			}
		}
		per = append(per, n)
	}
	if fmt.Sprint(per) != "[256 44]" {
		t.Fatalf("NOTIFYs per frame %v", per)
	}
}

// clean_period=0 and db_update_period=0 disable the timers (as stock): nothing starts, so
// nothing can fail.
func TestTimersOffWithPeriodZero(t *testing.T) {
	e, _ := newTestEngine(t, "", "clean_period=0\ndb_update_period=0")
	logs := &captureLog{}
	e.log = logs
	e.StartTimers()
	time.Sleep(100 * time.Millisecond)
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.lines) != 0 {
		t.Fatalf("timers with period 0 logged %q", logs.lines)
	}
}

// The timers' database writes: a refused one is logged at ERR, a committed one not at all.
func TestTimerWritesLoggedOnlyWhenRefused(t *testing.T) {
	e, c, _ := subscribed(t, "subs_db_mode=1\ndb_commit_delay=0")
	logs := &captureLog{}
	e.log = logs
	do(t, e, wire.TPublish, publish("", "600", pidf1)) // a NOTIFY: the subscription is dirty
	e.writeBack()
	c.t = c.t.Add(600 * time.Second)
	e.expireSubscriptions()
	if logs.has("[err]") {
		t.Fatalf("committed writes logged %q", logs.lines)
	}
	e2, c2, _ := subscribed(t, "subs_db_mode=1\ndb_commit_delay=0")
	e2.log = logs
	do(t, e2, wire.TPublish, publish("", "600", pidf1))
	memBackend.refuseWrites(t, e2)
	e2.writeBack()
	c2.t = c2.t.Add(600 * time.Second)
	e2.expireSubscriptions()
	for _, want := range []string{"[err] writing back 1 subscriptions: memdb: writing subscription w1: no space left on device",
		"[err] removing expired subscriptions: memdb: writing subscription w1: no space left on device"} {
		if !logs.has(want) {
			t.Errorf("no %q in %q", want, logs.lines)
		}
	}
}

// A NOTIFY answered 2xx is routine; from 300 on a failure is logged, even one that keeps the
// subscription.
func TestNotifyFailureLogged(t *testing.T) {
	e, _, tt := subscribed(t, "")
	logs := &captureLog{}
	e.log = logs
	notifyResult(t, e, "w1", tt, "299")
	if logs.has("w1") {
		t.Fatalf("a 299 logged %q", logs.lines)
	}
	notifyResult(t, e, "w1", tt, "300")
	if !logs.has("[info] NOTIFY in dialog w1 got 300: subscription kept") || e.Stats().Subscriptions != 1 {
		t.Fatalf("a 300: %q, %+v", logs.lines, e.Stats())
	}
}

// A NOTIFY answered 481 removes the subscription, and says so once the removal is committed
// (no error logged).
func TestNotifyRemovalLogged(t *testing.T) {
	e, _, tt := subscribed(t, "")
	logs := &captureLog{}
	e.log = logs
	notifyResult(t, e, "w1", tt, "481")
	if !logs.has("[info] NOTIFY in dialog w1 got 481: subscription removed") || logs.has("[err]") || e.Stats().Subscriptions != 0 {
		t.Fatalf("a 481: %q, %+v", logs.lines, e.Stats())
	}
}
