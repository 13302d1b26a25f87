package gopresence

import (
	"io"
	"syscall"
	"unsafe"
)

// rawReader and rawWriter do a worker connection's read(2) and write(2) with RawSyscall, still
// waiting for readiness through Go's netpoller (syscall.RawConn). Why: every ordinary syscall
// enters the runtime's syscall state, and the first one after the engine was idle wakes the
// runtime's monitor thread (sysmon) out of its deep sleep into a millisecond of 20 µs naps —
// about fifty wake-ups per request at low rates, a fifth of the engine's CPU in perf. A read
// or write on a non-blocking socket never blocks, so it needs none of that bookkeeping.
type rawReader struct{ rc syscall.RawConn }

func (r rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n uintptr
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN // EAGAIN: wait for readiness, then again
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, errno
	case n == 0:
		return 0, io.EOF
	}
	return int(n), nil
}

type rawWriter struct{ rc syscall.RawConn }

func (w rawWriter) Write(p []byte) (int, error) {
	done := 0
	var errno syscall.Errno
	err := w.rc.Write(func(fd uintptr) bool {
		for done < len(p) {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[done])), uintptr(len(p)-done))
			switch e {
			case 0:
				done += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // socket buffer full: wait until writable
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err == nil && errno != 0 {
		err = errno
	}
	return done, err
}
