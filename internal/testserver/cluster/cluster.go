package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// How long the parts may take to become ready, to stop, and how often a wait looks again.
const (
	readyTimeout = 90 * time.Second
	stopTimeout  = 10 * time.Second
	pollInterval = 100 * time.Millisecond
	// maxAnswer bounds what the harness reads of one API server answer.
	maxAnswer = 8 << 20
)

// Cluster is a running API server with etcd and Flux's source, kustomize, notification and
// helm controllers, for one test. Everything listens on 127.0.0.1 and is stopped in t.Cleanup.
type Cluster struct {
	t      testing.TB
	dir    string
	server string // https://127.0.0.1:port
	token  string
	http   *http.Client
	procs  []*proc
	// kubeconfig is the file the controllers read.
	kubeconfig string
	// receiver is notification-controller's webhook receiver, http://127.0.0.1:port.
	receiver string
	// ksm is kube-state-metrics' metrics address, host:port, when started.
	ksm string
}

// Option adds a part to a cluster.
type Option func(*options)

type options struct{ kubeStateMetrics bool }

// WithKubeStateMetrics also runs kube-state-metrics (Deployments only), for a Prometheus to
// scrape at KubeStateMetrics(): syncCheck reads kube_deployment_spec_replicas from it.
func WithKubeStateMetrics() Option { return func(o *options) { o.kubeStateMetrics = true } }

