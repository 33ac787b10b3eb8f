package policy

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
)

// Ownership between teams (docs/design.md §4): which files a policy may write. Three rules,
// each refusing the policy at its spec.replicas.file, never the others of the repository:
//
//   - by path alone, no policy writes Git's or CI's configuration (ForbiddenTarget), checked
//     with every document, since a path says it all;
//   - no policy writes a policy document or the service config: a file under the
//     repository's policy globs, or one that holds a PrometheusAutoscaler or AutoscalerConfig
//     document (set-level: it needs the repository);
//   - with owners declared, a policy writes only the files the owners entries that cover its
//     document allow (set-level too).

// ciNames are file names that configure CI, a bot or code review, in any letter case and at
// any depth: a policy never writes them. Names that begin with ".git" are refused by their
// prefix (ForbiddenTarget).
var ciNames = map[string]bool{
	"jenkinsfile":             true,
	"azure-pipelines.yml":     true,
	"azure-pipelines.yaml":    true,
	".drone.yml":              true,
	".drone.yaml":             true,
	".drone.star":             true,
	".drone.jsonnet":          true,
	"bitbucket-pipelines.yml": true,
	".travis.yml":             true,
	"appveyor.yml":            true,
	".appveyor.yml":           true,
	".cirrus.yml":             true,
	".cirrus.star":            true,
	"cloudbuild.yaml":         true,
	"cloudbuild.yml":          true,
	"cloudbuild.json":         true,
	"buildspec.yml":           true,
	"buildspec.yaml":          true,
	"codefresh.yml":           true,
	"codefresh.yaml":          true,
	".woodpecker.yml":         true,
	".woodpecker.yaml":        true,
	"wercker.yml":             true,
	".pre-commit-config.yaml": true,
	".pre-commit-hooks.yaml":  true,
	"renovate.json":           true,
	"renovate.json5":          true,
	".renovaterc":             true,
	".renovaterc.json":        true,
	"codeowners":              true,
	"owners":                  true,
	"owners_aliases":          true,
}

// ciDirs are directories whose files configure CI or a development environment, in any
// letter case and at any depth.
var ciDirs = map[string]bool{
	".circleci":        true,
	".buildkite":       true,
	".tekton":          true,
	".semaphore":       true,
	".woodpecker":      true,
	".azure-pipelines": true,
	".azuredevops":     true,
	".forgejo":         true,
	".harness":         true,
	".drone":           true,
	".husky":           true,
	".devcontainer":    true,
}

// ForbiddenTarget says why no policy may write the file at rel (a repository-relative,
// slash-separated path), by its path alone: it is Git's or CI's configuration — any element
// that begins with ".git" (.github/, .gitlab-ci.yml, .gitmodules, .gitattributes …), a CI
// file (Jenkinsfile and Jenkinsfile.*, azure-pipelines.yml, .drone.yml,
// bitbucket-pipelines.yml, .travis.yml, CODEOWNERS …) or a file under a CI directory
// (.circleci/, .buildkite/, .tekton/ …). Letter case does not matter, as on a
// case-insensitive checkout. It returns "" when the path forbids nothing.
func ForbiddenTarget(rel string) string {
	parts := strings.Split(path.Clean(strings.ReplaceAll(rel, `\`, "/")), "/")
	for i, part := range parts {
		lower := strings.ToLower(part)
		dir := i < len(parts)-1
		switch {
		case strings.HasPrefix(lower, ".git") && dir:
			return part + "/"
		case strings.HasPrefix(lower, ".git"):
			return part
		case dir && ciDirs[lower]:
			return part + "/"
		case !dir && (ciNames[lower] || strings.HasPrefix(lower, "jenkinsfile.") || strings.HasSuffix(lower, ".jenkinsfile")):
			return part
		}
	}
	return ""
}

// forbiddenTargetMsg is the message of a target ForbiddenTarget refuses.
func forbiddenTargetMsg(file, why string) string {
	return fmt.Sprintf("%s is Git or CI configuration (%s): a policy may never write it", file, why)
}

// AutoscalerKind returns the first kind of ours (PrometheusAutoscaler, AutoscalerConfig) a
// document of data declares, and its line; "" when none does. A target file that holds one is
// a policy document or the service config, which no policy may write.
func AutoscalerKind(data []byte) (kind string, line int) {
	if !bytes.Contains(data, []byte(KindPolicy)) && !bytes.Contains(data, []byte(KindConfig)) {
		return "", 0
	}
	for _, part := range strictyaml.Split(data) {
		for doc, err := range yamlnode.Documents(part.Data) {
			if err != nil {
				break // a part that does not parse: no kind can be read from it
			}
			if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
				continue
			}
			if k, l := strictyaml.ScalarField(doc.Content[0], "kind"); k == KindPolicy || k == KindConfig {
				return k, l + part.Offset
			}
		}
	}
	return "", 0
}

// ownerProblem is the problem owners find with a policy whose document is at doc (repository
// path) and that writes file ("": nothing): its document is under no entry (field metadata),
// or none of the entries that cover it allows the file (field spec.replicas.file). ok when
// they allow it, or when the repository declares no owners.
func ownerProblem(rc *svcconfig.Repository, doc, file string) (field, msg string, ok bool) {
	if rc == nil || len(rc.Owners) == 0 {
		return "", "", true
	}
	var allowed []string
	covered := false
	for i, o := range rc.Owners {
		if !svcconfig.MatchGlob(o.Policies, doc) {
			continue
		}
		covered = true
		if file == "" {
			return "", "", true
		}
		for _, g := range o.Targets {
			if svcconfig.MatchGlob(g, file) {
				return "", "", true
			}
		}
		allowed = append(allowed, fmt.Sprintf("%s (owners[%d])", strings.Join(o.Targets, ", "), i))
	}
	if !covered {
		return "metadata", fmt.Sprintf("no owners entry of repository %s covers %s: with owners declared, a policy document must be under one entry's policies",
			rc.Name, doc), false
	}
	return "spec.replicas.file", fmt.Sprintf("%s is not a target of the policies in %s: repository %s's owners let them write %s",
		file, doc, rc.Name, strings.Join(allowed, "; ")), false
}

// placeProblem says why no policy of the repository may write file because of what it is: a
// policy document, by the repository's policy globs or by a document it holds (t, when the
// file could be read), or the service config. "" when neither.
func placeProblem(rc *svcconfig.Repository, file string, t *ResolvedTarget) string {
	if rc != nil {
		for _, g := range rc.Policies {
			if svcconfig.MatchGlob(g, file) {
				return fmt.Sprintf("%s is a policy document (the repository's policies: %s): a policy may never write it", file, strings.Join(rc.Policies, ", "))
			}
		}
	}
	if t != nil && t.Kind != "" {
		article := "a"
		if t.Kind == KindConfig {
			article = "an"
		}
		return fmt.Sprintf("%s holds %s %s (line %d): a policy may never write it", file, article, t.Kind, t.KindLine)
	}
	return ""
}
