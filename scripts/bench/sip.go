package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sipClient is a minimal UDP user agent on 127.0.0.1: it sends requests to Kamailio, matches
// their final responses by Call-ID and CSeq, and answers every NOTIFY it receives with 200.
type sipClient struct {
	conn   *net.UDPConn
	port   int
	dst    *net.UDPAddr
	mu     sync.Mutex
	wait   map[string]chan sipMsg // "callid cseq method" → waiter
	notify int                    // NOTIFYs answered
	done   chan struct{}
	// onNotify, when set before the first request, sees every NOTIFY (its arrival time in
	// m.at) before it is answered; it runs on the read loop and must not block
	onNotify func(m sipMsg)
}

type sipMsg struct {
	code    int // 0 for a request
	reason  string
	method  string
	headers map[string]string // lower-case name → first value
	raw     string
	at      time.Time // when it was read from the socket
}

func newSIPClient(kamPort int) (*sipClient, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	// the BLF-shaped load sends bursts of NOTIFYs here: a small buffer would drop them
	conn.SetReadBuffer(4 << 20)
	c := &sipClient{conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port,
		dst:  &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: kamPort},
		wait: map[string]chan sipMsg{}, done: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *sipClient) close() {
	c.conn.Close()
	<-c.done
}

var compact = map[string]string{"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length"}

func parseSIP(raw string) (sipMsg, bool) {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	startLine, _, _ := strings.Cut(head, "\r\n")
	m := sipMsg{headers: map[string]string{}, raw: raw}
	first := strings.SplitN(startLine, " ", 3)
	if len(first) < 2 {
		return m, false
	}
	if strings.HasPrefix(first[0], "SIP/") {
		m.code, _ = strconv.Atoi(first[1])
		if len(first) == 3 {
			m.reason = first[2]
		}
	} else {
		m.method = first[0]
	}
	eachHeader(raw, func(name, value string) {
		if _, seen := m.headers[name]; !seen {
			m.headers[name] = value
		}
	})
	return m, true
}

// allHeaders returns every value of a header (Via may be repeated), in order.
func allHeaders(raw, name string) []string {
	var out []string
	eachHeader(raw, func(n, v string) {
		if n == name {
			out = append(out, v)
		}
	})
	return out
}

// eachHeader calls fn with every header line's full lower-case name and trimmed value, in order.
func eachHeader(raw string, fn func(name, value string)) {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		n, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n = strings.ToLower(strings.TrimSpace(n))
		if full, ok := compact[n]; ok {
			n = full
		}
		fn(n, strings.TrimSpace(v))
	}
}

func (c *sipClient) readLoop() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		at := time.Now()
		raw := string(buf[:n])
		m, ok := parseSIP(raw)
		if !ok {
			continue
		}
		m.at = at
		if m.code == 0 {
			if m.method == "NOTIFY" {
				if c.onNotify != nil {
					c.onNotify(m)
				}
				c.answer(raw, m, from)
			}
			continue
		}
		key := m.headers["call-id"] + " " + m.headers["cseq"]
		c.mu.Lock()
		ch := c.wait[key]
		c.mu.Unlock()
		if ch != nil && m.code >= 200 {
			select {
			case ch <- m:
			default:
			}
		}
	}
}

func (c *sipClient) answer(raw string, m sipMsg, to *net.UDPAddr) {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, v := range allHeaders(raw, "via") {
		b.WriteString("Via: " + v + "\r\n")
	}
	for _, h := range []string{"From", "To", "Call-ID", "CSeq"} {
		b.WriteString(h + ": " + m.headers[strings.ToLower(h)] + "\r\n")
	}
	fmt.Fprintf(&b, "Contact: <sip:probe@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n", c.port)
	c.conn.WriteToUDP([]byte(b.String()), to)
	c.mu.Lock()
	c.notify++
	c.mu.Unlock()
}

// request sends req (a full message whose Call-ID and CSeq are given) and waits for its final
// response, retransmitting every 500 ms, at most within.
func (c *sipClient) request(req, callID, cseq string, within time.Duration) (sipMsg, error) {
	m, _, err := c.requestAt(req, callID, cseq, within)
	return m, err
}

