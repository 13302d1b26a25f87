package gopresence

// coreCaseHash is Kamailio's core_case_hash(s1, s2, 0) (src/core/hashes.h), which stock's
// presence.presentity_list shows as a publication's hashid (hash.c ps_ptable_hash of user and
// domain). Bytes are C chars: signed, as on the x86 and arm64 Linux builds Debian ships.
func coreCaseHash(s1, s2 string) uint32 {
	var h uint32
	word := func(s string) {
		icase := func(c byte) uint32 {
			if c >= 'A' && c <= 'Z' {
				c |= 0x20
			}
			return uint32(int32(int8(c)))
		}
		p := 0
		for ; p+4 <= len(s); p += 4 {
			v := icase(s[p])<<24 + icase(s[p+1])<<16 + icase(s[p+2])<<8 + icase(s[p+3])
			h += v ^ (v >> 3)
		}
		var v uint32
		for ; p < len(s); p++ {
			v <<= 8
			v += icase(s[p])
		}
		h += v ^ (v >> 3)
	}
	word(s1)
	word(s2)
	return (h + (h >> 11)) + ((h >> 13) + (h >> 23))
}
