package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Masterminds/semver/v3"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/singleflight"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"
	helmrepo "helm.sh/helm/v3/pkg/repo"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// Remote charts (docs/design.md §8, "Remote charts"; docs/render-verification.md): an Argo CD
// source with chart: and targetRevision, or a Flux HelmRelease whose chart comes from a
// HelmRepository or an OCIRepository, names a chart outside the repository. The service pulls
// it with the Helm SDK's own getter (a Helm repository's index.yaml and archive) and registry
// client (OCI), in its own process — the render workers fetch nothing and hold no credential —
// into a content-addressed cache on disk, and the worker renders the archive from there.
// Every download is bounded in bytes (limits.charts.maxArchiveBytes, maxIndexBytes) and time
// (limits.charts.timeout); the cache in bytes (limits.charts.maxCacheBytes).

// Charts pulls remote charts into a cache on disk shared by every policy of the service. It is
// safe for concurrent use: concurrent renders of one chart pull it once. A pinned version is
// pulled once and then read from the cache; a version range (or an OCI tag that is not a
// version) is resolved again at most once per limits.charts.rangeTTL.
type Charts struct {
	dir   string
	repos []chartRepo
	lim   svcconfig.ChartLimits

	mu sync.Mutex
	// pinned maps a chart at an exact version (chartRef.pinnedKey) to its archive.
	pinned map[string]pulledChart
	// ranges maps a chart at a range (chartRef.key) to the version it resolved to, and when.
	ranges map[string]resolvedRange
	flight singleflight.Group
	// evictMu serializes the cache's size check, so two pulls never evict for each other.
	evictMu sync.Mutex
	now     func() time.Time
}

// ChartsConfig configures Charts: the cache directory (the service's cacheDir/charts), the
// credentials of the repositories and the limits.
type ChartsConfig struct {
	Dir          string
	Repositories []svcconfig.ChartRepository
	Limits       svcconfig.ChartLimits
}

// pulledChart is a chart archive in the cache.
type pulledChart struct {
	Ref     string // the chart as the source names it (chartRef.String)
	Version string // the chart version pulled
	Digest  string // sha256:<hex> of the archive: its name in the cache
	Path    string // the archive in the cache
	// Offline says why the cached resolution of a range was used: the repository could not be
	// reached to resolve it again.
	Offline string
}

// unreachableError is a download that could not reach the repository or registry at all (no
// connection), as opposed to one the server refused.
type unreachableError struct{ msg string }

func (e *unreachableError) Error() string { return e.msg }

type resolvedRange struct {
	version string
	at      time.Time
}

// NewCharts opens the chart cache in cfg.Dir. Its folders are made by the first pull, so a
// run that pulls no chart writes nothing there.
func NewCharts(cfg ChartsConfig) (*Charts, error) {
	cfg.Limits.SetDefaults()
	if cfg.Dir == "" {
		return nil, errors.New("chart cache: no directory")
	}
	repos := make([]chartRepo, len(cfg.Repositories))
	for i, r := range cfg.Repositories {
		repos[i] = chartRepo{ChartRepository: r, field: fmt.Sprintf("chartRepositories[%d]", i)}
	}
	// The longest URL first: the most specific entry wins.
	sort.SliceStable(repos, func(i, j int) bool { return len(repos[i].URL) > len(repos[j].URL) })
	return &Charts{dir: cfg.Dir, repos: repos, lim: cfg.Limits, pinned: map[string]pulledChart{},
		ranges: map[string]resolvedRange{}, now: time.Now}, nil
}

// chartRef is a remote chart as an Application or HelmRelease names it.
type chartRef struct {
	// repoURL is the Helm repository (http(s)://…) or, with oci, the OCI repository the chart
	// is in (oci://host/path, without the chart's name).
	repoURL string
	// chart is the chart's name in the repository; with oci it is appended to repoURL ("" when
	// repoURL is the chart's own OCI repository, as a Flux OCIRepository names it).
	chart string
	// version is an exact version, a semver range, or "" for the latest; for OCI, a tag.
	version string
	// digest pins an OCI artifact by its manifest digest (OCIRepository spec.ref.digest).
	digest    string
	oci       bool
	plainHTTP bool
	// doc and field say where the chart is named, for messages.
	doc   objectDoc
	field string
}

