package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
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
}

type sipMsg struct {
	code    int // 0 for a request
	reason  string
	method  string
	headers map[string]string // lower-case name → first value
	raw     string
}

func newSIPClient(kamPort int) (*sipClient, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
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
		raw := string(buf[:n])
		m, ok := parseSIP(raw)
		if !ok {
			continue
		}
		if m.code == 0 {
			if m.method == "NOTIFY" {
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
	key := callID + " " + cseq
	ch := make(chan sipMsg, 1)
	c.mu.Lock()
	c.wait[key] = ch
	c.mu.Unlock()
	defer func() { c.mu.Lock(); delete(c.wait, key); c.mu.Unlock() }()
	deadline := time.After(within)
	for {
		if _, err := c.conn.WriteToUDP([]byte(req), c.dst); err != nil {
			return sipMsg{}, err
		}
		select {
		case m := <-ch:
			return m, nil
		case <-deadline:
			return sipMsg{}, fmt.Errorf("no final response within %v", within)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func branch() string { return fmt.Sprintf("z9hG4bK-bench-%d", time.Now().UnixNano()) }

// dialog is a subscription the client holds.
type dialog struct {
	callID, fromTag, toTag, target, presentity string
	cseq                                       int
}

// subscribe creates a subscription dialog to presentity (sip:user@127.0.0.1).
func (c *sipClient) subscribe(presentity string, expires int, within time.Duration) (*dialog, sipMsg, error) {
	d := &dialog{callID: fmt.Sprintf("bench-probe-%d@127.0.0.1", time.Now().UnixNano()),
		fromTag: "benchprobe", presentity: presentity, target: presentity, cseq: 1}
	m, err := c.sendSubscribe(d, expires, within)
	if err != nil {
		return nil, m, err
	}
	if m.code/100 != 2 {
		return nil, m, fmt.Errorf("SUBSCRIBE answered %d %s", m.code, m.reason)
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
		return nil, m, fmt.Errorf("SUBSCRIBE 2xx without a To tag")
	}
	return d, m, nil
}

// refresh sends an in-dialog SUBSCRIBE (a new CSeq each time) and returns its final response.
func (c *sipClient) refresh(d *dialog, expires int, within time.Duration) (sipMsg, error) {
	d.cseq++
	return c.sendSubscribe(d, expires, within)
}

func (c *sipClient) sendSubscribe(d *dialog, expires int, within time.Duration) (sipMsg, error) {
	to := "<" + d.presentity + ">"
	if d.toTag != "" {
		to += ";tag=" + d.toTag
	}
	cseq := fmt.Sprintf("%d SUBSCRIBE", d.cseq)
	req := fmt.Sprintf("SUBSCRIBE %s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n"+
		"Contact: <sip:probe@127.0.0.1:%d>\r\nEvent: presence\r\nAccept: application/pidf+xml\r\n"+
		"Expires: %d\r\nContent-Length: 0\r\n\r\n",
		d.target, c.port, branch(), d.fromTag, to, d.callID, cseq, c.port, expires)
	return c.request(req, d.callID, cseq, within)
}

func (c *sipClient) notifies() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notify
}
