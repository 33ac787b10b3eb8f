package optimum

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLagrangePackedAgreesWithPairs: the packed objective (one integer for the objective and
// the changes) and the pair of integers it stands for give the same schedule point, for every
// change cost the hull bisects with. Problems too large to pack take the pairs' path, so both
// must be right.
func TestLagrangePackedAgreesWithPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		n := 1 + rng.IntN(300)
		p := &Problem{Need: make([]int, n), Min: make([]int, n), Max: make([]int, n), Initial: rng.IntN(20)}
		for s := range n {
			p.Need[s], p.Min[s], p.Max[s] = rng.IntN(25), 1, 20
		}
		pl, err := compile(p)
		require.NoError(t, err)
		for range 5 {
			a, b := 1+rng.Int64N(int64(n)), rng.Int64N(int64(20*n))
			shift := uint(20)
			require.Equal(t, pl.lagrangePairs(a, b), pl.lagrangePacked(a, b, shift), "case %d: a %d b %d", i, a, b)
		}
	}
}