// key identifies the reference as written.
func (c chartRef) key() string {
	return strings.Join([]string{boolString(c.oci), c.repoURL, c.chart, c.version, c.digest}, "\x00")
}

// pinnedKey identifies the chart at one exact version.
func (c chartRef) pinnedKey(version string) string {
	return strings.Join([]string{boolString(c.oci), c.repoURL, c.chart, version, c.digest}, "\x00")
}

func boolString(b bool) string {
	if b {
		return "oci"
	}
	return "http"
}

// String names the chart for messages, without any credential.
func (c chartRef) String() string {
	s := "chart " + c.chart
	if c.oci {
		s = "chart " + strings.TrimSuffix(redactURL(c.repoURL), "/")
		if c.chart != "" {
			s += "/" + c.chart
		}
	}
	switch {
	case c.digest != "":
		s += "@" + c.digest
	case c.version != "":
		s += " " + c.version
	}
	if !c.oci {
		s += " from " + redactURL(c.repoURL)
	}
	return s
}

// pinned says whether the version names one version only: an exact version, or an OCI digest.
// A range, an empty version (the latest) and an OCI tag that is not a version are resolved
// again each rangeTTL.
func (c chartRef) pinned() bool {
	if c.digest != "" {
		return true
	}
	if c.version == "" || strings.ContainsAny(c.version, "^~><=*xX|, ") {
		return false
	}
	_, err := semver.StrictNewVersion(strings.TrimPrefix(c.version, "v"))
	return err == nil
}

// credentials returns the username and password configured for a URL (the entry with the
// longest matching prefix), reading the password file now.
func (cs *Charts) credentials(u string) (access, error) {
	for _, r := range cs.repos {
		if strings.HasPrefix(strings.TrimSuffix(u, "/")+"/", strings.TrimSuffix(r.URL, "/")+"/") {
			a := access{user: r.Username, plainHTTP: r.PlainHTTP, field: r.field, caFile: r.CAFile}
			if r.CAFile != "" {
				if r.PlainHTTP {
					return a, fmt.Errorf("%s sets caFile and plainHTTP: a CA is for TLS, which plainHTTP turns off", r.field)
				}
				pool, err := readCAFile(r.CAFile)
				if err != nil {
					return a, fmt.Errorf("%s.caFile: %w", r.field, err)
				}
				a.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			}
			if r.Username != "" {
				var err error
				if a.pass, err = secret.Read("chart repository password", r.PasswordFile, "", nil); err != nil {
					return a, err
				}
			}
			return a, nil
		}
	}
	return access{}, nil
}

// chartRepo is a chartRepositories entry and its field in the service config.
type chartRepo struct {
	svcconfig.ChartRepository
	field string // chartRepositories[i]
}

// access is how to reach one repository: its credentials, and its TLS settings when it has
// a CA of its own.
type access struct {
	user      string
	pass      secret.Value
	plainHTTP bool
	tls       *tls.Config // nil: the machine's roots
	caFile    string
	field     string // the chartRepositories entry, "" when none matched
}

// MaxCAFileBytes bounds a chartRepositories caFile.
const MaxCAFileBytes = 1 << 20

