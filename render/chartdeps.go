package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/provenance"
	sigsyaml "sigs.k8s.io/yaml"
)

// A chart's dependencies that are locked in Chart.lock but not vendored in its charts/
// folder are pulled as `helm dependency build` pulls them (docs/design.md §8 "Remote charts"):
// each from the repository and at the version the lock names — a Helm repository (the
// archive checked against the index's digest) or an OCI registry — through the same cache,
// credentials and limits as a remote chart, after checking that the lock is in sync with
// Chart.yaml (its digest). The service pulls them before the render (pullDependencies); the
// worker adds them to the loaded chart from the cache (addLockedDependencies).

// lockedDeps returns the Chart.lock dependencies of a loaded chart that are not vendored and
// come from a Helm repository or an OCI registry, as chart references; where names the
// chart, for messages. A dependency from file:// (or without a repository) is left to Helm's
// own check, which asks for it to be vendored.
func lockedDeps(ch *chart.Chart, where string) ([]chartRef, error) {
	if ch.Lock == nil || len(ch.Lock.Dependencies) == 0 {
		return nil, nil
	}
	if sum, err := hashReq(ch.Metadata.Dependencies, ch.Lock.Dependencies); err != nil || sum != ch.Lock.Digest {
		return nil, fmt.Errorf("%s: Chart.lock is out of sync with the dependencies of Chart.yaml (its digest %s is not theirs): run `helm dependency update` and commit the lock", where, ch.Lock.Digest)
	}
	vendored := map[string]bool{}
	for _, sub := range ch.Dependencies() {
		vendored[sub.Name()] = true
	}
	var refs []chartRef
	for i, d := range ch.Lock.Dependencies {
		if d == nil || vendored[d.Name] {
			continue
		}
		repo := d.Repository
		field := fmt.Sprintf("dependencies[%d]", i)
		switch {
		case repo == "" || strings.HasPrefix(repo, "file://"):
			continue
		case strings.HasPrefix(repo, "@") || strings.HasPrefix(repo, "alias:"):
			return nil, fmt.Errorf("%s: Chart.lock %s: %s names a repository by a local alias (%s); write its URL, as nothing but the lock is read", where, field, d.Name, repo)
		case strings.ContainsAny(d.Name, "/\\") || d.Name == "." || d.Name == "..":
			return nil, fmt.Errorf("%s: Chart.lock %s: must be a chart's name, got %q", where, field, d.Name)
		case d.Version == "":
			return nil, fmt.Errorf("%s: Chart.lock %s: %s has no version", where, field, d.Name)
		}
		ref := chartRef{repoURL: repo, chart: d.Name, version: d.Version, field: field}
		switch {
		case strings.HasPrefix(repo, "oci://"):
			ref.oci = true
		case strings.HasPrefix(repo, "https://") || strings.HasPrefix(repo, "http://"):
		default:
			return nil, fmt.Errorf("%s: Chart.lock %s: %s is neither a Helm repository (https://) nor an OCI registry (oci://)", where, field, redactURL(repo))
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// hashReq is the digest Helm writes into Chart.lock: the sha256 of the JSON of Chart.yaml's
// dependencies and the locked ones (helm's resolver.HashReq).
func hashReq(req, lock []*chart.Dependency) (string, error) {
	data, err := json.Marshal([2][]*chart.Dependency{req, lock})
	if err != nil {
		return "", err
	}
	s, err := provenance.Digest(bytes.NewBuffer(data))
	return "sha256:" + s, err
}

// pullDependencies pulls the locked, unvendored dependencies of a chart source (a chart of the
// repository with a Chart.lock, or a pulled remote chart), other than those in pulled already.
// A chart that does not load is left to the render, which reports it.
func pullDependencies(ctx context.Context, cs *Charts, r *repo, h *helmSource, pulled map[string]pulledChart) (map[string]pulledChart, error) {
	var ch *chart.Chart
	where := h.chart
	if h.remote != nil {
		p, ok := pulled[h.remote.key()]
		if !ok {
			return nil, nil
		}
		data, err := os.ReadFile(p.Path)
		if err != nil {
			return nil, nil
		}
		if ch, err = loader.LoadArchive(bytes.NewReader(data)); err != nil {
			return nil, nil
		}
		where = h.remote.String()
	} else {
		if !unvendoredLock(r, h.chart) {
			return nil, nil
		}
		var err error
		if ch, err = loadChart(ctx, r, h.chart); err != nil {
			return nil, nil
		}
	}
	refs, err := lockedDeps(ch, where)
	if err != nil {
		return nil, err
	}
	out := map[string]pulledChart{}
	for _, ref := range refs {
		if _, ok := pulled[ref.key()]; ok {
			continue
		}
		if cs == nil {
			return nil, fmt.Errorf("%s: the dependency %s of Chart.lock is not vendored: it is pulled by the service, with the chart cache and chartRepositories of its config; this render has none (or vendor it with `helm dependency build`)", where, ref)
		}
		p, err := cs.pull(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("%s: the dependency of Chart.lock %s: %w", where, ref.field, err)
		}
		out[ref.key()] = p
	}
	return out, nil
}

// unvendoredLock says, from the lock file alone, whether a chart of the repository locks a
// dependency of a Helm repository or OCI registry that its charts/ folder does not hold (as a
// directory or the archive `helm dependency build` leaves): only then is the chart loaded in
// the service's process to pull it.
func unvendoredLock(r *repo, dir string) bool {
	var data []byte
	var err error
	for _, name := range []string{"Chart.lock", "requirements.lock"} {
		if data, err = r.readFile(path.Join(dir, name)); err == nil {
			break
		}
	}
	if err != nil {
		return false
	}
	var lock chart.Lock
	if err := sigsyaml.Unmarshal(data, &lock); err != nil {
		return true // the load reports it
	}
	for _, d := range lock.Dependencies {
		if d == nil || !(strings.Contains(d.Repository, "://") && !strings.HasPrefix(d.Repository, "file://")) {
			continue
		}
		if !r.exists(path.Join(dir, "charts", d.Name+"-"+d.Version+".tgz")) && !r.exists(path.Join(dir, "charts", d.Name, "Chart.yaml")) {
			return true
		}
	}
	return false
}

// addLockedDependencies adds a loaded chart's locked, unvendored dependencies from the chart
// cache, where the service pulled them before the render.
func addLockedDependencies(r *repo, ch *chart.Chart, where string) error {
	refs, err := lockedDeps(ch, where)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		sub, err := loadPulledChart(r, &ref)
		if err != nil {
			return fmt.Errorf("%s: the dependency of Chart.lock %s: %w", where, ref.field, err)
		}
		if sub.Name() != ref.chart {
			return fmt.Errorf("%s: the dependency of Chart.lock %s: %s holds the chart %q", where, ref.field, ref, sub.Name())
		}
		ch.AddDependency(sub)
	}
	return nil
}
