package gitname

// Short is the abbreviated form of a commit hash that every message, log line, pull
// request and the CLI's tables show: its first 12 hex digits, or the whole of a shorter one.
func Short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
