package db

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gopresence/gopresence/internal/safego"
)

// ErrDeadline: the request gave up (its worker already answered 500) before its changes were
// written; they were not applied.
var ErrDeadline = errors.New("db: request deadline passed before commit")

// ErrPanic: the backend, or the writer itself, panicked while these changes were being
// written; they may not have been applied.
var ErrPanic = errors.New("db: panic while writing")

// Writer batches changes from many concurrent requests into one transaction (group commit):
// SQLite's cost is per commit, not per row, so under load N requests pay for one commit.
// The first request to arrive when nobody is committing leads: it commits everything queued,
// in its own goroutine (no hand-off to a writer goroutine on the hot path), until its own
// changes are in; requests arriving meanwhile queue behind it and are committed by it or by
// the next leader. A request that Enqueues waits for the commit that holds its ops (write-
// through); one that Posts does not (write-behind): its ops join the queue and are committed
// within a delay, together with everything else queued by then, by a timer. Ops are applied in
// submission order either way.
//
// A panic never loses an acknowledged write silently, nor leaves a request waiting:
//   - in Backend.Apply (a driver's bug), it is logged and becomes an ErrPanic error for that
//     Apply, so the batch is retried request by request like any failed batch: waiting
//     requests are answered with the error (500), written-behind ops go to OnError (logged
//     at ERR, each named);
//   - in the writer's own bookkeeping (or in OnError), the leader logs it, answers every
//     request of the batch in hand not yet answered the same way, and hands what is still
//     queued to a new leader, so the writer keeps committing.
type Writer struct {
	store Backend
	mu    sync.Mutex
	idle  *sync.Cond // signalled when no leader is committing
	queue []pending
	// queued counts the ops in queue (Post's bound).
	queued int
	// committing: a leader is at work; new requests only queue.
	committing bool
	// timer commits posted ops; armed until it fires, due when.
	timer  *time.Timer
	armed  bool
	due    time.Time
	closed bool
	// MaxBatch bounds one transaction.
	MaxBatch int
	// MaxQueued bounds the ops waiting for a write-behind commit: past it Post waits like
	// Enqueue, so a database slower than the load pushes back on requests (and their deadline
	// turns into 503) instead of growing the queue without end.
	MaxQueued int
	// OnError hears of write-behind ops that could not be written (nobody waits for them).
	OnError func(err error, ops []Op)
	// Log reports recovered panics (at CRIT); set before the first write.
	Log func(level, msg string)
	// flushSafely is flush for the timer's goroutine.
	flushSafely func()
	// stalled: the last batch found the database unavailable and its written-behind ops went
	// back to the queue; the leader stops and the timer tries again after RetryDelay.
	stalled bool
	// RetryDelay is how long written-behind ops wait after the database was found unavailable.
	RetryDelay time.Duration
	// down: written-behind ops wait for the database since it was found unavailable (logged
	// once when it goes, once when it is back).
	down bool
}

type pending struct {
	ops      []Op
	res      chan error // nil: posted, nobody waits
	deadline time.Time  // zero: none
	answered bool       // by commit; a leader that panicked answers the rest
}

// NewWriter returns a writer over s.
func NewWriter(s Backend) *Writer {
	w := &Writer{store: s, MaxBatch: 4096, MaxQueued: 65536, RetryDelay: time.Second}
	w.idle = sync.NewCond(&w.mu)
	w.flushSafely = func() { safego.Do(w.Log, "database writer timer", w.flush) }
	return w
}

// posted answers without waiting (Post that queued, or nothing to write): a closed channel
// reads nil at once.
var posted = func() chan error { c := make(chan error); close(c); return c }()

