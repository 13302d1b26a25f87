// Command cgo builds libgopresence.so (go build -buildmode=c-shared): the exported entry points
// the C module calls after loading Go in the engine process. Conversion at the edge only;
// everything else is package gopresence.
package main

/*
#include <string.h>
*/
import "C"

import (
	"unsafe"

	_ "github.com/gopresence/gopresence/db/mysql"  // registers mysql://
	_ "github.com/gopresence/gopresence/db/sqlite" // registers sqlite://
	"github.com/gopresence/gopresence/gopresence"
)

func main() {}

// gopresence_validate checks the configuration (db_url opens, tables and versions) for the
// module's start-up check. 0 ok; otherwise the reason is written to errbuf.
//
//export gopresence_validate
func gopresence_validate(cfg *C.char, n C.int, errbuf *C.char, errlen C.int) C.int {
	err := gopresence.ValidateText(C.GoStringN(cfg, n))
	if err == nil {
		return 0
	}
	msg := err.Error()
	if int(errlen) <= 0 {
		return -1
	}
	if len(msg) > int(errlen)-1 {
		msg = msg[:int(errlen)-1]
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(errbuf)), int(errlen))
	copy(buf, msg)
	buf[len(msg)] = 0
	return -1
}

// gopresence_start starts the engine; fd is the pipe to the engine's C thread.
// 0 ok; otherwise the reason was sent as a log frame on fd.
//
//export gopresence_start
func gopresence_start(cfg *C.char, n C.int, fd C.int) C.int {
	if err := gopresence.StartProcess(C.GoStringN(cfg, n), int(fd)); err != nil {
		return -1
	}
	return 0
}

// gopresence_stop writes back state and closes storage before the process exits.
//
//export gopresence_stop
func gopresence_stop() {
	gopresence.StopProcess()
}
