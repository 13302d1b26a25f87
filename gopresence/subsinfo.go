package gopresence

import (
	"strconv"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// subsInfo is a subscription as the script sees it in $subs(attr) (stock subscribe.c:747-983):
// after handle_subscribe, in event_route[tm:local-request] while one of our NOTIFYs is sent, and
// in event_route[presence:notify-reply]. A copy, taken under the shard lock, because the answer
// is encoded after the lock is released.
type subsInfo struct {
	presURI, toUser, toDomain, fromUser, fromDomain string
	watcherUser, watcherDomain, event, eventID      string
	toTag, fromTag, callID, contact, localContact   string
	recordRoute, reason, userAgent, sockInfo        string
	remoteCSeq, localCSeq, expires, version, flags  int64
	status                                          int
}

// snapshot is s as $subs shows it, with expires seconds left and the status and reason st
// gives (a NOTIFY's Subscription-State; for a SUBSCRIBE's answer, the subscription's own).
// Numbers as stock's subs_t holds them: local_cseq the last CSeq sent before the NOTIFY being
// sent (tm adds one), version the number of the NOTIFY being sent or, between NOTIFYs, of the
// next one; sending says which.
func snapshot(s *subscription, expires int64, status int, reason string, sending bool) *subsInfo {
	if expires < 0 {
		expires = 0
	}
	si := &subsInfo{
		presURI: s.PresentityURI, toUser: s.ToUser, toDomain: s.ToDomain,
		fromUser: s.FromUser, fromDomain: s.FromDomain,
		watcherUser: s.WatcherUsername, watcherDomain: s.WatcherDomain,
		event: s.Event, eventID: s.EventID, toTag: s.ToTag, fromTag: s.FromTag, callID: s.CallID,
		contact: s.Contact, localContact: s.LocalContact, recordRoute: s.RecordRoute,
		reason: reason, userAgent: s.UserAgent, sockInfo: s.SocketInfo,
		remoteCSeq: s.RemoteCSeq, localCSeq: s.LocalCSeq, expires: expires,
		version: s.Version, flags: s.Flags, status: status,
	}
	if sending { // buildNotify has counted this NOTIFY already
		si.localCSeq--
	} else {
		si.version++
	}
	return si
}

// encode adds the fields; dialog false leaves out those a NOTIFY group's N fields carry.
func (si *subsInfo) encode(b *wire.Builder, dialog bool) {
	b.AddStr(wire.SPresURI, si.presURI).AddStr(wire.SToUser, si.toUser).
		AddStr(wire.SToDomain, si.toDomain).AddStr(wire.SFromUser, si.fromUser).
		AddStr(wire.SFromDomain, si.fromDomain).AddStr(wire.SWatcherUser, si.watcherUser).
		AddStr(wire.SWatcherDomain, si.watcherDomain).AddStr(wire.SEventID, si.eventID).
		AddInt(wire.SRemoteCSeq, si.remoteCSeq).AddStr(wire.SContact, si.contact).
		AddStr(wire.SLocalContact, si.localContact).AddInt(wire.SExpires, si.expires).
		AddStr(wire.SStatus, strconv.Itoa(si.status)).AddStr(wire.SReason, si.reason).
		AddInt(wire.SVersion, si.version).AddInt(wire.SFlags, si.flags).
		AddStr(wire.SUserAgent, si.userAgent).AddInt(wire.SLocalCSeq, si.localCSeq)
	if dialog {
		b.AddStr(wire.SEvent, si.event).AddStr(wire.SToTag, si.toTag).
			AddStr(wire.SFromTag, si.fromTag).AddStr(wire.SCallID, si.callID).
			AddStr(wire.SRecordRoute, si.recordRoute).
			AddStr(wire.SSockInfo, si.sockInfo)
	}
}
