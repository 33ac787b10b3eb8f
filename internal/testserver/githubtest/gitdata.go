package githubtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/signing"
)

// The Git Data API: blobs, trees, commits and refs made through REST, as a bot without a
// signing key makes "Verified" commits. GitHub signs a commit it creates when the request
// names no committer (the committer is then GitHub itself); the server does the same with its
// own OpenPGP key, whose public half WebFlowPublicKey gives, so that `git verify-commit`
// can check the result.

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// webFlow is the server's signing identity, GitHub's "web-flow".
type webFlow struct {
	signer *signing.OpenPGP
	public []byte
}

// webFlowKey makes the server's signing key the first time it is needed. The caller holds s.mu.
func (s *Server) webFlowKey() *webFlow {
	if s.flow != nil {
		return s.flow
	}
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return s.now().Add(-24 * time.Hour) }}
	e, err := openpgp.NewEntity("GitHub", "", "noreply@github.com", cfg)
	if err != nil {
		s.t.Fatalf("githubtest: web-flow key: %v", err)
	}
	var pub, sec bytes.Buffer
	w, _ := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		s.t.Fatalf("githubtest: web-flow key: %v", err)
	}
	_ = w.Close()
	w, _ = armor.Encode(&sec, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		s.t.Fatalf("githubtest: web-flow key: %v", err)
	}
	_ = w.Close()
	signer, err := signing.NewOpenPGP(sec.Bytes(), nil, s.now)
	if err != nil {
		s.t.Fatalf("githubtest: web-flow key: %v", err)
	}
	s.flow = &webFlow{signer: signer, public: pub.Bytes()}
	return s.flow
}

// WebFlowPublicKey is the armored public key the server signs the commits it creates with.
func (s *Server) WebFlowPublicKey() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webFlowKey().public
}

// objectType is an object's type in the repository, "" when it does not exist.
func (s *Server) objectType(sha string) string {
	if !shaRE.MatchString(sha) {
		return ""
	}
	out, err := s.bare.Git(nil, "", "cat-file", "-t", sha)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func (s *Server) createBlob(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Content  *string `json:"content"`
		Encoding string  `json:"encoding"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if in.Content == nil {
		writeValidation(w, "Blob", "content", "missing_field")
		return
	}
	data := []byte(*in.Content)
	switch in.Encoding {
	case "", "utf-8":
	case "base64":
		var err error
		if data, err = base64.StdEncoding.DecodeString(*in.Content); err != nil {
			writeValidation(w, "Blob", "content", "invalid")
			return
		}
	default:
		writeValidation(w, "Blob", "encoding", "invalid")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, err := s.bare.Git(nil, string(data), "hash-object", "-w", "--stdin")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	sha = strings.TrimSpace(sha)
	writeJSON(w, http.StatusCreated, map[string]string{"sha": sha, "url": s.URL() + "repos/" + s.owner + "/" + s.repo + "/git/blobs/" + sha})
}

type treeEntry struct {
	Path    string  `json:"path"`
	Mode    string  `json:"mode"`
	Type    string  `json:"type"`
	SHA     *string `json:"sha"`
	Content *string `json:"content"`
}

// createTree builds the tree of base_tree with the entries set: paths may be nested
// (dir/file), and a null sha deletes the entry.
func (s *Server) createTree(w http.ResponseWriter, r *http.Request) {
	var in struct {
		BaseTree string      `json:"base_tree"`
		Tree     []treeEntry `json:"tree"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.BaseTree != "" && s.objectType(in.BaseTree) != "tree" {
		writeError(w, http.StatusUnprocessableEntity, "base_tree is not a valid tree oid")
		return
	}
	// Build in a temporary index: read the base tree, apply the entries, write the tree.
	index := fmt.Sprintf("GIT_INDEX_FILE=%s/index-%d", s.bare.Home(), time.Now().UnixNano())
	env := []string{index}
	if in.BaseTree != "" {
		if _, err := s.bare.Git(env, "", "read-tree", in.BaseTree); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
	} else if _, err := s.bare.Git(env, "", "read-tree", "--empty"); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	for _, e := range in.Tree {
		switch {
		case e.Path == "" || strings.HasPrefix(e.Path, "/") || strings.HasSuffix(e.Path, "/") || strings.Contains(e.Path, "//"):
			writeValidation(w, "Tree", "path", "invalid")
			return
		case e.Mode != "100644" && e.Mode != "100755" && e.Mode != "120000" && e.Mode != "040000" && e.Mode != "160000":
			writeValidation(w, "Tree", "mode", "invalid")
			return
		case e.Type != "blob": // the autoscaler sets files only; trees and submodules are not served
			writeValidation(w, "Tree", "type", "invalid")
			return
		}
		sha := ""
		switch {
		case e.Content != nil:
			out, err := s.bare.Git(nil, *e.Content, "hash-object", "-w", "--stdin")
			if err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
			sha = strings.TrimSpace(out)
		case e.SHA != nil:
			sha = *e.SHA
			if s.objectType(sha) != "blob" {
				writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("tree.sha %s is not a valid blob", sha))
				return
			}
		default: // "sha": null deletes the path
			if _, err := s.bare.Git(env, "", "update-index", "--force-remove", "--", e.Path); err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
			continue
		}
		if _, err := s.bare.Git(env, "", "update-index", "--add", "--cacheinfo", e.Mode+","+sha+","+e.Path); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "GitRPC::BadObjectState")
			return
		}
	}
	tree, err := s.bare.Git(env, "", "write-tree")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	tree = strings.TrimSpace(tree)
	writeJSON(w, http.StatusCreated, map[string]any{"sha": tree, "url": s.URL() + "repos/" + s.owner + "/" + s.repo + "/git/trees/" + tree, "truncated": false})
}

