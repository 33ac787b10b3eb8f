package notify

import (
	"net/url"
	"path"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
)

// PushEvent is the part of GitHub's push event the controllers read: Argo CD matches
// repository.html_url (or clone_url) against its Applications' repoURL and ref against their
// target revision, and reads the changed files of commits; Flux's github Receiver checks the
// signature and the event's name.
type PushEvent struct {
	Ref        string          `json:"ref"`
	Before     string          `json:"before,omitempty"`
	After      string          `json:"after"`
	Repository EventRepository `json:"repository"`
	Pusher     EventPerson     `json:"pusher"`
	HeadCommit *EventCommit    `json:"head_commit,omitempty"`
	Commits    []EventCommit   `json:"commits"`
}

// EventRepository is the event's repository.
type EventRepository struct {
	Name          string `json:"name"`
	FullName      string `json:"full_name"`
	HTMLURL       string `json:"html_url"`
	CloneURL      string `json:"clone_url"`
	DefaultBranch string `json:"default_branch"`
}

// EventPerson names the pusher.
type EventPerson struct {
	Name string `json:"name"`
}

// EventCommit is one commit of the event; the autoscaler's commits only ever modify files.
type EventCommit struct {
	ID       string   `json:"id"`
	Added    []string `json:"added"`
	Removed  []string `json:"removed"`
	Modified []string `json:"modified"`
}

// pushEvent is p as GitHub would send it. repoURL, when set, is the repository's URL as the
// controller knows it; else the configured URL stands for it. The configured branch is named
// the default branch, so that Argo CD Applications tracking HEAD of it refresh too.
func pushEvent(p Push, repoURL string) PushEvent {
	if repoURL == "" {
		repoURL = p.Repository.URL
	}
	htmlURL, cloneURL, full := webURLs(repoURL)
	ev := PushEvent{
		Ref: "refs/heads/" + p.Repository.Branch, Before: p.Before, After: p.After,
		Repository: EventRepository{Name: path.Base(full), FullName: full, HTMLURL: htmlURL, CloneURL: cloneURL, DefaultBranch: p.Repository.Branch},
		Pusher:     EventPerson{Name: p.Pusher},
		Commits:    make([]EventCommit, 0, len(p.Commits)),
	}
	for _, c := range p.Commits {
		ev.Commits = append(ev.Commits, EventCommit{ID: c.ID, Added: []string{}, Removed: []string{}, Modified: append([]string{}, c.Files...)})
	}
	if n := len(ev.Commits); n > 0 {
		head := ev.Commits[n-1]
		ev.HeadCommit = &head
	}
	return ev
}

// webURLs are a repository URL's web form (https://host/owner/repo), its clone form (the same
// with .git) and its path (owner/repo). An scp-like SSH URL (git@host:owner/repo.git) and an
// ssh:// URL become https; any userinfo is dropped; a local path stays as it is.
func webURLs(raw string) (htmlURL, cloneURL, full string) {
	raw = strings.TrimSuffix(strings.TrimSpace(raw), "/")
	if t, _ := gitname.Classify(raw); t == gitname.SSH && !strings.Contains(raw, "://") {
		if at := strings.Index(raw, "@"); at >= 0 {
			raw = raw[at+1:]
		}
		host, p, _ := strings.Cut(raw, ":")
		raw = "https://" + host + "/" + strings.TrimPrefix(p, "/")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		full = strings.TrimSuffix(strings.TrimPrefix(raw, "file://"), ".git")
		return raw, raw, strings.TrimPrefix(full, "/")
	}
	if u.Scheme == "ssh" {
		u.Scheme = "https"
		u.Host = u.Hostname()
	}
	u.User = nil
	u.Path = strings.TrimSuffix(u.Path, ".git")
	full = strings.TrimPrefix(u.Path, "/")
	htmlURL = u.String()
	return htmlURL, htmlURL + ".git", full
}
