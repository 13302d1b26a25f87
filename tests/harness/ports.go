package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
)

// Ports come from a range below the kernel's ephemeral one (ip_local_port_range, 32768 and up
// by default), handed out once per process: a port probed free with port 0 and then released
// could be given by the kernel to another socket (a parallel test's, SIPp's) before Kamailio or
// SIPp binds it. The start depends on the pid, so that two processes running at once (the
// suite and the bench, two engineers' suites) begin far apart.
const (
	portRangeLow  = 20000
	portRangeHigh = 32000
)

var nextPort atomic.Int32

func init() { nextPort.Store(int32(portRangeLow + (os.Getpid()%600)*20)) }

// FreePort returns a port of the range, on 127.0.0.1, that is free for UDP now (and for TCP
// too when tcp is set) and that this process has not handed out before.
func FreePort(tcp bool) (int, error) {
	for i := 0; i < portRangeHigh-portRangeLow; i++ {
		port := int(nextPort.Add(1)-1-portRangeLow)%(portRangeHigh-portRangeLow) + portRangeLow
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		c.Close()
		if tcp {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				continue
			}
			l.Close()
		}
		return port, nil
	}
	return 0, errors.New("no free port in 20000-32000")
}
