package gopresence

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopresence/gopresence/db"
	"github.com/gopresence/gopresence/gopresence/events"
	_ "github.com/gopresence/gopresence/gopresence/events/presence" // registers "presence"
	"github.com/gopresence/gopresence/gopresence/wire"
	"github.com/gopresence/gopresence/internal/safego"
)

// Logger receives the engine's log lines; in Kamailio they go out through the C thread.
type Logger interface {
	Log(level, msg string)
}

// cseqRestartMargin is added to every restored subscription's local CSeq (see restore).
const cseqRestartMargin = 1000

// Engine is the presence server state and its rules. One per Kamailio instance.
type Engine struct {
	cfg    Config
	log    Logger
	store  db.Backend
	shared db.Shared // the shared mode's database (shared.go); nil: memory holds the state
	// conflictRetries counts the changes made again after a conflict (retryConflicts)
	conflictRetries atomic.Int64
	writer          *db.Writer
	dbTime          *timedBackend // what the writer commits through
	shards          *shards
	dialogs         dialogIndex
	now             func() time.Time

	startTime int64
	pid       int
	counter   atomic.Uint64 // makes ETags and RUIDs unique within this run
	tagKey    [32]byte      // keys dialogTag
	tagMACs   sync.Pool     // keyed HMACs for dialogTag: keying one costs two SHA-256 blocks

	// engineNotify sends NOTIFYs caused by time or by NOTIFY failures (not by a request)
	// to the engine's C thread. Nil in tests that do not need it.
	engineNotify func(frame []byte)
	stop         chan struct{}
}

// New opens storage, restores state and returns a ready engine.
func New(cfg Config, log Logger) (*Engine, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	st, err := db.Open(cfg.DBURL, cfg.tables())
	if err != nil {
		return nil, err
	}
	timed := &timedBackend{Backend: st} // the writer's transactions, timed for presence.status
	e := &Engine{
		cfg: cfg, log: log, store: st, writer: db.NewWriter(timed), dbTime: timed,
		shards:  newShards(cfg.PresHtableSize),
		dialogs: newDialogIndex(),
		now:     time.Now, pid: os.Getpid(), stop: make(chan struct{}),
	}
	if err := e.openShared(); err != nil {
		st.Close()
		return nil, err
	}
	e.writer.OnError = e.logLostWrites
	e.writer.Log = e.logLine
	e.registerModuleEvents()
	e.startTime = e.now().Unix()
	if _, err := rand.Read(e.tagKey[:]); err != nil {
		st.Close()
		return nil, err
	}
	if err := e.restore(); err != nil {
		st.Close()
		return nil, fmt.Errorf("restoring state from %s: %w", db.RedactURL(cfg.DBURL), err)
	}
	return e, nil
}

// Validate checks a configuration the way start-up will use it (db_url opens, tables exist
// or can be created, versions match), for the module's start-up check.
func Validate(cfg Config) error {
	if err := cfg.check(); err != nil {
		return err
	}
	st, err := db.Open(cfg.DBURL, cfg.tables())
	if err != nil {
		return err
	}
	return st.Close()
}

// SetEngineNotifier sets where engine-originated NOTIFY frames go.
func (e *Engine) SetEngineNotifier(f func([]byte)) { e.engineNotify = f }

// Close writes back subscription bookkeeping and closes storage.
func (e *Engine) Close() {
	select {
	case <-e.stop:
		return
	default:
	}
	close(e.stop)
	e.writeBack()
	e.writer.Close()
	e.store.Close()
}

func (e *Engine) logf(level, format string, args ...any) {
	e.logLine(level, fmt.Sprintf(format, args...))
}

// logLine is the engine's log for the goroutines it starts (safego) and its storage.
func (e *Engine) logLine(level, msg string) {
	if e.log != nil {
		e.log.Log(level, msg)
	}
}