// requestAt is request that also returns when req was first written to the socket (the
// response's arrival is its at).
func (c *sipClient) requestAt(req, callID, cseq string, within time.Duration) (sipMsg, time.Time, error) {
	key := callID + " " + cseq
	ch := make(chan sipMsg, 1)
	c.mu.Lock()
	c.wait[key] = ch
	c.mu.Unlock()
	defer func() { c.mu.Lock(); delete(c.wait, key); c.mu.Unlock() }()
	deadline := time.After(within)
	var sent time.Time
	for {
		now := time.Now()
		if _, err := c.conn.WriteToUDP([]byte(req), c.dst); err != nil {
			return sipMsg{}, sent, err
		}
		if sent.IsZero() {
			sent = now
		}
		select {
		case m := <-ch:
			return m, sent, nil
		case <-deadline:
			return sipMsg{}, sent, fmt.Errorf("no final response within %v", within)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// idSeq makes Call-IDs and branches unique when many goroutines make them in the same
// nanosecond.
var idSeq atomic.Int64

func uniq() string { return fmt.Sprintf("%d-%d", time.Now().UnixNano(), idSeq.Add(1)) }

func branch() string { return "z9hG4bK-bench-" + uniq() }

// dialog is a subscription the client holds.
type dialog struct {
	callID, fromTag, toTag, target, presentity string
	cseq                                       int
	watcher                                    string // From user; "probe" unless set
	event, accept                              string // presence and PIDF unless set
}

// newDialog is a subscription not sent yet: event "" is presence.
func newDialog(watcher, presentity string, kind fanKind) *dialog {
	return &dialog{callID: "bench-" + uniq() + "@127.0.0.1", fromTag: "benchprobe", presentity: presentity,
		target: presentity, cseq: 1, watcher: watcher, event: kind.event, accept: kind.ctype}
}

// subscribe creates a subscription dialog to presentity (sip:user@127.0.0.1).
func (c *sipClient) subscribe(presentity string, expires int, within time.Duration) (*dialog, sipMsg, error) {
	d := newDialog("probe", presentity, presenceFan)
	m, _, err := c.establish(d, expires, within)
	return d, m, err
}

// establish sends d's initial SUBSCRIBE and fills in its To tag and remote target from the
// 2xx; sent is when the SUBSCRIBE was first written.
func (c *sipClient) establish(d *dialog, expires int, within time.Duration) (sipMsg, time.Time, error) {
	m, sent, err := c.sendSubscribe(d, expires, within)
	if err != nil {
		return m, sent, err
	}
	if m.code/100 != 2 {
		return m, sent, fmt.Errorf("SUBSCRIBE answered %d %s", m.code, m.reason)
	}
	if i := strings.Index(m.headers["to"], "tag="); i >= 0 {
		t := m.headers["to"][i+4:]
		if j := strings.IndexAny(t, ";> "); j >= 0 {
			t = t[:j]
		}
		d.toTag = t
	}
	if ct := m.headers["contact"]; ct != "" {
		if i, j := strings.IndexByte(ct, '<'), strings.IndexByte(ct, '>'); i >= 0 && j > i {
			d.target = ct[i+1 : j]
		}
	}
	if d.toTag == "" {
		return m, sent, fmt.Errorf("SUBSCRIBE 2xx without a To tag")
	}
	return m, sent, nil
}

// refresh sends an in-dialog SUBSCRIBE (a new CSeq each time) and returns its final response.
func (c *sipClient) refresh(d *dialog, expires int, within time.Duration) (sipMsg, error) {
	d.cseq++
	m, _, err := c.sendSubscribe(d, expires, within)
	return m, err
}

func (c *sipClient) sendSubscribe(d *dialog, expires int, within time.Duration) (sipMsg, time.Time, error) {
	to := "<" + d.presentity + ">"
	if d.toTag != "" {
		to += ";tag=" + d.toTag
	}
	cseq := fmt.Sprintf("%d SUBSCRIBE", d.cseq)
	req := fmt.Sprintf("SUBSCRIBE %s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:%s@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"+
		"Contact: <sip:%s@127.0.0.1:%d>\r\nEvent: %s\r\nAccept: %s\r\n"+
		"Expires: %d\r\nContent-Length: 0\r\n\r\n",
		d.target, c.port, branch(), d.watcher, d.fromTag, to, d.callID, cseq, d.watcher, c.port, d.event, d.accept, expires)
	return c.requestAt(req, d.callID, cseq, within)
}

func (c *sipClient) notifies() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notify
}

// publish sends a PUBLISH of body for presentity user (sip:user@127.0.0.1) with kind's event;
// etag "" is an initial PUBLISH, else a modify of that publication (SIP-If-Match). It returns
// the final response (its SIP-ETag in headers["sip-etag"]) and when the PUBLISH was first sent.
func (c *sipClient) publish(user string, kind fanKind, etag, body string, expires int, within time.Duration) (sipMsg, time.Time, error) {
	callID := "bench-pub-" + uniq() + "@127.0.0.1"
	cseq := "1 PUBLISH"
	ifMatch := ""
	if etag != "" {
		ifMatch = "SIP-If-Match: " + etag + "\r\n"
	}
	req := fmt.Sprintf("PUBLISH sip:%s@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:%s@127.0.0.1>;tag=benchpub\r\nTo: <sip:%s@127.0.0.1>\r\nCall-ID: %s\r\nCSeq: %s\r\n"+
		"Event: %s\r\nExpires: %d\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		user, c.port, branch(), user, user, callID, cseq, kind.event, expires, ifMatch, kind.ctype, len(body), body)
	return c.requestAt(req, callID, cseq, within)
}

// startWithUA starts target's Kamailio in dir and the bench's user agent on it; stop closes
// both. When either fails, the cells get "did not start" or "failed" through set (a failed
// user agent also goes into the notes, under what) and k is nil.
func startWithUA(target string, children int, dir, what string, set func(val), companions ...string) (k *kamailio, c *sipClient, stop func()) {
	k = startTargetWith(target, children, dir, conf.pkgMB, companions...)
	if k == nil {
		set(textVal("did not start"))
		return nil, nil, nil
	}
	c, err := newSIPClient(k.Port)
	if err != nil {
		k.Stop()
		b.note("%s, %s: %v", target, what, err)
		set(textVal("failed"))
		return nil, nil, nil
	}
	return k, c, func() { c.close(); k.Stop() }
}