type gitIdentity struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

// createCommit writes a commit object; without a committer, GitHub is the committer and signs
// it (verification.verified).
func (s *Server) createCommit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Message   *string      `json:"message"`
		Tree      string       `json:"tree"`
		Parents   []string     `json:"parents"`
		Author    *gitIdentity `json:"author"`
		Committer *gitIdentity `json:"committer"`
		Signature string       `json:"signature"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if in.Message == nil || in.Tree == "" {
		writeValidation(w, "Commit", "message and tree", "missing_field")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objectType(in.Tree) != "tree" {
		writeError(w, http.StatusUnprocessableEntity, "Tree SHA does not exist")
		return
	}
	for _, p := range in.Parents {
		if s.objectType(p) != "commit" {
			writeError(w, http.StatusUnprocessableEntity, "Parent SHA does not exist or is not a commit object")
			return
		}
	}
	now := s.now().UTC()
	ident := func(id *gitIdentity, def gitIdentity) (string, error) {
		if id == nil {
			id = &def
		}
		if id.Name == "" || id.Email == "" || strings.ContainsAny(id.Name+id.Email, "<>\n") {
			return "", fmt.Errorf("invalid identity")
		}
		when := now
		if id.Date != "" {
			t, err := time.Parse(time.RFC3339, id.Date)
			if err != nil {
				return "", err
			}
			when = t
		}
		return fmt.Sprintf("%s <%s> %d %s", id.Name, id.Email, when.Unix(), when.Format("-0700")), nil
	}
	committer := gitIdentity{Name: "GitHub", Email: "noreply@github.com"}
	author, err := ident(in.Author, committer)
	if err != nil {
		writeValidation(w, "Commit", "author", "invalid")
		return
	}
	comm, err := ident(in.Committer, committer)
	if err != nil {
		writeValidation(w, "Commit", "committer", "invalid")
		return
	}
	var head strings.Builder
	fmt.Fprintf(&head, "tree %s\n", in.Tree)
	for _, p := range in.Parents {
		fmt.Fprintf(&head, "parent %s\n", p)
	}
	fmt.Fprintf(&head, "author %s\ncommitter %s\n", author, comm)
	payload := head.String() + "\n" + *in.Message
	sig := in.Signature
	verified := false
	if sig == "" && in.Committer == nil {
		b, err := s.webFlowKey().signer.Sign([]byte(payload))
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		sig, verified = string(b), true
	}
	obj := payload
	if sig != "" {
		obj = head.String() + "gpgsig " + strings.ReplaceAll(strings.TrimSuffix(sig, "\n"), "\n", "\n ") + "\n\n" + *in.Message
	}
	sha, err := s.bare.Git(nil, obj, "hash-object", "-t", "commit", "-w", "--stdin")
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	sha = strings.TrimSpace(sha)
	parents := make([]map[string]string, 0, len(in.Parents))
	for _, p := range in.Parents {
		parents = append(parents, map[string]string{"sha": p})
	}
	reason := "valid"
	if !verified {
		reason = "unsigned"
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"sha": sha, "message": *in.Message, "tree": map[string]string{"sha": in.Tree}, "parents": parents,
		"url":          s.URL() + "repos/" + s.owner + "/" + s.repo + "/git/commits/" + sha,
		"verification": map[string]any{"verified": verified, "reason": reason},
	})
}

// getCommit serves GET git/commits/{sha}: the commit's tree, parents and message.
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objectType(sha) != "commit" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	out, err := s.bare.Git(nil, "", "show", "-s", "--format=%T%x00%P%x00%B", sha)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	f := strings.SplitN(out, "\x00", 3)
	parents := []map[string]string{}
	for _, p := range strings.Fields(f[1]) {
		parents = append(parents, map[string]string{"sha": p})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": sha, "tree": map[string]string{"sha": f[0]}, "parents": parents, "message": strings.TrimSuffix(f[2], "\n"),
	})
}

// createRef serves POST git/refs: a new branch.
func (s *Server) createRef(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	branch, ok := strings.CutPrefix(in.Ref, "refs/heads/")
	if !ok || branch == "" {
		writeError(w, http.StatusUnprocessableEntity, "Reference name is not valid")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objectType(in.SHA) != "commit" {
		writeError(w, http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	// An empty old value makes update-ref refuse a ref that exists.
	if _, err := s.bare.Git(nil, "", "update-ref", in.Ref, in.SHA, ""); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "Reference already exists")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ref": in.Ref, "object": map[string]string{"type": "commit", "sha": in.SHA}})
}

// updateRef serves PATCH git/refs/heads/{branch}: a fast-forward unless force is set.
func (s *Server) updateRef(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	ref := r.PathValue("ref")
	branch, ok := strings.CutPrefix(ref, "heads/")
	s.mu.Lock()
	defer s.mu.Unlock()
	old := ""
	if ok {
		old = s.bare.BranchSHA(branch)
	}
	switch {
	case old == "":
		writeError(w, http.StatusUnprocessableEntity, "Reference does not exist")
		return
	case s.objectType(in.SHA) != "commit":
		writeError(w, http.StatusUnprocessableEntity, "Object does not exist")
		return
	case !in.Force && !s.bare.IsAncestor(old, in.SHA):
		writeError(w, http.StatusUnprocessableEntity, "Update is not a fast forward")
		return
	}
	if _, err := s.bare.Git(nil, "", "update-ref", "refs/"+ref, in.SHA, old); err != nil {
		// The branch moved since it was read: as GitHub, a race is not a fast-forward.
		writeError(w, http.StatusUnprocessableEntity, "Update is not a fast forward")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ref": "refs/" + ref, "object": map[string]string{"type": "commit", "sha": in.SHA}})
}