// Start builds (or reuses) the binaries, starts etcd, the API server and the controllers, and
// installs Flux's CRDs. It fails the test when a part is missing or does not come up: in CI a
// missing piece is a failure, never a skip.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bins := Binaries(t)
	etcd := lookPath(t, "etcd")
	dir := t.TempDir()
	c := &Cluster{t: t, dir: dir, token: randomHex(t, 16)}
	t.Cleanup(c.stop)

	etcdClient, etcdPeer := freeAddr(t), freeAddr(t)
	c.run("etcd", etcd,
		"--name=test", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls=http://"+etcdClient, "--advertise-client-urls=http://"+etcdClient,
		"--listen-peer-urls=http://"+etcdPeer, "--initial-advertise-peer-urls=http://"+etcdPeer,
		"--initial-cluster=test=http://"+etcdPeer, "--log-level=warn")

	saKey := filepath.Join(dir, "sa.key")
	writeRSAKey(t, saKey)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(c.token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	api := freeAddr(t)
	_, port, _ := net.SplitHostPort(api)
	c.server = "https://" + api
	c.run("kube-apiserver", bins.APIServer,
		"--etcd-servers=http://"+etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--authorization-mode=AlwaysAllow", "--token-auth-file="+tokens,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saKey, "--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.0.0.0/24", "--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false", "--disable-admission-plugins=ServiceAccount")
	c.http = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		// The API server's certificate is the self-signed one it made in --cert-dir.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test server
	}}
	c.waitReady("kube-apiserver", func() bool {
		code, _, err := c.do(http.MethodGet, "/readyz", "", nil)
		return err == nil && code == http.StatusOK
	})

	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, []byte(fmt.Sprintf(kubeconfigTemplate, c.server, c.token)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, crd := range bins.CRDs {
		b, err := os.ReadFile(crd)
		if err != nil {
			t.Fatalf("cluster: CRD: %v", err)
		}
		c.Apply(string(b))
	}
	c.Apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: flux-system}\n")
	for _, crd := range bins.CRDs {
		c.waitEstablished(crd)
	}

	storage := freeAddr(t)
	if err := os.MkdirAll(filepath.Join(dir, "artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"KUBECONFIG=" + c.kubeconfig, "RUNTIME_NAMESPACE=flux-system"}
	sourceHealth, kustomizeHealth, notificationHealth, helmHealth, receiver := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	c.receiver = "http://" + receiver
	c.runEnv("source-controller", env, bins.SourceController,
		"--storage-path="+filepath.Join(dir, "artifacts"), "--storage-addr="+storage, "--storage-adv-addr="+storage,
		"--metrics-addr="+freeAddr(t), "--health-addr="+sourceHealth,
		"--enable-leader-election=false", "--watch-all-namespaces=true", "--log-level=info")
	c.runEnv("kustomize-controller", env, bins.KustomizeController,
		"--metrics-addr="+freeAddr(t), "--health-addr="+kustomizeHealth,
		"--enable-leader-election=false", "--watch-all-namespaces=true", "--log-level=info")
	c.runEnv("notification-controller", env, bins.NotificationController,
		"--receiverAddr="+receiver, "--events-addr="+freeAddr(t),
		"--metrics-addr="+freeAddr(t), "--health-addr="+notificationHealth,
		"--enable-leader-election=false", "--watch-all-namespaces=true", "--log-level=info")
	// A HelmRelease needs disableWait: no kubelet runs the pods whose readiness Helm would wait for.
	c.runEnv("helm-controller", env, bins.HelmController,
		"--metrics-addr="+freeAddr(t), "--health-addr="+helmHealth,
		"--enable-leader-election=false", "--watch-all-namespaces=true", "--log-level=info")
	for name, addr := range map[string]string{"source-controller": sourceHealth, "kustomize-controller": kustomizeHealth,
		"notification-controller": notificationHealth, "helm-controller": helmHealth} {
		c.waitReady(name, func() bool { return healthy("http://" + addr + "/readyz") })
	}
	if o.kubeStateMetrics {
		c.ksm = freeAddr(t)
		host, port, _ := net.SplitHostPort(c.ksm)
		_, telemetry, _ := net.SplitHostPort(freeAddr(t))
		c.runEnv("kube-state-metrics", nil, bins.KubeStateMetrics,
			"--kubeconfig="+c.kubeconfig, "--resources=deployments",
			"--host="+host, "--port="+port, "--telemetry-host="+host, "--telemetry-port="+telemetry)
		c.waitReady("kube-state-metrics", func() bool { return healthy("http://" + c.ksm + "/metrics") })
	}
	return c
}

// KubeStateMetrics is kube-state-metrics' metrics address (host:port) for a scrape target;
// "" unless the cluster was started WithKubeStateMetrics.
func (c *Cluster) KubeStateMetrics() string { return c.ksm }

const kubeconfigTemplate = `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`

// Server is the API server's URL.
func (c *Cluster) Server() string { return c.server }

// ReceiverURL is notification-controller's webhook receiver: a Receiver's webhook is this
// URL and its status.webhookPath.
func (c *Cluster) ReceiverURL() string { return c.receiver }

// Kubeconfig is a kubeconfig file for the cluster.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// plurals are the resources the harness applies: kind -> (API path prefix, plural, namespaced).
var plurals = map[string]struct {
	plural     string
	namespaced bool
}{
	"Namespace":                {"namespaces", false},
	"CustomResourceDefinition": {"customresourcedefinitions", false},
	"Deployment":               {"deployments", true},
	"ConfigMap":                {"configmaps", true},
	"Secret":                   {"secrets", true},
	"GitRepository":            {"gitrepositories", true},
	"Kustomization":            {"kustomizations", true},
	"HelmRelease":              {"helmreleases", true},
	"HelmRepository":           {"helmrepositories", true},
	"Receiver":                 {"receivers", true},
}

// Apply server-side-applies every document of a YAML stream, as `kubectl apply
// --server-side --force-conflicts` would.
func (c *Cluster) Apply(manifests string) {
	c.t.Helper()
	for _, doc := range strings.Split(manifests, "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "-")) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct{ Name, Namespace string }
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			c.t.Fatalf("cluster: apply: %v", err)
		}
		if head.Kind == "" {
			continue
		}
		path, err := resourcePath(head.APIVersion, head.Kind, head.Metadata.Namespace, head.Metadata.Name)
		if err != nil {
			c.t.Fatalf("cluster: apply: %v", err)
		}
		code, body, err := c.do(http.MethodPatch, path+"?fieldManager=gitops-autoscaler-test&force=true", "application/apply-patch+yaml", []byte(doc))
		if err != nil || code/100 != 2 {
			c.t.Fatalf("cluster: apply %s %s: %d %v %s", head.Kind, head.Metadata.Name, code, err, body)
		}
	}
}

// resourcePath is the API path of one object.
func resourcePath(apiVersion, kind, namespace, name string) (string, error) {
	r, ok := plurals[kind]
	if !ok {
		return "", fmt.Errorf("kind %s is not one the harness knows (cluster.plurals)", kind)
	}
	prefix := "/apis/" + apiVersion
	if !strings.Contains(apiVersion, "/") {
		prefix = "/api/" + apiVersion
	}
	if r.namespaced {
		if namespace == "" {
			namespace = "default"
		}
		prefix += "/namespaces/" + namespace
	}
	return prefix + "/" + r.plural + "/" + name, nil
}