// restore loads every unexpired publication and subscription (stock: startup_mode=1 and
// restore_db_subs). The shared mode holds nothing between requests: nothing to load.
func (e *Engine) restore() error {
	if e.shared != nil {
		e.logf("info", "state in the database (subs_db_mode=3, publ_cache=0): read per request, shared with other nodes")
		return nil
	}
	now := e.now().Unix()
	var rows db.Rows
	var err error
	if rows.Presentities, err = e.store.LoadPresentities(now); err != nil {
		return err
	}
	if e.subscriptionsStored() { // subs_db_mode=0: subscriptions never outlive the process
		if rows.Watchers, err = e.store.LoadWatchers(now); err != nil {
			return err
		}
	}
	if rows.Authorizations, err = e.store.LoadAuthorizations(); err != nil {
		return err
	}
	// local_cseq is written back every db_update_period and at a clean stop; after a crash
	// the NOTIFYs sent since the last write-back had higher CSeqs. Jump past them, so a
	// watcher never sees a CSeq go back (RFC 3261 §12.2.1.1 only asks for growth).
	subs := e.hold(rows, cseqRestartMargin)
	e.logf("info", "restored %d publications and %d subscriptions", len(rows.Presentities), subs)
	return nil
}

// Handle answers one request frame. It never panics on bad input: a panic is a bug, logged
// and answered with 500 so one request cannot take the engine down.
func (e *Engine) Handle(f *wire.Frame) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			safego.Report(e.logLine, fmt.Sprintf("handling frame type %d", f.Type), r)
			out = serverError("internal error").encode(f.ID)
		}
	}()
	if dl := deadline(f); !dl.IsZero() && time.Now().After(dl) { // wall clock, as the worker's
		// the worker has answered 500 already: do nothing (load shedding, RFC 3261 §21.5.4)
		e.logf("warn", "request %d arrived after its deadline: dropped", f.ID)
		a := reply(503, "Service Unavailable", "engine overloaded")
		a.header("Retry-After", "5")
		return a.encode(f.ID)
	}
	switch f.Type {
	case wire.TPublish:
		return e.handlePublish(f).encode(f.ID)
	case wire.TSubscribe:
		return e.handleSubscribe(f).encode(f.ID)
	case wire.TRPC:
		return e.handleRPC(f).encode(f.ID)
	case wire.TNotifyResult:
		e.handleNotifyResult(f)
		return nil
	default:
		e.logf("err", "unknown frame type %d", f.Type)
		return serverError(fmt.Sprintf("unknown frame type %d", f.Type)).encode(f.ID)
	}
}

// nextID returns a number unique within this engine run.
func (e *Engine) nextID() uint64 { return e.counter.Add(1) }

// newETag: stock's shape "a.<start>.<pid>.<counter>.<n>" (presentity.c:62-91), unique across
// restarts because of the start time and pid.
func (e *Engine) newETag(n int) string {
	return fmt.Sprintf("a.%d.%d.%d.%d", e.startTime, e.pid, e.nextID(), n)
}

// dialogTag is our To tag for a new subscription dialog: to_tag_pref (the 2008 guide's
// parameter) and 64 keyed-hash bits of the request's identity, so a retransmitted initial
// SUBSCRIBE that reaches us without a transaction names the same dialog again, while tags
// stay unguessable (RFC 3261 §19.3).
func (e *Engine) dialogTag(callID, fromTag string, cseq uint32) string {
	m, _ := e.tagMACs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, e.tagKey[:])
	}
	m.Reset()
	var b [256]byte
	msg := append(append(append(append(b[:0], callID...), 0), fromTag...), 0)
	m.Write(strconv.AppendUint(msg, uint64(cseq), 10))
	var sum [sha256.Size]byte
	tag := e.cfg.ToTagPref + hex.EncodeToString(m.Sum(sum[:0])[:8])
	e.tagMACs.Put(m)
	return tag
}

// Stats are numbers for logs and tests.
type Stats struct{ Presentities, Publications, Subscriptions int }

// Stats counts held state.
func (e *Engine) Stats() Stats {
	var s Stats
	for _, sh := range e.shards.s {
		sh.mu.Lock()
		s.Presentities += len(sh.pres)
		for _, p := range sh.pres {
			s.Publications += len(p.pubs)
		}
		sh.mu.Unlock()
	}
	s.Subscriptions = e.dialogs.len()
	return s
}

// registerModuleEvents serves the events C modules registered (before the state that uses them
// is restored). One owner per event name: a C module's event takes over a package of ours of
// the same name (presence_xml's "presence" replaces the Go PIDF package), and says so.
func (e *Engine) registerModuleEvents() {
	for _, ev := range e.cfg.ModuleEvents {
		if old := events.Lookup(ev.Name(), nil); old != nil {
			if _, isModule := old.(events.ModuleEvent); !isModule {
				e.logf("info", "event %q is served with the callbacks of the C module that registered it, not the engine's own package", ev.Name())
			}
		}
		events.Register(ev)
	}
}
