package cluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The pinned Argo CD and the helm its repo server runs. The module that builds Argo CD is
// build/argocd (with its go.sum); helm is installed at its version by `go install`. Change a
// version there and here together.
const (
	ArgoCDVersion = "v3.2.11"
	HelmVersion   = "v3.18.4"
)

// argoCDCacheName is Argo CD's own cache folder, next to the Kubernetes and Flux one, so that a
// change of either builds only what changed.
var argoCDCacheName = "argocd-" + ArgoCDVersion + "_helm-" + HelmVersion + "_" + runtime.Version()

func init() {
	// The kinds the Argo CD tests apply (Apply and Get find their paths here).
	plurals["Application"] = struct {
		plural     string
		namespaced bool
	}{"applications", true}
	plurals["AppProject"] = struct {
		plural     string
		namespaced bool
	}{"appprojects", true}
}

// ArgoCDBins are Argo CD's one binary (it runs as the component its ARGOCD_BINARY_NAME names),
// the helm its repo server runs, and Argo CD's CRDs.
type ArgoCDBins struct {
	ArgoCD, Helm string
	CRDs         []string
}

// ArgoCDCacheDir is where Argo CD and helm are kept: beside CacheDir, in a folder named after
// their versions and the Go release.
func ArgoCDCacheDir() (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(dir), argoCDCacheName), nil
}

