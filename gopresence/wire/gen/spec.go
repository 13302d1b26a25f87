package main

// The numbers of the worker <-> engine wire format, and their one home. `go generate
// ./gopresence/wire` writes from this file gopresence/wire/spec_gen.go (Go constants),
// module/wire_spec.h (C enums and macros) and the tables of docs/wire.md; TestGeneratedUpToDate
// fails while any of them says something else. To add a tag: add a line here, run go generate.

// constant is a frame-level number.
type constant struct {
	goName, cName string
	value         int
	doc           string
}

// frameType is a frame's type byte.
type frameType struct {
	num                int
	name, cName        string
	direction, answers string
}

// tag names a field.
type tag struct {
	num         int
	name, cName string
	value       string // what the field carries
}

// tagGroup is the tags of one kind of frame (one table in docs/wire.md, one const block in Go).
type tagGroup struct {
	key   string // docs/wire.md marker
	title string // Go and C comment
	tags  []tag
}

var constants = []constant{
	{"Version", "WIRE_VERSION", 1, "the only frame version both sides speak"},
	{"HeaderLen", "WIRE_HDR_LEN", 10, "the number of bytes before the first field (u32 length, u8 version, u8 type, u32 id)"},
	{"MaxFrame", "WIRE_MAX_FRAME", 64 << 20, "the largest length a frame may announce (a fan-out answer carries every NOTIFY of a PUBLISH)"},
}

var frameTypes = []frameType{
	{1, "Publish", "WT_PUBLISH", "worker → engine", "Answer"},
	{2, "Subscribe", "WT_SUBSCRIBE", "worker → engine", "Answer"},
	{3, "NotifyResult", "WT_NOTIFY_RESULT", "worker → engine (tm callback)", "none"},
	{4, "RPC", "WT_RPC", "ctl process → engine (kamcmd presence.*)", "Answer"},
	{10, "Answer", "WT_ANSWER", "engine → worker", "-"},
	{20, "Log", "WT_LOG", "engine Go → engine C thread", "none"},
	{21, "EngineNotify", "WT_ENGINE_NOTIFY", "engine Go → engine C thread (NOTIFYs caused by time)", "none"},
}

