package gopresence

// Script and RPC commands on a presentity's watchers beyond the RPC table of rpc.go:
// pres_has_subscribers (stock subscribe.c get_subscribers_count), and Kamailio 5.7's
// presence.presentity_show and presence.watcher_list.

import (
	"sort"
	"strconv"
	"time"

	"github.com/gopresence/gopresence/gopresence/sip"
)

// rpcHasSubscribers counts the subscriptions held for the presentity and event, whatever their
// state, as stock's memory scan does; one row, count. Caller holds sh.mu (onPresentity).
func (e *Engine) rpcHasSubscribers(sh *shard, key presentityKey, _ []string) *answer {
	a := reply(200, "OK", "")
	a.rows = [][]rpcField{{{"count", strconv.Itoa(len(sh.subs[key])), true}}}
	return a
}

// rpcPresentityShow is Kamailio 5.7's presence.presentity_show: mode ("basic" or "full"), user
// and domain, "*" for any (the C side checks the mode and the count).
func (e *Engine) rpcPresentityShow(args []string) *answer {
	if len(args) < 3 {
		return reply(500, "Not enough parameters", "")
	}
	any := func(s string) string {
		if s == "*" {
			return ""
		}
		return s
	}
	return e.rpcPresentityList(args[0] == "full", any(args[1]), any(args[2]))
}

// rpcWatcherList is Kamailio 5.7's presence.watcher_list: mode and presentity URI; one row per
// subscription to that URI (any event), with 5.7's field names. Fields 5.7 takes from its
// memory table that this engine does not keep (auth_rules, recv_event, updated,
// updated_winfo) are left out.
func (e *Engine) rpcWatcherList(args []string) *answer {
	if len(args) < 2 {
		return reply(500, "Not enough parameters", "")
	}
	full := args[0] == "full"
	u, err := sip.ParseURI(args[1])
	if err != nil {
		return reply(500, "Bad presentity URI", "")
	}
	uri := u.AOR()
	a := reply(200, "OK", "")
	num := func(name string, v int64) rpcField { return rpcField{name, strconv.FormatInt(v, 10), true} }
	return e.locked(uri, time.Time{}, "watcher_list", func(sh *shard) *answer {
		for _, key := range sortedKeys(sh.subs, uri) {
			for _, s := range sh.subs[key] {
				row := []rpcField{{"pres_uri", s.PresentityURI, false}, {"to_user", s.ToUser, false},
					{"to_domain", s.ToDomain, false}, {"from_user", s.FromUser, false},
					{"from_domain", s.FromDomain, false}, {"watcher_user", s.WatcherUsername, false},
					{"watcher_domain", s.WatcherDomain, false}, {"contact", s.Contact, false},
					{"event_id", s.EventID, false}, {"callid", s.CallID, false},
					{"user_agent", s.UserAgent, false}, num("expires", s.Expires),
					num("status", int64(s.Status)), num("version", s.Version), num("flags", s.Flags)}
				if full {
					row = append(row, rpcField{"reason", s.Reason, false}, rpcField{"to_tag", s.ToTag, false},
						rpcField{"from_tag", s.FromTag, false}, rpcField{"socket", s.SocketInfo, false},
						rpcField{"local_contact", s.LocalContact, false},
						rpcField{"record_route", s.RecordRoute, false},
						num("remote_cseq", s.RemoteCSeq), num("local_cseq", s.LocalCSeq))
				}
				a.rows = append(a.rows, row)
			}
		}
		return a
	})
}

// sortedKeys are the keys of m whose URI is uri, by event: a stable listing.
func sortedKeys(m map[presentityKey][]*subscription, uri string) []presentityKey {
	var keys []presentityKey
	for k := range m {
		if k.uri == uri {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].event < keys[j].event })
	return keys
}