// readCAFile reads a PEM file of CA certificates, at most MaxCAFileBytes.
func readCAFile(file string) (*x509.CertPool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCAFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(data) > MaxCAFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes (MaxCAFileBytes)", file, MaxCAFileBytes)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// Pull returns the archive of the chart, from the cache or pulled now.
func (cs *Charts) pull(ctx context.Context, ref chartRef) (pulledChart, error) {
	version := ref.version
	if !ref.pinned() {
		cs.mu.Lock()
		rr, ok := cs.ranges[ref.key()]
		cs.mu.Unlock()
		if ok && cs.now().Sub(rr.at) < cs.lim.RangeTTL.Duration {
			version = rr.version
		} else {
			v, err, _ := cs.flight.Do("resolve\x00"+ref.key(), func() (any, error) {
				v, err := cs.resolveVersion(ctx, ref)
				if err == nil {
					cs.mu.Lock()
					cs.ranges[ref.key()] = resolvedRange{version: v, at: cs.now()}
					cs.mu.Unlock()
				}
				return v, err
			})
			if err != nil {
				// Unreachable: the last resolution, if its archive is still cached, is used
				// and the render says so; anything else (a refusal, a limit) fails.
				var ue *unreachableError
				if ok && errors.As(err, &ue) {
					cs.mu.Lock()
					p, cached := cs.pinned[ref.pinnedKey(rr.version)]
					cs.mu.Unlock()
					if cached && cs.touch(p.Path) {
						p.Offline = fmt.Sprintf("the repository is unreachable, so the version resolved %s ago was used: %v", cs.now().Sub(rr.at).Round(time.Second), err)
						return p, nil
					}
				}
				return pulledChart{}, err
			}
			version = v.(string)
		}
	}
	key := ref.pinnedKey(version)
	cs.mu.Lock()
	p, ok := cs.pinned[key]
	cs.mu.Unlock()
	if ok && cs.touch(p.Path) {
		return p, nil
	}
	v, err, _ := cs.flight.Do("pull\x00"+key, func() (any, error) {
		// A render that waited for the flight before this one may find the chart there now.
		cs.mu.Lock()
		p, ok := cs.pinned[key]
		cs.mu.Unlock()
		if ok && cs.touch(p.Path) {
			return p, nil
		}
		// Pulled by an earlier run of the service: the ref file names the archive.
		if p, ok := cs.loadRef(key); ok {
			cs.mu.Lock()
			cs.pinned[key] = p
			cs.mu.Unlock()
			return p, nil
		}
		p, err := cs.download(ctx, ref, version)
		if err == nil {
			cs.mu.Lock()
			cs.pinned[key] = p
			cs.mu.Unlock()
			cs.saveRef(key, p)
		}
		return p, err
	})
	if err != nil {
		return pulledChart{}, err
	}
	return v.(pulledChart), nil
}

// refFile is where the archive of a chart at one version is recorded, so that a pinned
// version is pulled once across restarts of the service too.
func (cs *Charts) refFile(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(cs.dir, "refs", hex.EncodeToString(sum[:])+".json")
}

// loadRef finds a chart version pulled before: its ref file, and its archive still in the
// cache with the digest it names.
func (cs *Charts) loadRef(key string) (pulledChart, bool) {
	data, err := os.ReadFile(cs.refFile(key))
	if err != nil || len(data) > 64<<10 {
		return pulledChart{}, false
	}
	var p pulledChart
	if json.Unmarshal(data, &p) != nil || !strings.HasPrefix(p.Digest, "sha256:") || len(p.Digest) != len("sha256:")+64 {
		return pulledChart{}, false
	}
	p.Path = filepath.Join(cs.dir, "sha256", strings.TrimPrefix(p.Digest, "sha256:")+".tgz")
	if !cs.touch(p.Path) {
		return pulledChart{}, false
	}
	return p, true
}

// saveRef records a chart version's archive (best effort: without it the chart is pulled
// again after a restart).
func (cs *Charts) saveRef(key string, p pulledChart) {
	data, err := json.Marshal(pulledChart{Ref: p.Ref, Version: p.Version, Digest: p.Digest})
	if err != nil || os.MkdirAll(filepath.Join(cs.dir, "refs"), 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Join(cs.dir, "refs"), ".ref-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil && cerr == nil && os.Rename(tmp.Name(), cs.refFile(key)) == nil {
		return
	}
	os.Remove(tmp.Name())
}

// touch marks an archive as used now (eviction removes those used longest ago) and says
// whether it is still in the cache.
func (cs *Charts) touch(file string) bool {
	now := cs.now()
	return os.Chtimes(file, now, now) == nil
}

// resolveVersion resolves a range to the highest version that matches it, as Argo CD's repo
// server and Flux's source-controller do: from the Helm repository's index, or from the OCI
// repository's tags.
func (cs *Charts) resolveVersion(ctx context.Context, ref chartRef) (string, error) {
	if ref.oci {
		client, err := cs.registryClient(ref, cs.lim.MaxIndexBytes)
		if err != nil {
			return "", err
		}
		if _, cerr := semver.NewConstraint(ref.version); cerr != nil && ref.version != "" {
			// A tag that is no version (latest, main): it may move, so it is resolved to the
			// manifest digest it points to now, and that digest is pulled.
			desc, err := cs.guard(ctx, ref, "resolve the tag of", cs.lim.MaxIndexBytes, "maxIndexBytes", client.guard, func() (any, error) {
				return client.Resolve(ociName(ref) + ":" + ref.version)
			})
			if err != nil {
				return "", err
			}
			return "@" + desc.(ocispec.Descriptor).Digest.String(), nil
		}
		tags, err := cs.guard(ctx, ref, "list the tags of", cs.lim.MaxIndexBytes, "maxIndexBytes", client.guard, func() (any, error) {
			return client.Tags(ociName(ref))
		})
		if err != nil {
			return "", err
		}
		v, err := registry.GetTagMatchingVersionOrConstraint(tags.([]string), ref.version)
		if err != nil {
			return "", fmt.Errorf("%s: no tag matches %q (tags: %s)", ref, ref.version, strings.Join(firstN(tags.([]string), 10), ", "))
		}
		return v, nil
	}
	idx, err := cs.index(ctx, ref)
	if err != nil {
		return "", err
	}
	cv, err := idx.Get(ref.chart, ref.version)
	if err != nil {
		return "", fmt.Errorf("%s: no version in the repository's index matches (%v)", ref, err)
	}
	return cv.Version, nil
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// index downloads and parses a Helm repository's index.yaml.
func (cs *Charts) index(ctx context.Context, ref chartRef) (*helmrepo.IndexFile, error) {
	u := strings.TrimSuffix(ref.repoURL, "/") + "/index.yaml"
	data, err := cs.httpGet(ctx, ref, u, cs.lim.MaxIndexBytes, "maxIndexBytes", "download the index of")
	if err != nil {
		return nil, err
	}
	// The SDK loads an index from a file only; it is parsed and checked as `helm repo update`
	// does.
	if err := os.MkdirAll(cs.dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: chart cache: %w", ref, err)
	}
	tmp, err := os.CreateTemp(cs.dir, "index-*.yaml")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("%s: %w", ref, werr)
	}
	idx, err := helmrepo.LoadIndexFile(tmp.Name())
	if err != nil {
		return nil, fmt.Errorf("%s: the repository's index.yaml: %v", ref, err)
	}
	return idx, nil
}

// download pulls one version of a chart into the cache.
func (cs *Charts) download(ctx context.Context, ref chartRef, version string) (pulledChart, error) {
	var data []byte
	if ref.oci {
		client, err := cs.registryClient(ref, cs.lim.MaxArchiveBytes)
		if err != nil {
			return pulledChart{}, err
		}
		target := ociName(ref)
		switch {
		case ref.digest != "":
			target += "@" + ref.digest
		case strings.HasPrefix(version, "@"):
			target += version
		default:
			target += ":" + strings.ReplaceAll(version, "+", "_")
		}
		res, err := cs.guard(ctx, ref, "pull", cs.lim.MaxArchiveBytes, "maxArchiveBytes", client.guard, func() (any, error) {
			return client.Pull(target, registry.PullOptWithChart(true))
		})
		if err != nil {
			return pulledChart{}, err
		}
		pr := res.(*registry.PullResult)
		data = pr.Chart.Data
		if version == "" || strings.HasPrefix(version, "@") {
			version = pr.Chart.Meta.Version
		}
	} else {
		idx, err := cs.index(ctx, ref)
		if err != nil {
			return pulledChart{}, err
		}
		cv, err := idx.Get(ref.chart, version)
		if err != nil {
			return pulledChart{}, fmt.Errorf("%s: not in the repository's index (%v)", ref, err)
		}
		if len(cv.URLs) == 0 {
			return pulledChart{}, fmt.Errorf("%s: the index names no URL for version %s", ref, cv.Version)
		}
		u, err := helmrepo.ResolveReferenceURL(ref.repoURL, cv.URLs[0])
		if err != nil {
			return pulledChart{}, fmt.Errorf("%s: %v", ref, err)
		}
		data, err = cs.httpGet(ctx, ref, u, cs.lim.MaxArchiveBytes, "maxArchiveBytes", "download")
		if err != nil {
			return pulledChart{}, err
		}
		if want := strings.TrimPrefix(cv.Digest, "sha256:"); want != "" {
			if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != want {
				return pulledChart{}, fmt.Errorf("%s: the archive's sha256 is %x, the index says %s: refused", ref, got, want)
			}
		}
		version = cv.Version
	}
	if len(data) > cs.lim.MaxArchiveBytes {
		return pulledChart{}, fmt.Errorf("%s: the archive is %d bytes, more than limits.charts.maxArchiveBytes (%d)", ref, len(data), cs.lim.MaxArchiveBytes)
	}
	return cs.store(ref, version, data)
}

// store writes an archive into the cache under its digest (a temporary file renamed into
// place, so a reader never sees half of one) and keeps the cache under maxCacheBytes.
func (cs *Charts) store(ref chartRef, version string, data []byte) (pulledChart, error) {
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	file := filepath.Join(cs.dir, "sha256", hexSum+".tgz")
	p := pulledChart{Ref: ref.String(), Version: version, Digest: "sha256:" + hexSum, Path: file}
	if cs.touch(file) {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Join(cs.dir, "sha256"), 0o700); err != nil {
		return p, fmt.Errorf("%s: chart cache: %w", ref, err)
	}
	tmp, err := os.CreateTemp(filepath.Join(cs.dir, "sha256"), ".pull-*")
	if err != nil {
		return p, fmt.Errorf("%s: chart cache: %w", ref, err)
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), file)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return p, fmt.Errorf("%s: chart cache: %w", ref, werr)
	}
	cs.evict(file)
	return p, nil
}

