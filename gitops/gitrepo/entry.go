package gitrepo

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Tree entry names are untrusted input (docs/design.md §6, "Git content is untrusted"): a
// remote that checks nothing accepts, and a malicious one serves, a tree whose entries are
// named "..", "a/../b", ".git" or nothing at all. The checkout refuses such a tree before it
// writes or removes anything, by the rules of Git's own fsck and verify_path (read-cache.c):
// the names it refuses are those no Git client checks out.

// BadEntryError is a tree entry refused by checkEntryName: the repository's tree is not
// checked out, and the repository's cycle fails with this error.
type BadEntryError struct {
	// Path is the entry's path in the tree, its last element the refused name.
	Path string
	// Reason says which rule refused it.
	Reason string
}

func (e *BadEntryError) Error() string {
	return fmt.Sprintf("tree entry %s: %s — Git's fsck refuses such an entry and so does the checkout; remove it from the branch",
		strconv.Quote(e.Path), e.Reason)
}

// checkEntryName refuses a tree entry name that Git refuses to check out: empty, "." or "..",
// holding a slash or NUL, ".git" in any letter case and its NTFS ("git~1", ".git.", ".git ")
// and HFS+ (ignorable code points) spellings, and a .gitmodules that is a symlink. A mode Git
// does not write is refused too.
func checkEntryName(name string, mode filemode.FileMode) string {
	switch {
	case name == "":
		return "an empty name"
	case name == "." || name == "..":
		return "a name that is . or .."
	case strings.IndexByte(name, '/') >= 0:
		return "a name holding a slash"
	case strings.IndexByte(name, 0) >= 0:
		return "a name holding a NUL byte"
	case isDotGit(name):
		return "a name that is .git (in some spelling)"
	}
	switch mode {
	case filemode.Regular, filemode.Executable, filemode.Deprecated, filemode.Dir, filemode.Submodule:
	case filemode.Symlink:
		if isDotGitmodules(name) {
			return "a .gitmodules that is a symlink"
		}
	default:
		return fmt.Sprintf("mode %o, which Git does not write", uint32(mode))
	}
	return ""
}

// isDotGit is Git's is_hfs_dotgit and is_ntfs_dotgit together: ".git" in any letter case,
// followed by nothing but dots and spaces (NTFS drops them) or an alternate data stream,
// "git~1" (its 8.3 short name), or ".git" with code points HFS+ ignores mixed in.
func isDotGit(name string) bool {
	if name[0] != '.' && name[0] != 'g' && name[0] != 'G' && name[0] < 0x80 {
		return false
	}
	return ntfsName(name, ".git", "git~1") || strings.EqualFold(hfsFold(name), ".git")
}

// isDotGitmodules is isDotGit for .gitmodules (short name "gitmod~1").
func isDotGitmodules(name string) bool {
	return ntfsName(name, ".gitmodules", "gitmod~1") || strings.EqualFold(hfsFold(name), ".gitmodules")
}

// ntfsName reports whether name is long or short in any letter case, as NTFS reads it:
// trailing dots and spaces dropped, an alternate data stream (":…") ignored.
func ntfsName(name, long, short string) bool {
	for _, want := range []string{long, short} {
		if len(name) < len(want) || !strings.EqualFold(name[:len(want)], want) {
			continue
		}
		rest := name[len(want):]
		if stream := strings.IndexByte(rest, ':'); stream >= 0 {
			rest = rest[:stream]
		}
		if strings.Trim(rest, ". ") == "" {
			return true
		}
	}
	return false
}

// hfsFold drops the code points HFS+ ignores in a name (Git's next_hfs_char). A name of
// plain ASCII is returned as it is.
func hfsFold(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0x200c && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x206a && r <= 0x206f, r == 0xfeff:
			return -1
		}
		return r
	}, name)
}

// checkEntries checks the entries of one tree at prefix (a directory path with its trailing
// slash, or ""): each name, and that no name appears twice — a tree holding both a symlink
// and a directory named "a" would have the checkout write a/x through the link.
func checkEntries(prefix string, entries []object.TreeEntry) error {
	seen := make(map[string]struct{}, len(entries))
	for _, e := range entries {
		if why := checkEntryName(e.Name, e.Mode); why != "" {
			return &BadEntryError{Path: prefix + e.Name, Reason: why}
		}
		if _, dup := seen[e.Name]; dup {
			return &BadEntryError{Path: prefix + e.Name, Reason: "a name the tree holds twice"}
		}
		seen[e.Name] = struct{}{}
	}
	return nil
}
