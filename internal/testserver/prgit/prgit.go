package prgit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Repo is a bare repository a fake host's pull requests live in.
type Repo struct {
	dir  string
	home string
}

// New is the bare repository at dir, its git commands run with home as HOME and no system or
// global configuration.
func New(dir, home string) *Repo { return &Repo{dir: dir, home: home} }

// Home is the directory git runs with as HOME, where a caller may keep temporary index files.
func (r *Repo) Home() string { return r.home }

// Git runs git in the repository with stdin and the extra environment, isolated from the
// machine's configuration, and returns its standard output.
func (r *Repo) Git(env []string, stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "HOME="+r.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// BranchSHA is a branch's commit, "" when it does not exist.
func (r *Repo) BranchSHA(branch string) string {
	if branch == "" {
		return ""
	}
	out, err := r.Git(nil, "", "for-each-ref", "--format=%(objectname)", "refs/heads/"+branch)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// Resolve turns a branch name or commit sha into a commit sha, "" when unknown.
func (r *Repo) Resolve(ref string) string {
	if sha := r.BranchSHA(ref); sha != "" {
		return sha
	}
	out, err := r.Git(nil, "", "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// IsAncestor is whether commit a is an ancestor of b (or b itself).
func (r *Repo) IsAncestor(a, b string) bool {
	_, err := r.Git(nil, "", "merge-base", "--is-ancestor", a, b)
	return err == nil
}

// MergeTree merges head into base without a worktree and returns the tree; false on a
// conflict or an unknown commit.
func (r *Repo) MergeTree(base, head string) (string, bool) {
	if base == "" || head == "" {
		return "", false
	}
	out, err := r.Git(nil, "", "merge-tree", "--write-tree", "--no-messages", base, head)
	if err != nil {
		return "", false
	}
	tree, _, _ := strings.Cut(out, "\n")
	return strings.TrimSpace(tree), true
}
