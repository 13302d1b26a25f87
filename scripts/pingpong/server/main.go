// The physical floor of one worker → engine round trip (scripts/pingpong/run): the engine's
// socket loop (gopresence.Server: raw reads under the netpoller, bufio, Go's scheduler) with no
// engine behind it, every request answered 503 by the loop itself, on the unix socket os.Args[1].
// Prints its pid and serves until killed.
package main

import (
	"fmt"
	"net"
	"os"

	"github.com/gopresence/gopresence/gopresence"
)

func main() {
	os.Remove(os.Args[1])
	ln, err := net.Listen("unix", os.Args[1])
	if err != nil {
		panic(err)
	}
	fmt.Println(os.Getpid())
	gopresence.NewServer(nil, ln, nil).Serve()
}
