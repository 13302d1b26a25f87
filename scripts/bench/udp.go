package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// socketDrops is the number of datagrams the kernel dropped for the UDP socket bound to
// 127.0.0.1:port because its receive buffer was full (/proc/net/udp "drops"), -1 if not found.
func socketDrops(port int) int64 {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return -1
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 13 && f[1] == want {
			v, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			return v
		}
	}
	return -1
}
