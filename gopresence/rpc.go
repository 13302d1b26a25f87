package gopresence

import (
	"strconv"
	"strings"
	"time"

	"github.com/gopresence/gopresence/db"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/sip"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// rpcField is one name=value of an RPC result row.
type rpcField struct {
	name, value string
	isInt       bool
}

// handleRPC serves `kamcmd presence.*` (stock presence.c:1939-1948 and its fault texts).
func (e *Engine) handleRPC(f *wire.Frame) *answer {
	var args []string
	for _, fl := range f.Fields {
		if fl.Tag == wire.RPCArg {
			args = append(args, string(fl.Value))
		}
	}
	switch cmd := f.Str(wire.RPCCommand); cmd {
	case "cleanup":
		e.expirePublications()
		e.expireSubscriptions()
		e.writeBack()
		return reply(200, "Reload OK", "")
	case "refreshWatchers":
		return e.rpcRefreshWatchers(args)
	case "status":
		return e.rpcStatus()
	case "presentity_list":
		return e.rpcPresentityList(len(args) > 0 && args[0] == "full", "", "")
	case "presentity_show":
		return e.rpcPresentityShow(args)
	case "watcher_list":
		return e.rpcWatcherList(args)
	// the module's own, for update_watchers_status (bind_presence): not kamcmd commands
	case "_authorizations":
		return e.onPresentity(args, e.rpcAuthorizations)
	case "_reauthorize":
		return e.onPresentity(args, e.rpcReauthorize)
	case "_bodies":
		return e.onPresentity(args, e.rpcBodies)
	case "_has_subscribers":
		return e.onPresentity(args, e.rpcHasSubscribers)
	default:
		return reply(500, "unknown command presence."+cmd, "")
	}
}

func rpcTarget(uri, event string) (presentityKey, *answer) {
	if uri == "" {
		return presentityKey{}, reply(500, "Empty presentity URI", "")
	}
	if event == "" {
		return presentityKey{}, reply(500, "Empty event parameter", "")
	}
	u, err := sip.ParseURI(uri)
	if err != nil {
		return presentityKey{}, reply(500, "Bad presentity URI", "")
	}
	pkg := events.Lookup(event, nil)
	if pkg == nil {
		return presentityKey{}, reply(500, "Unknown event "+event, "")
	}
	return presentityKey{uri: u.AOR(), event: pkg.Name()}, nil
}

// rpcRefreshWatchers: type 1 sends every active watcher a NOTIFY with the current state; type 2
// (args: uri, event, 2, filename[, document]) first sets the presentity's hard state, the
// pidf-manipulation document the C side read through the event's module (module/script.c), as
// the publication named filename that never expires, or removes it when no document came
// (stock update_hard_presentity), then notifies as type 1. (Type 0 is the C side's: the rules of
// an event's C module.)
func (e *Engine) rpcRefreshWatchers(args []string) *answer {
	if len(args) < 3 {
		return reply(500, "Not enough parameters", "")
	}
	key, a := rpcTarget(args[0], args[1])
	if a != nil {
		return a
	}
	switch args[2] {
	case "1":
		return e.locked(key.uri, time.Time{}, "refreshWatchers", func(sh *shard) *answer {
			pr := sh.pres[key]
			if pr == nil {
				pr = &presentity{}
			}
			a := reply(200, "OK", "")
			a.notifs = e.notifyWatchers(sh, key, pr, "", "", e.now().Unix())
			return a
		})
	case "2":
		if len(args) < 4 || args[3] == "" {
			return reply(500, "Execution failed", "refreshWatchers type 2 without a file name")
		}
		var doc []byte
		if len(args) > 4 {
			doc = []byte(args[4])
		}
		return e.locked(key.uri, time.Time{}, "refreshWatchers", func(sh *shard) *answer {
			return e.setHardState(sh, key, args[3], doc)
		})
	default:
		return reply(500, "Execution failed", "refreshWatchers type "+args[2]+" not supported")
	}
}

// rpcPresentityList lists the publications, of user and domain when not empty (compared
// without case, as 5.7's presentity_show).
func (e *Engine) rpcPresentityList(full bool, user, domain string) *answer {
	a := reply(200, "OK", "")
	e.eachPublication(func(p *db.Presentity) {
		if (user != "" && !strings.EqualFold(user, p.Username)) ||
			(domain != "" && !strings.EqualFold(domain, p.Domain)) {
			return
		}
		row := []rpcField{{"user", p.Username, false}, {"domain", p.Domain, false},
			{"event", p.Event, false}, {"etag", p.ETag, false}, {"sender", p.Sender, false},
			{"expires", strconv.FormatInt(p.Expires, 10), true}}
		if full {
			row = append(row, rpcField{"received_time", strconv.FormatInt(p.ReceivedTime, 10), true},
				rpcField{"priority", strconv.FormatInt(p.Priority, 10), true},
				rpcField{"ruid", p.RUID, false}, rpcField{"body", string(p.Body), false},
				rpcField{"hashid", strconv.Itoa(int(int32(coreCaseHash(p.Username, p.Domain)))), true})
		}
		a.rows = append(a.rows, row)
	})
	return a
}

// eachPublication calls f for every publication held (the shared mode: every unexpired one in
// the database), a shard's under its lock.
func (e *Engine) eachPublication(f func(p *db.Presentity)) {
	if e.shared != nil {
		pubs, err := e.store.LoadPresentities(e.now().Unix())
		if err != nil {
			e.logf("err", "listing publications: %v", err)
		}
		for i := range pubs {
			f(&pubs[i])
		}
		return
	}
	for _, sh := range e.shards.s {
		sh.mu.Lock()
		for k, pr := range sh.pres {
			for i := range pr.pubs {
				f(pr.pubs[i].row(k.event))
			}
		}
		sh.mu.Unlock()
	}
}

// onPresentity runs an engine command of the module's on the presentity its first two
// arguments name (URI, event), under the presentity's lock, with the arguments after them.
func (e *Engine) onPresentity(args []string, cmd func(sh *shard, key presentityKey, rest []string) *answer) *answer {
	if len(args) < 2 {
		return reply(500, "Not enough parameters", "")
	}
	key, a := rpcTarget(args[0], args[1])
	if a != nil {
		return a
	}
	return e.locked(key.uri, time.Time{}, "presence command", func(sh *shard) *answer { return cmd(sh, key, args[2:]) })
}

// rpcBodies lists a presentity's stored bodies for an event, oldest first, one row each: for
// bind_presence's get_presentity (presence_xml's pres_check_basic), which aggregates them in C.
func (e *Engine) rpcBodies(sh *shard, key presentityKey, _ []string) *answer {
	a := reply(200, "OK", "")
	if pr := sh.pres[key]; pr != nil {
		for _, p := range pr.publications() {
			a.rows = append(a.rows, []rpcField{{"body", string(p.Body), false}})
		}
	}
	return a
}