var tagGroups = []tagGroup{
	{"request", "request fields (Publish, Subscribe)", []tag{
		{1, "RURI", "WF_RURI", "Request-URI"},
		{2, "FromURI", "WF_FROM_URI", "From URI"},
		{3, "FromTag", "WF_FROM_TAG", "From tag"},
		{4, "ToURI", "WF_TO_URI", "To URI"},
		{5, "ToTag", "WF_TO_TAG", "To tag of the request (absent: initial request)"},
		{6, "CallID", "WF_CALLID", "Call-ID"},
		{7, "CSeq", "WF_CSEQ", "CSeq number"},
		{8, "Event", "WF_EVENT", "Event header value (absent: no header)"},
		{9, "Expires", "WF_EXPIRES", "Expires header value (absent: no header)"},
		{10, "IfMatch", "WF_IF_MATCH", "SIP-If-Match header value (absent: no header)"},
		{11, "ContentType", "WF_CONTENT_TYPE", "Content-Type header value"},
		{12, "Body", "WF_BODY", "message body"},
		{13, "Contact", "WF_CONTACT", "URI of the first Contact"},
		{14, "RecordRoute", "WF_RECORD_ROUTE", `Record-Route header bodies, joined with "," in received order`},
		{15, "Socket", "WF_SOCKET", "receiving socket `proto:ip:port` (e.g. `udp:127.0.0.1:5060`)"},
		{16, "Source", "WF_SOURCE", "source `ip:port` (`[ip6]:port`)"},
		{17, "UserAgent", "WF_USER_AGENT", "User-Agent value"},
		{18, "ScriptParam", "WF_SCRIPT_PARAM", "the script function's parameter (sender URI / watcher URI)"},
		{19, "Duplicate", "WF_DUPLICATE", "name of a single-valued header that occurs more than once (engine answers 400)"},
		{20, "Advertised", "WF_ADVERTISED", "`proto:host:port` the socket advertises (for the local Contact)"},
		{21, "BadHeader", "WF_BAD_HEADER", "name of a header Kamailio could not parse (engine answers 400)"},
		{22, "ContentLength", "WF_CONTENT_LENGTH", `"1" if the request has a Content-Length header`},
		{23, "ContactCount", "WF_CONTACT_COUNT", `number of Contact URIs ("*" for a star contact)`},
		{24, "Deadline", "WF_DEADLINE", "unix time in ms when the worker stops waiting (it then answers 500): the engine applies nothing after it"},
		{25, "AuthStatus", "WF_AUTH_STATUS", "initial SUBSCRIBE of an event whose C module authorizes watchers (req_auth): the status its rules gave (1 active, 2 pending, 3 terminated, 4 waiting; polite-block is 1 with that reason); the engine refuses any other"},
		{26, "AuthReason", "WF_AUTH_REASON", "with AuthStatus: the reason its rules gave (e.g. rejected), if any"},
		{27, "SetETag", "WF_SET_ETAG", "update_presentity (bind_presence): the entity-tag the calling module names the publication with; the one holding it is replaced, else it is created"},
		{28, "Priority", "WF_PRIORITY", "PUBLISH: the publication's priority the script set (`$xavp(<xavp_cfg>=>priority)`), instead of seconds since 2015-01-01"},
	}},
	{"answer", "answer fields", []tag{
		{40, "Code", "WF_CODE", "reply status code"},
		{41, "Reason", "WF_REASON", "reason phrase"},
		{42, "Headers", "WF_HEADERS", "extra reply headers, each line ending in CRLF"},
		{43, "Error", "WF_ERROR", "engine-side error text (logged by the worker)"},
		{44, "ToTagOut", "WF_TO_TAG_OUT", "the To tag the reply must carry (initial SUBSCRIBE: the engine names the dialog)"},
	}},
	{"notify", "NOTIFY fields (Answer, EngineNotify; NotifyResult reuses the dialog's)", []tag{
		{50, "NotifyBegin", "WF_NOTIFY_BEGIN", "empty; starts a NOTIFY"},
		{51, "NCallID", "WF_N_CALLID", "Call-ID"},
		{52, "NLocalTag", "WF_N_LOCAL_TAG", "our tag (the SUBSCRIBE's To tag)"},
		{53, "NRemoteTag", "WF_N_REMOTE_TAG", "the subscriber's tag (the SUBSCRIBE's From tag)"},
		{54, "NLocalURI", "WF_N_LOCAL_URI", "NOTIFY From URI"},
		{55, "NRemoteURI", "WF_N_REMOTE_URI", "NOTIFY To URI"},
		{56, "NTarget", "WF_N_TARGET", "NOTIFY Request-URI (the subscriber's Contact)"},
		{57, "NRouteSet", "WF_N_ROUTE_SET", "Record-Route of the SUBSCRIBE (becomes the route set)"},
		{58, "NSocket", "WF_N_SOCKET", "socket to send from, `proto:ip:port`"},
		{59, "NCSeq", "WF_N_CSEQ", "the CSeq the NOTIFY carries on the wire (the C side hands tm NCSeq-1: tm increments before sending)"},
		{60, "NHeaders", "WF_N_HEADERS", "NOTIFY headers, each line ending in CRLF"},
		{61, "NBody", "WF_N_BODY", "NOTIFY body (absent: none)"},
		{62, "NEvent", "WF_N_EVENT", "event name (for the log line)"},
		{63, "NDst", "WF_N_DST", "where to send instead of the target (the subscriber's own TCP/TLS/WS connection)"},
		{64, "NBodyParts", "WF_N_BODY_PARTS", "instead of NBody, for an event whose C module aggregates (agg_nbody): the stored bodies as NBodyPart fields, oldest first, and NOffIndex"},
		{65, "NContentType", "WF_N_CONTENT_TYPE", "for an event a C module registered: the Content-Type the C side adds to NHeaders when the final body is not absent"},
		{66, "NPresURI", "WF_N_PRES_URI", "for an event a C module registered: the presentity URI (agg_nbody's user and domain)"},
		{67, "NVersion", "WF_N_VERSION", "for an event a C module registered: the subscription's NOTIFY count, this one included (aux_body_processing's subs->version)"},
	}},
	{"body-parts", "fields inside NBodyParts", []tag{
		{68, "NBodyPart", "WF_N_BODY_PART", "one stored body (repeated, oldest first)"},
		{69, "NOffIndex", "WF_N_OFF_INDEX", "index among the NBodyPart fields of the publication being removed (agg_nbody's off_index; absent: none)"},
	}},
	{"notify-result", "NotifyResult fields (besides NCallID, NLocalTag, NRemoteTag, NCSeq)", []tag{
		{70, "ReplyCode", "WF_REPLY_CODE", "final reply code of the NOTIFY (408 for a tm timeout)"},
		{71, "DeleteSubscription", "WF_DELETE_SUBSCRIPTION", `"1": event_route[presence:notify-reply] set $xavp(<xavp_cfg>=>delete_subscription): the subscription ends whatever the code`},
	}},
	{"subs", "subscription fields, $subs(attr) (tag = SubsBegin + stock's attribute number, subscribe.c:747-775): after SubsBegin in a SUBSCRIBE's Answer; inside a NOTIFY group without the ones its N fields carry (event, to_tag, from_tag, callid, record_route, sockinfo)", []tag{
		{100, "SubsBegin", "WF_SUBS_BEGIN", "empty; starts the subscription of a SUBSCRIBE's Answer"},
		{101, "SPresURI", "WF_S_PRES_URI", "presentity URI (`uri`, `pres_uri`)"},
		{102, "SToUser", "WF_S_TO_USER", "SUBSCRIBE To user"},
		{103, "SToDomain", "WF_S_TO_DOMAIN", "SUBSCRIBE To domain"},
		{104, "SFromUser", "WF_S_FROM_USER", "SUBSCRIBE From user"},
		{105, "SFromDomain", "WF_S_FROM_DOMAIN", "SUBSCRIBE From domain"},
		{106, "SWatcherUser", "WF_S_WATCHER_USER", "watcher user (`watcher_username`)"},
		{107, "SWatcherDomain", "WF_S_WATCHER_DOMAIN", "watcher domain"},
		{108, "SEvent", "WF_S_EVENT", "event name"},
		{109, "SEventID", "WF_S_EVENT_ID", "Event id parameter"},
		{110, "SToTag", "WF_S_TO_TAG", "our tag"},
		{111, "SFromTag", "WF_S_FROM_TAG", "the subscriber's tag"},
		{112, "SCallID", "WF_S_CALLID", "Call-ID"},
		{113, "SRemoteCSeq", "WF_S_REMOTE_CSEQ", "the subscriber's CSeq"},
		{114, "SLocalCSeq", "WF_S_LOCAL_CSEQ", "the last CSeq sent before (stock's subs_t: tm adds one)"},

		{115, "SContact", "WF_S_CONTACT", "the subscriber's Contact"},
		{116, "SLocalContact", "WF_S_LOCAL_CONTACT", "our Contact"},
		{117, "SRecordRoute", "WF_S_RECORD_ROUTE", "the route set"},
		{118, "SExpires", "WF_S_EXPIRES", "seconds left (0 once terminated)"},
		{119, "SStatus", "WF_S_STATUS", "1 active, 2 pending, 3 terminated, 4 waiting"},
		{120, "SReason", "WF_S_REASON", "Subscription-State reason"},
		{121, "SVersion", "WF_S_VERSION", "the number of the NOTIFY being sent (in a NOTIFY group) or of the next one (in an Answer)"},
		{122, "SFlags", "WF_S_FLAGS", "the active_watchers flags column"},
		{123, "SUserAgent", "WF_S_USER_AGENT", "the subscriber's User-Agent"},
		{124, "SSockInfo", "WF_S_SOCKINFO", "our socket `proto:ip:port`"},
	}},
	{"log", "Log fields", []tag{
		{80, "Level", "WF_LEVEL", `"crit", "err", "warn", "notice", "info" or "dbg"`},
		{81, "Message", "WF_MESSAGE", "the log line"},
	}},
	{"rpc", "RPC fields (request and answer)", []tag{
		{90, "RPCCommand", "WF_RPC_COMMAND", "the command's name after `presence.`"},
		{91, "RPCArg", "WF_RPC_ARG", "one argument (repeated, in order)"},
		{92, "RPCRow", "WF_RPC_ROW", "empty; starts a result row of the Answer"},
		{93, "RPCStr", "WF_RPC_STR", "a string member of the row, `name=value`"},
		{94, "RPCInt", "WF_RPC_INT", "an integer member of the row, `name=value`"},
	}},
}
