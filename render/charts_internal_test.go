package render

import "testing"

// TestAuthStatusIsNotAPortOrAPath: a refusal hint names credentials only for an HTTP 401 or
// 403, never for the same digits in a port or a path (a repository on port 34403 that is down
// is unreachable, not a credentials problem).
func TestAuthStatusIsNotAPortOrAPath(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		want      bool
	}{
		{"helm getter 401", "failed to fetch http://127.0.0.1:8080/private/index.yaml : 401 Unauthorized", true},
		{"registry 403", "unexpected status code 403: denied", true},
		{"status at the start", "401 Unauthorized", true},
		{"refused on a port with 403 in it", `Get "http://127.0.0.1:34403/public/index.yaml": dial tcp 127.0.0.1:34403: connect: connection refused`, false},
		{"refused on port 401", `dial tcp 127.0.0.1:401: connect: connection refused`, false},
		{"a path segment", "failed to fetch http://h/charts/401/index.yaml : 404 Not Found", false},
		{"a longer number", "read 14030 bytes", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := authStatusRE.MatchString(tc.msg); got != tc.want {
				t.Errorf("authStatusRE.MatchString(%q) = %v, want %v", tc.msg, got, tc.want)
			}
		})
	}
}