// evict removes the archives used longest ago until the cache holds at most maxCacheBytes,
// never keep (the archive just stored). A removed archive is pulled again when next needed.
func (cs *Charts) evict(keep string) {
	cs.evictMu.Lock()
	defer cs.evictMu.Unlock()
	entries, err := os.ReadDir(filepath.Join(cs.dir, "sha256"))
	if err != nil {
		return
	}
	type item struct {
		path string
		size int64
		used time.Time
	}
	var items []item
	var total int64
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || !strings.HasSuffix(e.Name(), ".tgz") {
			continue
		}
		items = append(items, item{filepath.Join(cs.dir, "sha256", e.Name()), fi.Size(), fi.ModTime()})
		total += fi.Size()
	}
	sort.Slice(items, func(i, j int) bool { return items[i].used.Before(items[j].used) })
	for _, it := range items {
		if total <= int64(cs.lim.MaxCacheBytes) {
			return
		}
		if it.path == keep {
			continue
		}
		if os.Remove(it.path) == nil {
			total -= it.size
		}
	}
}

// ociName is the OCI repository of the chart, without oci:// and without a tag.
func ociName(ref chartRef) string {
	n := strings.TrimSuffix(strings.TrimPrefix(ref.repoURL, "oci://"), "/")
	if ref.chart != "" {
		n += "/" + ref.chart
	}
	return n
}

