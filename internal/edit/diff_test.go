package edit

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after string
		want          string
	}{
		{
			name:   "one line changed, one line of context each side",
			before: "# web\nweb:\n  replicaCount: 3\n  image: x\n",
			after:  "# web\nweb:\n  replicaCount: 6\n  image: x\n",
			want:   "--- a/v.yaml\n+++ b/v.yaml\n@@ -2,3 +2,3 @@\n web:\n-  replicaCount: 3\n+  replicaCount: 6\n   image: x\n",
		},
		{
			name:   "first line, CRLF endings trimmed",
			before: "replicas: 3\r\nx: 1\r\n",
			after:  "replicas: 10\r\nx: 1\r\n",
			want:   "--- a/v.yaml\n+++ b/v.yaml\n@@ -1,2 +1,2 @@\n-replicas: 3\n+replicas: 10\n x: 1\n",
		},
		{
			name:   "line count changed",
			before: "a: 1\n",
			after:  "a: 1\nb: 2\n",
			want:   "--- a/v.yaml\n+++ b/v.yaml\n(file changed)\n",
		},
		{
			name:   "unchanged",
			before: "a: 1\n",
			after:  "a: 1\n",
			want:   "--- a/v.yaml\n+++ b/v.yaml\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, UnifiedDiff("v.yaml", []byte(tc.before), []byte(tc.after)))
		})
	}
}
