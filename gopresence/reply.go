package gopresence

import (
	"errors"

	"github.com/gopresence/gopresence/db"
	"strconv"
	"strings"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// answer is what the engine tells a worker: the reply and the NOTIFYs to send after it.
type answer struct {
	code    int
	reason  string
	headers strings.Builder
	notifs  []notifyReq
	err     string // logged by the worker (why a 4xx/5xx was sent)
	toTag   string // To tag of the reply (initial SUBSCRIBE), else the stack chooses
	rows    [][]rpcField
	subs    *subsInfo // the subscription a SUBSCRIBE left, for $subs
	// conflict: the change was refused for a conflict with another node's (db.ErrConflict),
	// to be made again (retryConflicts) rather than answered
	conflict bool
}

// Reason phrases as stock sends them (reference §5.1), so operators' log parsers keep working.
func reply(code int, reason, why string) *answer {
	return &answer{code: code, reason: reason, err: why}
}

func badRequest(why string) *answer        { return reply(400, "Bad request", why) }
func serverError(why string) *answer       { return reply(500, "Server Internal Error", why) }
func conditionalFailed(why string) *answer { return reply(412, "Conditional request failed", why) }

// badEvent answers 489 with Allow-Events listing every registered package (RFC 6665 §8.2.2).
// internalError answers 500 for a failure of ours (storage), logged at err here; rejections of
// bad requests are logged by the worker at notice.
func (e *Engine) internalError(why string) *answer {
	e.logf("err", "%s", why)
	return serverError(why)
}

// commitFailed answers a failed commit: the worker's deadline passed (it has answered 500
// already; nothing was applied) → 503; a conflict with another node's change (db.ErrConflict,
// which backends also mark unavailable) → 503 with Retry-After marked as a conflict, logged at
// info (retryConflicts makes the change again, and logs at err when it gives up); the database
// server could not be used (down, restarting: db.ErrUnavailable) → 503 with Retry-After
// (RFC 3261 §21.5.4: the client may try again then), logged at err; any other storage
// failure → 500, logged.
func (e *Engine) commitFailed(why string, err error) *answer {
	switch {
	case errors.Is(err, db.ErrDeadline):
		e.logf("warn", "%s: abandoned, the worker stopped waiting", why)
		a := reply(503, "Service Unavailable", why+": overloaded")
		a.header("Retry-After", "5")
		return a
	case errors.Is(err, db.ErrConflict):
		e.logf("info", "%s: %v", why, err)
		return conflictAnswer(why)
	case errors.Is(err, db.ErrUnavailable):
		e.logf("err", "%s: %v", why, err)
		a := reply(503, "Service Unavailable", why+": database unavailable")
		a.header("Retry-After", "5")
		return a
	}
	return e.internalError(why + ": " + err.Error())
}

// conflictAnswer is a change's answer when another node's change conflicted with it: 503 with
// a short Retry-After (the conflict is over as soon as the other change commits).
func conflictAnswer(why string) *answer {
	a := reply(503, "Service Unavailable", why+": conflict with another node's change")
	a.header("Retry-After", "1")
	a.conflict = true
	return a
}

func badEvent(why string) *answer {
	a := reply(489, "Bad Event", why)
	a.headers.WriteString("Allow-Events: " + strings.Join(events.Names(), ", ") + "\r\n")
	return a
}

func (a *answer) header(name, value string) {
	a.headers.WriteString(name)
	a.headers.WriteString(": ")
	a.headers.WriteString(value)
	a.headers.WriteString("\r\n")
}

func (a *answer) encode(id uint32) []byte {
	b := wire.NewBuilder(wire.TAnswer, id)
	b.AddStr(wire.Code, strconv.Itoa(a.code)).AddStr(wire.Reason, a.reason)
	if a.headers.Len() > 0 {
		b.AddStr(wire.Headers, a.headers.String())
	}
	if a.err != "" {
		b.AddStr(wire.Error, a.err)
	}
	if a.toTag != "" {
		b.AddStr(wire.ToTagOut, a.toTag)
	}
	if a.subs != nil {
		b.Add(wire.SubsBegin, nil)
		a.subs.encode(b, true)
	}
	for _, row := range a.rows {
		b.Add(wire.RPCRow, nil)
		for _, fl := range row {
			tag := wire.RPCStr
			if fl.isInt {
				tag = wire.RPCInt
			}
			b.AddStr(tag, fl.name+"="+fl.value)
		}
	}
	for i := range a.notifs {
		a.notifs[i].encode(b)
	}
	return b.Bytes()
}
