package gitobj

// Git's delta format: a copy instruction takes up to 4 offset and 3 size bytes, an insert
// instruction carries up to 127 literal bytes.
const (
	maxDeltaCopy   = 0xffff
	maxDeltaInsert = 0x7f
)

// SpliceDelta is a Git delta that makes tgt from src by keeping their common prefix and
// suffix and inserting what lies between. One decision changes one value of a file and one
// entry of each directory above it, so that is the whole change, found without the hash
// index a general delta search builds.
func SpliceDelta(src, tgt []byte) []byte {
	pre := 0
	for pre < len(src) && pre < len(tgt) && src[pre] == tgt[pre] {
		pre++
	}
	suf := 0
	for suf < len(src)-pre && suf < len(tgt)-pre && src[len(src)-1-suf] == tgt[len(tgt)-1-suf] {
		suf++
	}
	out := appendDeltaSize(nil, len(src))
	out = appendDeltaSize(out, len(tgt))
	out = appendDeltaCopy(out, 0, pre)
	for mid := tgt[pre : len(tgt)-suf]; len(mid) > 0; {
		n := min(len(mid), maxDeltaInsert)
		out = append(out, byte(n))
		out = append(out, mid[:n]...)
		mid = mid[n:]
	}
	return appendDeltaCopy(out, len(src)-suf, suf)
}

// ReplaceDelta is the Git delta that overwrites len(with) bytes at off of an object of size
// bytes, keeping its size: a directory one of whose entries now names another object.
func ReplaceDelta(size, off int, with []byte) []byte {
	out := appendDeltaSize(nil, size)
	out = appendDeltaSize(out, size)
	out = appendDeltaCopy(out, 0, off)
	out = append(out, byte(len(with)))
	out = append(out, with...)
	return appendDeltaCopy(out, off+len(with), size-off-len(with))
}

func appendDeltaSize(out []byte, n int) []byte {
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(out, byte(n))
}

func appendDeltaCopy(out []byte, off, n int) []byte {
	for n > 0 {
		size := min(n, maxDeltaCopy)
		cmd := byte(0x80)
		var args []byte
		for i := range 4 {
			if b := byte(off >> (8 * i)); b != 0 {
				cmd |= 1 << i
				args = append(args, b)
			}
		}
		for i := range 3 {
			if b := byte(size >> (8 * i)); b != 0 {
				cmd |= 0x10 << i
				args = append(args, b)
			}
		}
		out = append(append(out, cmd), args...)
		off += size
		n -= size
	}
	return out
}
