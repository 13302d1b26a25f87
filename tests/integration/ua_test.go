//go:build integration

package integration

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ua is a watcher of our own for tests where the NOTIFYs of one dialog come from several
// Kamailio nodes. sipp answers a request to its configured peer, not to where the request came
// from: the 200 for a NOTIFY of the node that did not take the SUBSCRIBE would reach the other
// node, which drops a reply that is not its own, and the sender would retransmit until its
// transaction times out. ua answers each NOTIFY to its source (RFC 3261 §18.2.2 for UDP).
type ua struct {
	t                *testing.T
	conn             *net.UDPConn
	port             int
	callID, fromTag  string
	toTag            string
	resource         string // the presentity's user part: sip:<resource>@127.0.0.1 (default alice)
	cseq             int
	notifies, finals chan sipMsg
}

// sipMsg is one received message: its first line, headers (by lower-case name, first value),
// body and source.
type sipMsg struct {
	first   string
	headers map[string]string
	body    string
	from    *net.UDPAddr
}

func (m sipMsg) cseq(t *testing.T) int {
	n, err := strconv.Atoi(strings.Fields(m.headers["cseq"] + " x")[0])
	if err != nil {
		t.Fatalf("no CSeq number in %q", m.headers["cseq"])
	}
	return n
}

func newUA(t *testing.T, callID string) *ua {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u := &ua{t: t, conn: c, port: c.LocalAddr().(*net.UDPAddr).Port, callID: callID,
		fromTag: "ua-" + callID, resource: "alice", notifies: make(chan sipMsg, 64), finals: make(chan sipMsg, 16)}
	t.Cleanup(func() { c.Close() })
	go u.read()
	return u
}

func (u *ua) read() {
	buf := make([]byte, 65536)
	for {
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, ok := parseSIP(string(buf[:n]), from)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(m.first, "NOTIFY "):
			u.answer(m)
			u.notifies <- m
		case strings.HasPrefix(m.first, "SIP/2.0 "):
			if code, _ := strconv.Atoi(strings.Fields(m.first)[1]); code >= 200 {
				u.finals <- m
			}
		}
	}
}

func parseSIP(raw string, from *net.UDPAddr) (sipMsg, bool) {
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	m := sipMsg{first: lines[0], headers: map[string]string{}, body: body, from: from}
	for _, l := range lines[1:] {
		name, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(name))
		if _, seen := m.headers[k]; !seen {
			m.headers[k] = strings.TrimSpace(v)
		}
	}
	return m, true
}

// answer sends 200 for a NOTIFY to where it came from.
func (u *ua) answer(m sipMsg) {
	r := "SIP/2.0 200 OK\r\nVia: " + m.headers["via"] + "\r\nFrom: " + m.headers["from"] + "\r\nTo: " +
		m.headers["to"] + "\r\nCall-ID: " + m.headers["call-id"] + "\r\nCSeq: " + m.headers["cseq"] +
		"\r\nContent-Length: 0\r\n\r\n"
	u.conn.WriteToUDP([]byte(r), m.from)
}

// subscribe sends a SUBSCRIBE for the resource (in the dialog once it has a To tag) to the
// Kamailio on port and returns its final response.
func (u *ua) subscribe(port, expires int) sipMsg {
	u.t.Helper()
	to := "<sip:" + u.resource + "@127.0.0.1>"
	if u.toTag != "" {
		to += ";tag=" + u.toTag
	}
	r, ok := u.request(port, "SUBSCRIBE", to, fmt.Sprintf("Contact: <sip:watcher@127.0.0.1:%d>\r\n"+
		"Accept: application/pidf+xml\r\nExpires: %d\r\n", u.port, expires), "", 5*time.Second)
	if !ok {
		u.t.Fatalf("no final response to SUBSCRIBE %d of %s from port %d", u.cseq, u.callID, port)
	}
	if u.toTag == "" {
		if _, tag, ok := strings.Cut(r.headers["to"], ";tag="); ok {
			u.toTag, _, _ = strings.Cut(tag, ";")
		}
	}
	return r
}

// publish sends an initial PUBLISH of a PIDF with one tuple (id and note: note) for the
// resource, Expires 600, and returns its final response; ok is false when none came within
// the wait (the node is down).
func (u *ua) publish(port int, note string, within time.Duration) (sipMsg, bool) {
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\r\n" +
		`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:` + u.resource + `@127.0.0.1">` +
		`<tuple id="` + note + `"><status><basic>open</basic></status><note>` + note + `</note></tuple></presence>`
	return u.request(port, "PUBLISH", "<sip:"+u.resource+"@127.0.0.1>",
		"Expires: 600\r\nContent-Type: application/pidf+xml\r\n", body, within)
}

// request sends one request of the UA's Call-ID (next CSeq) and waits for its final response.
func (u *ua) request(port int, method, to, headers, body string, within time.Duration) (sipMsg, bool) {
	u.t.Helper()
	u.cseq++
	req := fmt.Sprintf("%s sip:%s@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:watcher@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
		"Event: presence\r\n%sContent-Length: %d\r\n\r\n%s", method, u.resource, u.port, u.callID, u.cseq,
		u.fromTag, to, u.callID, u.cseq, method, headers, len(body), body)
	if _, err := u.conn.WriteToUDP([]byte(req), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		u.t.Fatal(err)
	}
	deadline := time.After(within)
	for {
		select {
		case r := <-u.finals:
			if r.cseq(u.t) != u.cseq { // a late answer to an earlier request
				continue
			}
			return r, true
		case <-deadline:
			return sipMsg{}, false
		}
	}
}

// notify waits for the next NOTIFY.
func (u *ua) notify(within time.Duration) sipMsg {
	u.t.Helper()
	select {
	case m := <-u.notifies:
		return m
	case <-time.After(within):
		u.t.Fatalf("%s: no NOTIFY within %v", u.callID, within)
		return sipMsg{}
	}
}

// quiet fails if a NOTIFY arrives within d.
func (u *ua) quiet(d time.Duration) {
	u.t.Helper()
	select {
	case m := <-u.notifies:
		u.t.Fatalf("%s: unexpected NOTIFY CSeq %s (%s) from port %d", u.callID, m.headers["cseq"], m.headers["subscription-state"], m.from.Port)
	case <-time.After(d):
	}
}