// BuildArgoCD builds Argo CD and installs helm unless they are in their cache folder, under a
// file lock as Build, and returns them with Argo CD's CRDs from its module source.
func BuildArgoCD(logf func(format string, args ...any)) (ArgoCDBins, error) {
	dir, err := ArgoCDCacheDir()
	if err != nil {
		return ArgoCDBins{}, fmt.Errorf("cache directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ArgoCDBins{}, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return ArgoCDBins{}, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return ArgoCDBins{}, fmt.Errorf("lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck

	_, self, _, _ := runtime.Caller(0)
	mod := filepath.Join(filepath.Dir(self), "build", "argocd")
	var b ArgoCDBins
	if b.ArgoCD, err = build(logf, dir, mod, "argocd", "github.com/argoproj/argo-cd/v3/cmd", ""); err != nil {
		return ArgoCDBins{}, err
	}
	b.Helm = filepath.Join(dir, "helm")
	if _, err := os.Stat(b.Helm); err != nil {
		start := time.Now()
		// Outside any module: `go install pkg@version` checks the download against the checksum
		// database, as go.sum would.
		cmd := []string{"install", "-trimpath", "helm.sh/helm/v3/cmd/helm@" + HelmVersion}
		if _, err := goOutputEnv(os.TempDir(), []string{"GOBIN=" + dir, "GOFLAGS="}, cmd...); err != nil {
			return ArgoCDBins{}, err
		}
		logf("cluster: installed helm %s in %s", HelmVersion, time.Since(start).Round(time.Second))
	}
	src, err := goOutput(mod, "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-cd/v3")
	if err != nil {
		return ArgoCDBins{}, err
	}
	b.CRDs, err = filepath.Glob(filepath.Join(src, "manifests", "crds", "*-crd.yaml"))
	if err != nil || len(b.CRDs) == 0 {
		return ArgoCDBins{}, fmt.Errorf("no CRDs in argo-cd %s manifests/crds", ArgoCDVersion)
	}
	return b, nil
}

// goOutputEnv is goOutput with more environment (later entries win).
func goOutputEnv(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// ArgoCDOptions are the knobs a test sets.
type ArgoCDOptions struct {
	// Reconciliation is what Argo CD's install manifests pass from argocd-cm's
	// timeout.reconciliation as ARGOCD_RECONCILIATION_TIMEOUT: the controller's resync period
	// and, unless set apart, how long the repo server caches a branch's revision. Argo CD's
	// defaults are 120 s for the controller, plus up to 60 s of jitter, and 3 minutes for the
	// repo server. Zero keeps them; a value sets both, and the jitter
	// (timeout.reconciliation.jitter, ARGOCD_RECONCILIATION_JITTER) to zero.
	Reconciliation time.Duration
	// RevisionCache is the repo server's --revision-cache-expiration: how long it keeps a
	// branch's resolved revision (its ls-remote) in redis. Argo CD's install manifests pass it
	// timeout.reconciliation (ARGOCD_RECONCILIATION_TIMEOUT), so with Reconciliation alone the
	// controller's resync and the cache are two unaligned timers of the same period and a
	// commit can wait for both, up to twice the setting; an operator who wants the resync to be
	// the poll sets the flag on the repo server's container, shorter than the resync. Zero
	// keeps what timeout.reconciliation gives (Argo CD would read 0 as its cache's default
	// expiration, --default-cache-expiration, 24 hours, never as "no cache").
	RevisionCache time.Duration
	// WebhookGitHubSecret is argocd-secret's webhook.github.secret: when set, argocd-server's
	// /api/webhook accepts only GitHub events signed with it (X-Hub-Signature-256) and answers
	// 400 to any other.
	WebhookGitHubSecret string
}

// ArgoCD is Argo CD on a Cluster: redis, the repo server, the application controller and the
// API server (argocd-server, which serves the webhook), on 127.0.0.1 ports.
type ArgoCD struct {
	c *Cluster
	// server is argocd-server's base URL, http://127.0.0.1:port (plaintext, --insecure).
	server string
}

// Namespace is where Argo CD's own objects and the Applications live.
const ArgoCDNamespace = "argocd"

// StartArgoCD builds (or reuses) Argo CD and helm, installs Argo CD's CRDs, namespace,
// settings and default project on the cluster, and starts redis and Argo CD's components. It
// fails the test when a part is missing or does not come up (a missing piece is a failure,
// never a skip). Everything is stopped with the cluster, by PID.
func (c *Cluster) StartArgoCD(opts ArgoCDOptions) *ArgoCD {
	c.t.Helper()
	bins, err := BuildArgoCD(c.t.Logf)
	if err != nil {
		c.t.Fatalf("cluster: %v", err)
	}
	redis := lookPathPackage(c.t, "redis-server", "redis-server")
	for _, crd := range bins.CRDs {
		b, err := os.ReadFile(crd)
		if err != nil {
			c.t.Fatalf("cluster: CRD: %v", err)
		}
		c.Apply(string(b))
	}
	for _, crd := range bins.CRDs {
		c.waitEstablished(crd)
	}
	c.Apply(argoCDObjects(c.t, opts))

	dir := filepath.Join(c.dir, "argocd")
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		c.t.Fatal(err)
	}
	redisAddr := freeAddr(c.t)
	redisHost, redisPort := splitAddr(c.t, redisAddr)
	c.run("redis", redis, "--bind", redisHost, "--port", redisPort, "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "no")
	c.waitReady("redis", func() bool { return dialable(redisAddr) })

	env := []string{
		"KUBECONFIG=" + c.kubeconfig,
		// The in-cluster destination (https://kubernetes.default.svc) is the kubeconfig's server.
		"ARGOCD_FAKE_IN_CLUSTER=true",
		"ARGOCD_GPG_ENABLED=false",
		// The repo server runs the helm of the cache folder, and clones into the test's folder.
		"PATH=" + filepath.Dir(bins.Helm) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TMPDIR=" + tmp,
		"HOME=" + dir,
	}
	if opts.Reconciliation > 0 {
		env = append(env, "ARGOCD_RECONCILIATION_TIMEOUT="+opts.Reconciliation.String(), "ARGOCD_RECONCILIATION_JITTER=0s")
	}
	repo, repoMetrics := freeAddr(c.t), freeAddr(c.t)
	_, repoPort := splitAddr(c.t, repo)
	_, repoMetricsPort := splitAddr(c.t, repoMetrics)
	c.runEnv("argocd-repo-server", append(env, "ARGOCD_BINARY_NAME=argocd-repo-server"), bins.ArgoCD,
		append([]string{"--address=127.0.0.1", "--port=" + repoPort, "--metrics-address=127.0.0.1", "--metrics-port=" + repoMetricsPort,
			"--disable-tls", "--redis=" + redisAddr, "--logformat=text", "--loglevel=info"}, repoServerFlags(opts)...)...)
	c.waitReady("argocd-repo-server", func() bool { return healthy("http://" + repoMetrics + "/healthz") })

	ctrlMetrics := freeAddr(c.t)
	_, ctrlMetricsPort := splitAddr(c.t, ctrlMetrics)
	c.runEnv("argocd-application-controller", append(env, "ARGOCD_BINARY_NAME=argocd-application-controller"), bins.ArgoCD,
		"--kubeconfig="+c.kubeconfig, "--namespace="+ArgoCDNamespace,
		"--repo-server="+repo, "--repo-server-plaintext", "--redis="+redisAddr,
		"--metrics-port="+ctrlMetricsPort, "--status-processors=2", "--operation-processors=2",
		"--logformat=text", "--loglevel=info")
	c.waitReady("argocd-application-controller", func() bool { return healthy("http://" + ctrlMetrics + "/healthz") })

	srv, srvMetrics := freeAddr(c.t), freeAddr(c.t)
	_, srvPort := splitAddr(c.t, srv)
	_, srvMetricsPort := splitAddr(c.t, srvMetrics)
	c.runEnv("argocd-server", append(env, "ARGOCD_BINARY_NAME=argocd-server"), bins.ArgoCD,
		"--kubeconfig="+c.kubeconfig, "--namespace="+ArgoCDNamespace,
		"--insecure", "--address=127.0.0.1", "--port="+srvPort, "--metrics-port="+srvMetricsPort,
		"--repo-server="+repo, "--repo-server-plaintext", "--redis="+redisAddr,
		"--staticassets="+dir,
		"--logformat=text", "--loglevel=info")
	a := &ArgoCD{c: c, server: "http://" + srv}
	c.waitReady("argocd-server", func() bool { return healthy(a.server + "/healthz") })
	return a
}

// repoServerFlags are the repo server's flags of opts.
func repoServerFlags(opts ArgoCDOptions) []string {
	if opts.RevisionCache > 0 {
		return []string{"--revision-cache-expiration=" + opts.RevisionCache.String()}
	}
	return nil
}

// ServerURL is argocd-server's base URL; its webhook is ServerURL()+"/api/webhook".
func (a *ArgoCD) ServerURL() string { return a.server }

// Logs is the tail of a component's log ("argocd-server", "argocd-repo-server", …).
func (a *ArgoCD) Logs(name string) string {
	for _, p := range a.c.procs {
		if p.name == name {
			return p.logs.tail(64 << 10)
		}
	}
	return ""
}

// argoCDObjects are what Argo CD's install manifests create besides its workloads: its
// namespace, the settings its components read (labelled as part of Argo CD, or they are not
// seen), and the default project.
func argoCDObjects(t testing.TB, opts ArgoCDOptions) string {
	reconciliation, webhookSecret := "", ""
	if opts.WebhookGitHubSecret != "" {
		webhookSecret = "\n  webhook.github.secret: " + strconv.Quote(opts.WebhookGitHubSecret)
	}
	if opts.Reconciliation > 0 {
		reconciliation = "\n  timeout.reconciliation: " + strconv.Quote(opts.Reconciliation.String()) +
			"\n  timeout.reconciliation.jitter: \"0s\""
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: %[1]s, labels: {app.kubernetes.io/part-of: argocd}}
data:
  admin.enabled: "false"%[2]s
---
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-rbac-cm, namespace: %[1]s, labels: {app.kubernetes.io/part-of: argocd}}
data: {}
---
apiVersion: v1
kind: Secret
metadata: {name: argocd-secret, namespace: %[1]s, labels: {app.kubernetes.io/part-of: argocd}}
stringData:
  server.secretkey: %[3]q%[4]s
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default, namespace: %[1]s}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
`, ArgoCDNamespace, reconciliation, randomHex(t, 32), webhookSecret)
}

// dialable says whether a TCP server answers at addr.
func dialable(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func splitAddr(t testing.TB, addr string) (host, port string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("cluster: address %q has no port", addr)
	}
	return addr[:i], addr[i+1:]
}

// lookPathPackage finds a binary from a Debian package, failing with how to install it.
func lookPathPackage(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("cluster: %s is not installed: run `make deps` (Debian package %s)", name, pkg)
	}
	return p
}
