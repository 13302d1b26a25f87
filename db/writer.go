package db

import (
	"errors"
	"sync"
	"time"
)

// ErrDeadline: the request gave up (its worker already answered 500) before its changes were
// written; they were not applied.
var ErrDeadline = errors.New("db: request deadline passed before commit")

// Writer batches changes from many concurrent requests into one transaction (group commit):
// SQLite's cost is per commit, not per row, so under load N requests pay for one fsync.
// Submit returns once the batch holding the op is committed (or failed): a 200 OK is only sent
// for committed state. Ops are applied in submission order.
type Writer struct {
	store *Store
	mu    sync.Mutex
	queue []pending
	wake  chan struct{}
	done  chan struct{}
	// MaxBatch bounds one transaction.
	MaxBatch int
}

type pending struct {
	ops      []Op
	res      chan error
	deadline time.Time // zero: none
}

// NewWriter starts the commit loop.
func NewWriter(s *Store) *Writer {
	w := &Writer{store: s, wake: make(chan struct{}, 1), done: make(chan struct{}), MaxBatch: 4096}
	go w.loop()
	return w
}

// Enqueue queues ops (kept together in one transaction) and returns a channel that receives
// the commit result. Callers that need ordering enqueue under their own lock and wait outside it.
func (w *Writer) Enqueue(ops ...Op) <-chan error {
	return w.EnqueueBy(time.Time{}, ops...)
}

// EnqueueBy is Enqueue for a request that is abandoned at deadline: ops still queued then are
// dropped with ErrDeadline, so no state changes after the client was told it failed.
func (w *Writer) EnqueueBy(deadline time.Time, ops ...Op) <-chan error {
	res := make(chan error, 1)
	if len(ops) == 0 {
		res <- nil
		return res
	}
	w.mu.Lock()
	w.queue = append(w.queue, pending{ops: ops, res: res, deadline: deadline})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return res
}

// Close commits what is queued and stops the loop.
func (w *Writer) Close() {
	close(w.done)
	w.flush()
}

func (w *Writer) loop() {
	for {
		select {
		case <-w.wake:
			w.flush()
		case <-w.done:
			return
		}
	}
}

func (w *Writer) flush() {
	for {
		w.mu.Lock()
		n, count := 0, 0
		for n < len(w.queue) && (count == 0 || count+len(w.queue[n].ops) <= w.MaxBatch) {
			count += len(w.queue[n].ops)
			n++
		}
		batch := append([]pending(nil), w.queue[:n]...)
		w.queue = w.queue[n:]
		w.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		now := time.Now()
		live := batch[:0]
		for _, p := range batch {
			if !p.deadline.IsZero() && now.After(p.deadline) {
				count -= len(p.ops)
				p.res <- ErrDeadline
				continue
			}
			live = append(live, p)
		}
		batch = live
		if len(batch) == 0 {
			continue
		}
		ops := make([]Op, 0, count)
		for _, p := range batch {
			ops = append(ops, p.ops...)
		}
		err := w.store.Apply(ops)
		if err != nil && len(batch) > 1 {
			// one bad op must not fail its neighbours: retry each request alone
			for _, p := range batch {
				p.res <- w.store.Apply(p.ops)
			}
			continue
		}
		for _, p := range batch {
			p.res <- err
		}
	}
}