// Post queues ops for a commit at most delay from now and returns without waiting (a closed
// channel). delay <= 0, or a full queue, makes it Enqueue with the deadline instead. A request
// past its deadline (it waited for a lock) gets ErrDeadline and its ops are not queued: its
// worker has answered 500 already, so the change must not happen.
func (w *Writer) Post(deadline time.Time, delay time.Duration, ops ...Op) <-chan error {
	if len(ops) == 0 {
		return posted
	}
	if !deadline.IsZero() && time.Now().After(deadline) {
		res := make(chan error, 1)
		res <- ErrDeadline
		return res
	}
	if delay <= 0 {
		return w.EnqueueBy(deadline, ops...)
	}
	w.mu.Lock()
	if w.closed || w.queued+len(ops) > w.MaxQueued {
		w.mu.Unlock()
		return w.EnqueueBy(deadline, ops...)
	}
	w.queue = append(w.queue, pending{ops: ops})
	w.queued += len(ops)
	due := time.Now().Add(delay)
	switch {
	case w.timer == nil:
		w.timer = time.AfterFunc(delay, w.flushSafely)
		w.armed, w.due = true, due
	case !w.armed || due.Before(w.due):
		w.timer.Reset(delay)
		w.armed, w.due = true, due
	}
	w.mu.Unlock()
	return posted
}

// flush is the timer: commit whatever is queued, unless a leader is at it already (it hands
// leftovers to a new leader when done).
func (w *Writer) flush() {
	w.mu.Lock()
	w.armed = false
	if w.committing || len(w.queue) == 0 || w.closed {
		w.mu.Unlock()
		return
	}
	w.committing = true
	w.mu.Unlock()
	w.lead(nil)
}

// Enqueue applies ops (kept together in one transaction) and returns a channel holding the
// commit result. Callers that need ordering enqueue under their own lock.
func (w *Writer) Enqueue(ops ...Op) <-chan error {
	return w.EnqueueBy(time.Time{}, ops...)
}

// EnqueueBy is Enqueue for a request that is abandoned at deadline: ops still queued then are
// dropped with ErrDeadline, so no state changes after the client was told it failed.
func (w *Writer) EnqueueBy(deadline time.Time, ops ...Op) <-chan error {
	if len(ops) == 0 {
		return posted
	}
	res := make(chan error, 1)
	w.mu.Lock()
	w.queue = append(w.queue, pending{ops: ops, res: res, deadline: deadline})
	w.queued += len(ops)
	if w.committing {
		w.mu.Unlock()
		return res
	}
	w.committing = true
	w.mu.Unlock()
	w.lead(res)
	return res
}

// lead commits batches until mine is answered; leftovers go to a new leader goroutine so no
// request waits behind a stream of newer ones.
func (w *Writer) lead(mine chan error) {
	var batch []pending
	defer func() {
		if r := recover(); r != nil {
			w.recoverLead(batch, r)
		}
	}()
	for {
		if batch = w.next(); len(batch) == 0 {
			return
		}
		w.commit(batch)
		if w.endStalled() {
			return
		}
		if mine != nil && len(mine) > 0 {
			w.handOver()
			return
		}
	}
}

// next takes the next batch; with none left, leadership ends. (Locked sections unlock by
// defer, so a panic never leaves w.mu held.)
func (w *Writer) next() []pending {
	w.mu.Lock()
	defer w.mu.Unlock()
	batch := w.take()
	if len(batch) == 0 {
		w.committing = false
		w.idle.Broadcast()
	}
	return batch
}

// handOver ends this leader's turn: what is still queued goes to a new leader goroutine.
func (w *Writer) handOver() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		w.committing = false
		w.idle.Broadcast()
		return
	}
	safego.Go(w.Log, "database writer", func() { w.lead(nil) })
}

// recoverLead: a leader panicked outside Backend.Apply. Nobody may be left waiting and no
// acknowledged write may vanish unlogged: the batch's unanswered requests get ErrPanic
// (written-behind ones through OnError), and the queue goes to a new leader.
func (w *Writer) recoverLead(batch []pending, r any) {
	safego.Report(w.Log, "database writer", r)
	err := fmt.Errorf("%w: %v", ErrPanic, r)
	for i := range batch {
		if p := &batch[i]; !p.answered {
			safego.Do(w.Log, "database writer's error report", func() { w.answer(p, err) })
		}
	}
	w.handOver()
}

