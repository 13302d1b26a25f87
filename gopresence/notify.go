package gopresence

import (
	"strconv"
	"strings"

	"github.com/gopresence/gopresence/gopresence/events"
	"github.com/gopresence/gopresence/gopresence/sip"
	"github.com/gopresence/gopresence/gopresence/wire"
)

// notifyReq is one NOTIFY for the C side to send through tm (t_request_within).
type notifyReq struct {
	callID, localTag, remoteTag string
	localURI, remoteURI, target string
	routeSet, socket            string
	cseq                        int64
	headers                     string
	body                        []byte // nil: no body (an empty one is still sent)
	event                       string
	dst                         string

	// for an event a C module registered (events.ModuleEvent): the C side finishes the body
	module *moduleNotify
	// the subscription as sent, for $subs in the script (tm:local-request, notify-reply)
	subs subsInfo
}

// moduleNotify is what the C side needs to finish a NOTIFY of a C module's event: the
// Content-Type to add when a body remains, agg_nbody's presentity, aux_body_processing's version.
type moduleNotify struct {
	contentType, presURI string
	version              int64
	parts                bool // body holds the stored bodies for agg_nbody (NBodyParts)
}

func (n *notifyReq) encode(b *wire.Builder) {
	b.Add(wire.NotifyBegin, nil).
		AddStr(wire.NCallID, n.callID).
		AddStr(wire.NLocalTag, n.localTag).
		AddStr(wire.NRemoteTag, n.remoteTag).
		AddStr(wire.NLocalURI, n.localURI).
		AddStr(wire.NRemoteURI, n.remoteURI).
		AddStr(wire.NTarget, n.target).
		AddStr(wire.NSocket, n.socket).
		AddInt(wire.NCSeq, n.cseq).
		AddStr(wire.NHeaders, n.headers).
		AddStr(wire.NEvent, n.event)
	if n.dst != "" {
		b.AddStr(wire.NDst, n.dst)
	}
	if n.routeSet != "" {
		b.AddStr(wire.NRouteSet, n.routeSet)
	}
	n.subs.encode(b, false)
	bodyTag := wire.NBody
	if m := n.module; m != nil {
		b.AddStr(wire.NContentType, m.contentType).AddStr(wire.NPresURI, m.presURI).AddInt(wire.NVersion, m.version)
		if m.parts {
			bodyTag = wire.NBodyParts
		}
	}
	if n.body != nil {
		b.Add(bodyTag, n.body)
	}
}

// notifyState says which Subscription-State a NOTIFY carries.
type notifyState struct {
	status  int
	reason  string // for terminated
	expires int64  // remaining seconds, for active/pending
}

// buildNotify makes the next NOTIFY of s (RFC 6665 §8.2.3): it takes the next local CSeq, so
// the caller must hold s's shard lock. Header order and format follow stock build_str_hdr
// (notify.c:157-262).
func (e *Engine) buildNotify(s *subscription, st notifyState, body []byte) notifyReq {
	s.LocalCSeq++
	s.Version++
	s.dirty = true
	var h strings.Builder
	h.WriteString("Max-Forwards: 70\r\n")
	h.WriteString("Event: " + s.Event)
	if s.EventID != "" {
		h.WriteString(";id=" + s.EventID)
	}
	h.WriteString("\r\nContact: <" + contactWithTransport(s.LocalContact, s.SocketInfo) + ">\r\n")
	h.WriteString("Subscription-State: ")
	switch st.status {
	case StatusTerminated:
		h.WriteString("terminated;reason=" + st.reason)
	case StatusPending:
		h.WriteString("pending;expires=" + strconv.FormatInt(st.expires, 10))
	default:
		h.WriteString("active;expires=" + strconv.FormatInt(st.expires, 10))
	}
	h.WriteString("\r\n")
	pkg := s.pkg()
	var module *moduleNotify
	if me, ok := pkg.(events.ModuleEvent); ok {
		// the C side adds Content-Type when its callbacks leave a body
		module = &moduleNotify{contentType: pkg.ContentType(), presURI: s.PresentityURI,
			version: int64(s.Version), parts: me.Aggregates()}
	} else if body != nil {
		h.WriteString("Content-Type: " + pkg.ContentType() + "\r\n")
	}
	target := s.Contact
	remoteURI := sip.AOR(s.FromUser, s.FromDomain)
	if target == "" {
		target = remoteURI
	}
	return notifyReq{
		callID: s.CallID, localTag: s.ToTag, remoteTag: s.FromTag,
		localURI: sip.AOR(s.ToUser, s.ToDomain), remoteURI: remoteURI, target: target,
		routeSet: s.RecordRoute, socket: s.SocketInfo, cseq: s.LocalCSeq,
		headers: h.String(), body: body, event: s.Event, dst: s.connection, module: module,
		subs: *snapshot(s, st.expires, st.status, st.reason, true),
	}
}

// contactWithTransport appends ;transport= for stream transports when the contact lacks it,
// as stock does for NOTIFY and SUBSCRIBE replies (so the subscriber reuses the connection).
func contactWithTransport(contact, socket string) string {
	if t := transportOf(socket); t != "" && !strings.Contains(contact, ";transport=") {
		return contact + ";transport=" + t
	}
	return contact
}

// transportOf is the ;transport= value for a Kamailio socket string "proto:host:port": none for
// UDP, and WS and WSS both "ws" as stock writes it (utils_func.h).
func transportOf(socket string) string {
	proto, _, _ := strings.Cut(socket, ":")
	switch proto = strings.ToLower(proto); proto {
	case "tcp", "tls", "sctp":
		return proto
	case "ws", "wss":
		return "ws"
	}
	return ""
}

// streamConnection names the connection a SUBSCRIBE came in on, when NOTIFYs should reuse it:
// a stream transport and no proxy in between (with Record-Route, the route set leads back).
func streamConnection(socket, source, recordRoute string) string {
	t := transportOf(socket)
	if t == "" || t == "sctp" || recordRoute != "" || source == "" || strings.ContainsAny(source, "\r\n;<> ") {
		return ""
	}
	return "sip:" + source + ";transport=" + t
}

// localContact is the Contact of our SUBSCRIBE replies and NOTIFYs: server_address, or the
// advertised address of the socket the SUBSCRIBE came in on (stock utils_func.h:81).
func (e *Engine) localContact(advertised string) string {
	if e.cfg.ServerAddress != "" {
		return e.cfg.ServerAddress
	}
	_, hostport, ok := strings.Cut(advertised, ":")
	if !ok {
		return "sip:127.0.0.1"
	}
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	c := "sip:" + host
	if port != "" {
		c += ":" + port
	}
	return contactWithTransport(c, advertised)
}