// cappedConn fails a read past the bytes left of a download's budget.
type cappedConn struct {
	net.Conn
	budget *budget
}

// budget is what one download may still read, counted over all its connections.
type budget struct {
	left atomic.Int64
	hit  atomic.Bool
}

var errOverBudget = errors.New("download larger than its limit")

func (c *cappedConn) Read(p []byte) (int, error) {
	left := c.budget.left.Load()
	if left <= 0 {
		c.budget.hit.Store(true)
		return 0, errOverBudget
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.Conn.Read(p)
	c.budget.left.Add(-int64(n))
	return n, err
}

// downloadOverhead is what a download may read beyond its limit: response headers, and for
// OCI the token, manifest and config it reads before the chart layer.
const downloadOverhead = 256 << 10

// boundedClient is an HTTP client that reads at most max bytes (plus downloadOverhead) over
// all its connections and stops after the timeout: the SDK's getter and registry client do the
// HTTP, this bounds it.
func boundedClient(max int, timeout time.Duration, tlsConfig *tls.Config) (*http.Client, *http.Transport, *budget) {
	b := &budget{}
	b.left.Store(int64(max) + downloadOverhead)
	d := &net.Dialer{Timeout: timeout}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DisableKeepAlives:   true,
		DisableCompression:  true,
		TLSHandshakeTimeout: timeout,
		TLSClientConfig:     tlsConfig,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &cappedConn{Conn: c, budget: b}, nil
		},
	}
	return &http.Client{Transport: t, Timeout: timeout}, t, b
}