// Get reads an object into v (JSON); it reports whether the object exists.
func (c *Cluster) Get(apiVersion, kind, namespace, name string, v any) bool {
	c.t.Helper()
	path, err := resourcePath(apiVersion, kind, namespace, name)
	if err != nil {
		c.t.Fatal(err)
	}
	code, body, err := c.do(http.MethodGet, path, "", nil)
	if err != nil {
		c.t.Fatalf("cluster: get %s: %v", path, err)
	}
	if code == http.StatusNotFound {
		return false
	}
	if code != http.StatusOK {
		c.t.Fatalf("cluster: get %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		c.t.Fatalf("cluster: get %s: %v", path, err)
	}
	return true
}

// MergePatch applies a JSON merge patch to an object, e.g. to suspend a Kustomization or to
// ask Flux to reconcile now (the tests' tool, never the product's).
func (c *Cluster) MergePatch(apiVersion, kind, namespace, name, patch string) {
	c.t.Helper()
	path, err := resourcePath(apiVersion, kind, namespace, name)
	if err != nil {
		c.t.Fatal(err)
	}
	code, body, err := c.do(http.MethodPatch, path, "application/merge-patch+json", []byte(patch))
	if err != nil || code/100 != 2 {
		c.t.Fatalf("cluster: patch %s: %d %v %s", path, code, err, body)
	}
}

// Replicas is a Deployment's spec.replicas as the API server holds it, or -1 while it does not
// exist.
func (c *Cluster) Replicas(namespace, name string) int {
	c.t.Helper()
	var d struct {
		Spec struct {
			Replicas *int `json:"replicas"`
		} `json:"spec"`
	}
	if !c.Get("apps/v1", "Deployment", namespace, name, &d) {
		return -1
	}
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// WaitReplicas waits until a Deployment's spec.replicas is want, and says how long it took.
func (c *Cluster) WaitReplicas(namespace, name string, want int, timeout time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	last := -2
	for time.Since(start) < timeout {
		if last = c.Replicas(namespace, name); last == want {
			return time.Since(start)
		}
		time.Sleep(pollInterval)
	}
	c.t.Fatalf("cluster: deployment %s/%s: spec.replicas %d, want %d after %s\n%s", namespace, name, last, want, timeout, c.Logs())
	return 0
}

// Logs is the tail of every part's log, for a failing test.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "--- %s (tail)\n%s\n", p.name, p.logs.tail(3000))
	}
	return b.String()
}

// do sends one request to the API server and reads at most maxAnswer bytes of the answer.
func (c *Cluster) do(method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, c.server+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, b, err
}

// waitEstablished waits until the CRD of the file is served.
func (c *Cluster) waitEstablished(file string) {
	c.t.Helper()
	b, _ := os.ReadFile(file)
	var crd struct{ Metadata struct{ Name string } }
	_ = yaml.Unmarshal(b, &crd)
	c.waitReady("CRD "+crd.Metadata.Name, func() bool {
		var got struct {
			Status struct {
				Conditions []struct{ Type, Status string }
			}
		}
		if !c.Get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", crd.Metadata.Name, &got) {
			return false
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == "Established" && cond.Status == "True" {
				return true
			}
		}
		return false
	})
}

func (c *Cluster) waitReady(what string, ready func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for !ready() {
		for _, p := range c.procs {
			if p.exited() {
				c.t.Fatalf("cluster: %s exited while waiting for %s:\n%s", p.name, what, c.Logs())
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster: %s not ready after %s:\n%s", what, readyTimeout, c.Logs())
		}
		time.Sleep(pollInterval)
	}
}

func healthy(url string) bool {
	resp, err := (&http.Client{Timeout: time.Second}).Get(url)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// proc is one part of the cluster, a child process.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	logs *ringBuffer
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (c *Cluster) run(name, bin string, args ...string) { c.runEnv(name, nil, bin, args...) }

func (c *Cluster) runEnv(name string, env []string, bin string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = c.dir
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), logs: &ringBuffer{max: 64 << 10}}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("cluster: start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	c.procs = append(c.procs, p)
}

// stop ends the parts in the reverse order of their start: SIGTERM, then SIGKILL.
func (c *Cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if c.t.Failed() {
		c.t.Logf("cluster logs:\n%s", c.Logs())
	}
}

// ringBuffer keeps the last max bytes written to it.
type ringBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (r *ringBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.b = append(r.b, p...)
	if len(r.b) > r.max {
		r.b = append([]byte(nil), r.b[len(r.b)-r.max:]...)
	}
	return len(p), nil
}

func (r *ringBuffer) tail(n int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.b) > n {
		return string(r.b[len(r.b)-n:])
	}
	return string(r.b)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func writeRSAKey(t testing.TB, file string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// lookPath finds a binary from a Debian package, failing with how to install it.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if errors.Is(err, exec.ErrNotFound) || err != nil {
		t.Fatalf("cluster: %s is not installed: run `make deps` (Debian package etcd-server)", name)
	}
	return p
}
