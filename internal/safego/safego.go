// Package safego starts goroutines that survive their own panics. A panic that escapes a
// goroutine ends the whole process, and in the engine process that is Kamailio's PRESENCE
// ENGINE: every SIP worker then answers 500 until Kamailio is restarted. So every goroutine
// the engine and its storage start goes through Go, or runs its loop body through Do, and a
// panic becomes a CRIT log line (with the stack, for the bug report) instead.
//
// What a recovered panic means is the caller's decision, written where it calls: a timer loop
// goes on with its next tick, a worker connection is closed, the database writer fails the
// requests of the batch in hand.
package safego

import (
	"fmt"
	"runtime/debug"
)

// LogFunc hands a line to the process's log at a Kamailio level ("crit", "err", ...).
type LogFunc func(level, msg string)

// Go runs fn in a new goroutine; a panic in fn is recovered and logged, and the goroutine ends.
func Go(log LogFunc, name string, fn func()) {
	go Do(log, name, fn)
}

// Do runs fn in the calling goroutine; a panic in fn is recovered and logged. It reports
// whether fn returned normally.
func Do(log LogFunc, name string, fn func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			Report(log, name, r)
		}
	}()
	fn()
	return true
}

// Report logs a recovered panic at CRIT with its stack. For a caller that recovers itself
// (to turn the panic into an answer); call it from the deferred function, where the stack
// still shows the panic.
func Report(log LogFunc, name string, r any) {
	if log == nil {
		return
	}
	log("crit", fmt.Sprintf("BUG: panic in %s: %v\n%s", name, r, debug.Stack()))
}