// httpGet downloads a URL of a Helm repository with the SDK's HTTP getter, with the
// repository's credentials (sent to its own host only, as helm does), at most max bytes.
func (cs *Charts) httpGet(ctx context.Context, ref chartRef, u string, max int, limit, what string) ([]byte, error) {
	a, err := cs.credentials(ref.repoURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	user, pass := a.user, a.pass
	_, t, b := boundedClient(max, cs.lim.Timeout.Duration, a.tls)
	opts := []getter.Option{getter.WithURL(ref.repoURL), getter.WithTimeout(cs.lim.Timeout.Duration), getter.WithTransport(t)}
	if user != "" {
		opts = append(opts, getter.WithBasicAuth(user, string(pass)))
	}
	g, err := getter.NewHTTPGetter(opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	cl := &registryClientGuard{budget: b, user: user, pass: pass, access: a}
	res, err := cs.guard(ctx, ref, what, max, limit, cl, func() (any, error) { return g.Get(u) })
	if err != nil {
		return nil, scrub(err, user, pass)
	}
	buf := res.(*bytes.Buffer)
	if buf.Len() > max {
		return nil, fmt.Errorf("%s: cannot %s %s: larger than limits.charts.%s (%d bytes)", ref, what, redactURL(u), limit, max)
	}
	return buf.Bytes(), nil
}

// tlsHint explains a server certificate that did not verify: against the CA file of the
// repository's chartRepositories entry, or against the machine's roots when it has none. The
// handshake failed, so no request — and no credential — was sent.
func tlsHint(err error, a access) string {
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &unknown) && !errors.As(err, &verify) && !errors.As(err, &hostname) && !errors.As(err, &invalid) &&
		!strings.Contains(err.Error(), "x509: ") {
		return ""
	}
	if a.tls != nil {
		return fmt.Sprintf(" (TLS: the server's certificate does not verify against %s.caFile %s; nothing was sent)", a.field, a.caFile)
	}
	return " (TLS: the server's certificate does not verify against the machine's certificate authorities; a private CA goes in the repository's chartRepositories entry as caFile; nothing was sent)"
}

// registryClientGuard is what guard needs of a download: its budget and its secrets.
type registryClientGuard struct {
	budget *budget
	user   string
	pass   secret.Value
	access access
}

// guardedRegistry is the SDK's registry client with the budget and secrets of its downloads.
type guardedRegistry struct {
	*registry.Client
	guard *registryClientGuard
}

// registryClient makes a registry client for one OCI pull: its own HTTP client bounded to max
// bytes, the
// configured credentials (never the machine's docker or helm login), plain HTTP when
// configured or asked by the source.
func (cs *Charts) registryClient(ref chartRef, max int) (*guardedRegistry, error) {
	a, err := cs.credentials(ref.repoURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	user, pass, plain := a.user, a.pass, a.plainHTTP
	hc, _, b := boundedClient(max, cs.lim.Timeout.Duration, a.tls)
	authorizer := &auth.Client{Client: hc, Cache: auth.NewCache()}
	host := strings.SplitN(ociName(ref), "/", 2)[0]
	if user != "" {
		cred := auth.Credential{Username: user, Password: string(pass)}
		authorizer.Credential = auth.StaticCredential(host, cred)
	}
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(hc), registry.ClientOptAuthorizer(*authorizer),
		registry.ClientOptWriter(io.Discard),
		// No login file of the machine is read: credentials come from chartRepositories only.
		registry.ClientOptCredentialsFile(filepath.Join(cs.dir, "no-registry-login.json")),
	}
	if plain || ref.plainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	c, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: registry client: %w", ref, err)
	}
	return &guardedRegistry{Client: c, guard: &registryClientGuard{budget: b, user: user, pass: pass, access: a}}, nil
}

