package shard

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{in: ""},
		{in: "0/2", want: Shard{0, 2}},
		{in: "2/3", want: Shard{2, 3}},
		{in: "gitops-autoscaler-0/3", want: Shard{0, 3}},
		{in: "acme-gitops-autoscaler-12/16", want: Shard{12, 16}},
		{in: "3/3", wantErr: "want i/n with 0 ≤ i < n"},
		{in: "-1/3", wantErr: "want i/n with 0 ≤ i < n"},
		{in: "1", wantErr: "want i/n"},
		{in: "a/b", wantErr: "want i/n"},
		{in: "0/0", wantErr: "want i/n"},
		{in: "gitops-autoscaler-3/3", wantErr: "pod gitops-autoscaler-3 has ordinal 3, but there are 3 shards (0 to 2)"},
		{in: "gitops-autoscaler/3", wantErr: `pod name "gitops-autoscaler" does not end in -<ordinal>`},
		{in: "gitops-autoscaler-01/3", wantErr: "does not end in -<ordinal>"},
		{in: "$(POD_NAME)/3", wantErr: `"$(POD_NAME)" is neither a number nor a StatefulSet pod name`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestOwnsSplitsWithoutOverlap(t *testing.T) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("team-%d/service-%d", i%17, i)
	}
	for _, n := range []int{0, 1, 3, 7} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			shards := max(n, 1)
			sizes := make([]int, shards)
			for _, id := range ids {
				owners := 0
				for i := range shards {
					if (Shard{Index: i, Count: n}).Owns(id) {
						owners++
						sizes[i]++
					}
				}
				assert.Equal(t, 1, owners, "%s must belong to exactly one shard", id)
			}
			for i, size := range sizes {
				assert.Greater(t, size, len(ids)/shards/2, "shard %d of %d is badly unbalanced: %v", i, shards, sizes)
			}
		})
	}
}

// TestOwnsIsStable pins the hash: changing it would move every policy to another shard on
// upgrade, and two releases side by side would disagree.
func TestOwnsIsStable(t *testing.T) {
	var owners []int
	for _, id := range []string{"prod/web", "prod/worker", "laravel-demo/laravel-web", "a"} {
		for i := range 5 {
			if (Shard{Index: i, Count: 5}).Owns(id) {
				owners = append(owners, i)
			}
		}
	}
	assert.Equal(t, []int{1, 4, 1, 0}, owners)
}

func TestString(t *testing.T) {
	assert.Equal(t, "", Shard{}.String())
	assert.Equal(t, "", Shard{0, 1}.String())
	assert.Equal(t, "1/3", Shard{1, 3}.String())
}
