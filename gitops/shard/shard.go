package shard

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is part Index of Count (0 ≤ Index < Count). The zero Shard, like any of Count 1, owns
// every policy.
type Shard struct {
	Index, Count int
}

// Parse reads "i/n": i of n, 0-based. i may also be the name of a StatefulSet pod, whose
// ordinal is the number after its last "-" — the chart passes --shard=$(POD_NAME)/n, so that
// pod gitops-autoscaler-2 of three takes shard 2/3. Empty means one shard, which owns all.
func Parse(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(b)
	if !ok || err != nil || n < 1 {
		return Shard{}, fmt.Errorf("--shard %q: want i/n with 0 ≤ i < n, e.g. 0/3, or a StatefulSet pod name for i, e.g. gitops-autoscaler-0/3", s)
	}
	i, err := strconv.Atoi(a)
	if err != nil {
		dash := strings.LastIndexByte(a, '-')
		if dash < 0 {
			return Shard{}, fmt.Errorf("--shard %q: %q is neither a number nor a StatefulSet pod name ending in -<ordinal>", s, a)
		}
		if i, err = strconv.Atoi(a[dash+1:]); err != nil || a[dash+1:] != strconv.Itoa(i) {
			return Shard{}, fmt.Errorf("--shard %q: pod name %q does not end in -<ordinal>", s, a)
		}
		if i >= n {
			return Shard{}, fmt.Errorf("--shard %q: pod %s has ordinal %d, but there are %d shards (0 to %d): n must be the StatefulSet's replicas", s, a, i, n, n-1)
		}
	}
	if i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q: want i/n with 0 ≤ i < n, e.g. 0/3", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Owns reports whether the policy with this ID falls to the shard: FNV-1a of the ID, modulo
// Count. The same ID falls to the same shard in every process and every release.
func (s Shard) Owns(id string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// String is "i/n", or "" for a single shard.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