// authStatusRE finds an HTTP 401 or 403 in a getter's or registry client's error ("…index.yaml :
// 401 Unauthorized", "unexpected status code 403"), and not the same digits inside a port or a
// path ("127.0.0.1:34403/public"), which would blame credentials for a connection refused.
var authStatusRE = regexp.MustCompile(`(^|[^0-9:./])40[13]([^0-9]|$)`)

// guard runs one download of the SDK, which takes no context: the caller's context ends the
// wait (the download itself stops at limits.charts.timeout), a download past its byte budget
// fails naming the limit, and no secret of the repository reaches the error.
func (cs *Charts) guard(ctx context.Context, ref chartRef, what string, max int, limit string, g *registryClientGuard, fn func() (any, error)) (any, error) {
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %s: %w", ref, what, ctx.Err())
	case r := <-done:
		if g.budget.hit.Load() {
			return nil, fmt.Errorf("%s: cannot %s it: larger than limits.charts.%s (%d bytes): refused", ref, what, limit, max)
		}
		if r.err != nil {
			hint := ""
			if h := tlsHint(r.err, g.access); h != "" {
				hint = h
			} else if authStatusRE.MatchString(r.err.Error()) {
				if g.user == "" {
					hint = " (no chartRepositories entry gives credentials for this URL)"
				} else {
					hint = fmt.Sprintf(" (the credentials of user %s from chartRepositories were refused)", g.user)
				}
			}
			err := scrub(fmt.Errorf("%s: cannot %s it: %v%s", ref, what, r.err, hint), g.user, g.pass)
			var op *net.OpError
			if errors.As(r.err, &op) {
				return nil, &unreachableError{msg: err.Error()}
			}
			return nil, err
		}
		return r.v, nil
	}
}

// scrub removes a password, and the basic-auth header value made of it, from an error's text:
// whatever a server or library echoes, a secret never reaches a message.
func scrub(err error, user string, pass secret.Value) error {
	if err == nil || pass == "" {
		return err
	}
	msg := err.Error()
	for _, s := range []string{string(pass), base64.StdEncoding.EncodeToString([]byte(user + ":" + string(pass))), url.QueryEscape(string(pass))} {
		msg = strings.ReplaceAll(msg, s, "<secret>")
	}
	return errors.New(msg)
}
