package gitname

import "testing"

func TestShortSHA(t *testing.T) {
	for _, tc := range []struct {
		name, sha, want string
	}{
		{"a full SHA-1 keeps its first 12 digits", "7cb466cdf4470d3c2e1f5a9b8c7d6e5f4a3b2c1d", "7cb466cdf447"},
		{"a SHA-256 too", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "0123456789ab"},
		{"exactly 12 is kept whole", "7cb466cdf447", "7cb466cdf447"},
		{"a shorter one is kept whole", "7cb466c", "7cb466c"},
		{"none stays none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Short(tc.sha); got != tc.want {
				t.Errorf("Short(%q) = %q, want %q", tc.sha, got, tc.want)
			}
		})
	}
}
