package harness

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Start launches Kamailio and waits until it serves, by one rule for the suite and the bench:
// OPTIONS answered 200 (WaitReady) and, for ours, the engine answering (WaitEngine). On failure
// Kamailio is stopped.
func (k *Kamailio) Start(within time.Duration) error {
	if err := k.Launch(); err != nil {
		return err
	}
	waited, err := k.WaitReady(within)
	if err == nil && k.Target == Ours {
		err = k.WaitEngine(within - waited) // one bound for both waits
	}
	if err != nil {
		k.Stop()
	}
	return err
}

// WaitReady sends OPTIONS until Kamailio answers 200 (the cfg's OPTIONS branch: a worker has
// parsed a request and replied) and returns how long that took; it fails at once when
// Kamailio exits.
func (k *Kamailio) WaitReady(within time.Duration) (time.Duration, error) {
	t0 := time.Now()
	err := k.probe("OPTIONS", "", within, func(code int) bool { return code == 200 })
	return time.Since(t0), err
}

// WaitEngine waits until our engine answers a PUBLISH of an event nobody supports (489 Bad
// Event, nothing stored) instead of 503 while it loads its state: workers answer OPTIONS before
// the engine process has opened its socket and read the DB. It first waits for the socket,
// so that no worker gives up connecting (an ERROR line) while the engine starts.
func (k *Kamailio) WaitEngine(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if socks, _ := filepath.Glob(filepath.Join(k.Dir, "gopresence.*.sock")); len(socks) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s kamailio on port %d: no engine socket in %s within %v", k.Target, k.Port, k.Dir, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return k.probe("PUBLISH", "Event: x-harness-ready\r\nExpires: 60\r\n", time.Until(deadline),
		func(code int) bool { return code >= 200 && code != 503 })
}

// probe sends method (with extra headers) every 100 ms until a final response passes ok.
func (k *Kamailio) probe(method, extra string, within time.Duration, ok func(code int) bool) error {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: k.Port}
	local := conn.LocalAddr().(*net.UDPAddr).Port
	buf := make([]byte, 4096)
	last := "no answer"
	deadline := time.Now().Add(within)
	for i := 1; time.Now().Before(deadline); i++ {
		select {
		case <-k.Exited:
			return fmt.Errorf("%s kamailio on port %d exited during start-up (%v)", k.Target, k.Port, k.Cmd.ProcessState)
		default:
		}
		req := fmt.Sprintf("%s sip:ready@127.0.0.1:%d SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-ready-%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=probe\r\nTo: <sip:ready@127.0.0.1>\r\n"+
			"Call-ID: ready-%d-%d@127.0.0.1\r\nCSeq: %d %s\r\n%sContent-Length: 0\r\n\r\n",
			method, k.Port, local, i, k.Port, time.Now().UnixNano(), i, method, extra)
		if _, err := conn.WriteTo([]byte(req), dst); err != nil {
			return err
		}
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			continue
		}
		status, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		last = status
		if rest, found := strings.CutPrefix(status, "SIP/2.0 "); found && len(rest) >= 3 {
			if code, err := strconv.Atoi(rest[:3]); err == nil && ok(code) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond) // an answer, not the one wanted: not a busy loop
	}
	return fmt.Errorf("%s kamailio on port %d: %s not answered as wanted within %v (last: %s)", k.Target, k.Port, method, within, last)
}
