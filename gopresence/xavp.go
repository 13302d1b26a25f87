package gopresence

import (
	"strconv"

	"github.com/gopresence/gopresence/gopresence/wire"
)

// priorityOf is a publication's priority: the one the script set in $xavp(<xavp_cfg>=>priority)
// (the C side hands it over), else seconds since PRES_PRIORITY_TBASE, so newer is higher
// (stock presentity.c new_presentity).
func priorityOf(f *wire.Frame, now int64) int64 {
	if v, ok := f.Get(wire.Priority); ok {
		if p, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return p
		}
	}
	return now - pidPriorityBase
}
