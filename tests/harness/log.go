package harness

import (
	"os"
	"strings"
)

// IsError reports whether a Kamailio log line is at ERROR, CRITICAL or BUG level, or says that
// a child process died of a signal (main.c's "child process N exited by a signal S": a crash,
// which Kamailio logs as ALERT).
func IsError(line string) bool {
	return strings.Contains(line, " ERROR: ") || strings.Contains(line, " CRITICAL: ") ||
		strings.Contains(line, " BUG: ") || strings.Contains(line, "exited by a signal")
}

// IsWarning reports whether a Kamailio log line is at WARNING level.
func IsWarning(line string) bool { return strings.Contains(line, " WARNING: ") }

// LogSize is where kamailio.log ends now: the offset for a later LogLines.
func (k *Kamailio) LogSize() int64 {
	st, err := os.Stat(k.LogPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// LogLines returns the lines kamailio.log got after offset (restarts append to the same file).
func (k *Kamailio) LogLines(offset int64) ([]string, error) {
	b, err := os.ReadFile(k.LogPath)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < offset {
		return nil, nil
	}
	return strings.Split(strings.TrimRight(string(b[offset:]), "\n"), "\n"), nil
}

// LogTail returns the last n lines of kamailio.log.
func (k *Kamailio) LogTail(n int) string {
	lines, _ := k.LogLines(0)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