// take removes the next batch from the queue. Caller holds w.mu.
func (w *Writer) take() []pending {
	n, count := 0, 0
	for n < len(w.queue) && (count == 0 || count+len(w.queue[n].ops) <= w.MaxBatch) {
		count += len(w.queue[n].ops)
		n++
	}
	batch := append([]pending(nil), w.queue[:n]...)
	// move the rest to the front and clear the tail: a resliced queue would keep every taken
	// op (and the rows it points to) reachable through the array until it is reallocated
	rest := copy(w.queue, w.queue[n:])
	clear(w.queue[rest:])
	w.queue = w.queue[:rest]
	w.queued -= count
	return batch
}

func (w *Writer) commit(batch []pending) {
	now := time.Now()
	live := 0
	var ops []Op
	for i := range batch {
		p := &batch[i]
		if p.res != nil && !p.deadline.IsZero() && now.After(p.deadline) {
			w.answer(p, ErrDeadline)
			continue
		}
		live++
		ops = append(ops, p.ops...)
	}
	if live == 0 {
		return
	}
	err := w.apply(ops)
	if err == nil {
		w.back()
	}
	// one bad op must not fail its neighbours: after a failed batch, retry each request alone
	// (not when the database cannot be used at all: each would fail the same way)
	retry := err != nil && live > 1 && !errors.Is(err, ErrUnavailable)
	var again []pending
	for i := range batch {
		if p := &batch[i]; !p.answered {
			if retry {
				err = w.apply(p.ops)
			}
			if p.res == nil && errors.Is(err, ErrUnavailable) && w.open() {
				// written behind, acknowledged already: kept for the database's return, in order
				p.answered = true
				again = append(again, pending{ops: p.ops})
				continue
			}
			w.answer(p, err)
		}
	}
	if len(again) > 0 {
		w.requeue(again, err)
	}
}

// back notes a commit after the database was unavailable.
func (w *Writer) back() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down && w.Log != nil {
		w.Log("info", "database available again: the kept written-behind changes are written")
	}
	w.down = false
}

func (w *Writer) open() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.closed
}

// requeue puts written-behind ops the unavailable database refused back at the head of the
// queue and has the timer try again after RetryDelay; the leader stops (endStalled). A request
// waiting for its commit meanwhile was told the error (503): its ops are not kept. The bound
// of the queue (MaxQueued) holds: past it new requests wait, and past their deadline get 503.
func (w *Writer) requeue(again []pending, err error) {
	n := 0
	for _, p := range again {
		n += len(p.ops)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.down && w.Log != nil {
		w.Log("err", fmt.Sprintf("%v: %d written-behind changes kept, written when it is back (tried every %v)", err, n, w.RetryDelay))
	}
	w.down = true
	w.queue = append(again, w.queue...)
	w.queued += n
	w.stalled = true
	if w.timer == nil {
		w.timer = time.AfterFunc(w.RetryDelay, w.flushSafely)
	} else {
		w.timer.Reset(w.RetryDelay)
	}
	w.armed, w.due = true, time.Now().Add(w.RetryDelay)
}

// endStalled ends the leader's turn after a requeue: the timer takes over.
func (w *Writer) endStalled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stalled {
		return false
	}
	w.stalled = false
	w.committing = false
	w.idle.Broadcast()
	return true
}

// apply is Backend.Apply with a panic turned into an error (see Writer).
func (w *Writer) apply(ops []Op) (err error) {
	defer func() {
		if r := recover(); r != nil {
			safego.Report(w.Log, "database backend", r)
			err = fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	return w.store.Apply(ops)
}

// answer tells p's request how its ops went; marked first, so a panic in OnError never has
// p answered twice.
func (w *Writer) answer(p *pending, err error) {
	p.answered = true
	switch {
	case p.res != nil:
		p.res <- err
	case err != nil && w.OnError != nil:
		w.OnError(err, p.ops)
	}
}

// Close commits what is queued, waits for the commits under way and stops the timer.
func (w *Writer) Close() {
	w.mu.Lock()
	w.closed = true
	if w.timer != nil {
		w.timer.Stop()
	}
	for w.committing || len(w.queue) > 0 {
		if !w.committing {
			w.committing = true
			w.mu.Unlock()
			w.lead(nil)
			w.mu.Lock()
			continue
		}
		w.idle.Wait()
	}
	w.mu.Unlock()
}
