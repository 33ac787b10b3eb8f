package edit

import (
	"fmt"
	"strings"
)

// UnifiedDiff is a minimal unified diff of a one-scalar edit: the changed lines with one line
// of context, enough for a plan or a pull request body.
func UnifiedDiff(name string, before, after []byte) string {
	a := strings.SplitAfter(string(before), "\n")
	b := strings.SplitAfter(string(after), "\n")
	if len(a) != len(b) {
		return fmt.Sprintf("--- a/%s\n+++ b/%s\n(file changed)\n", name, name)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- a/%s\n+++ b/%s\n", name, name)
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		lo, hi := max(i-1, 0), min(i+2, len(a))
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", lo+1, hi-lo, lo+1, hi-lo)
		for j := lo; j < hi; j++ {
			if j == i {
				sb.WriteString("-" + strings.TrimRight(a[j], "\r\n") + "\n")
				sb.WriteString("+" + strings.TrimRight(b[j], "\r\n") + "\n")
				continue
			}
			sb.WriteString(" " + strings.TrimRight(a[j], "\r\n") + "\n")
		}
	}
	return sb.String()
}
