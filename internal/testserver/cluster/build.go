package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The pinned versions. The modules that build them are build/kube, build/flux and
// build/notification, build/helm and build/ksm (each with its go.sum); change a version there
// and here together.
const (
	KubernetesVersion = "v1.34.4"
	FluxSourceVersion = "v1.9.5"
	FluxKustomizeVer  = "v1.9.5"
	// FluxNotificationVersion is notification-controller's: v1.9.0 is the release of the
	// v1.9 family (with source-controller v1.9.5) that the module proxy serves (v1.9.4 and
	// v1.9.5 are refused); it is built in a module of its own, build/notification.
	FluxNotificationVersion = "v1.9.0"
	// FluxHelmVersion is helm-controller's (issue 24), built in build/helm.
	FluxHelmVersion = "v1.6.4"
	// KubeStateMetricsVersion is kube-state-metrics' (k8s.io/kube-state-metrics/v2): v2.16.0,
	// as the module proxy refuses v2.17.0; built in build/ksm.
	KubeStateMetricsVersion = "v2.16.0"
)

// cacheName is the folder the binaries are kept in, named after the versions, so a change of
// version builds afresh and an unchanged one is reused across runs on one machine.
var cacheName = "kube-" + KubernetesVersion + "_source-" + FluxSourceVersion + "_kustomize-" + FluxKustomizeVer +
	"_notification-" + FluxNotificationVersion + "_helm-" + FluxHelmVersion +
	"_ksm-" + KubeStateMetricsVersion + "_" + runtime.Version()

// Bins are the built binaries and the CRDs of the controllers.
type Bins struct {
	APIServer, SourceController, KustomizeController, NotificationController, HelmController string
	KubeStateMetrics                                                                         string
	CRDs                                                                                     []string
}

// CacheDir is where the binaries are kept: $GITOPS_AUTOSCALER_CLUSTER_CACHE, else a folder of
// the user cache directory, outside the repository.
func CacheDir() (string, error) {
	if d := os.Getenv("GITOPS_AUTOSCALER_CLUSTER_CACHE"); d != "" {
		return filepath.Join(d, cacheName), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "gitops-autoscaler-cluster", cacheName), nil
}

// Binaries is Build for a test: it fails the test when a binary cannot be built.
func Binaries(t testing.TB) Bins {
	t.Helper()
	b, err := Build(t.Logf)
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	return b
}

// Build builds what is not built yet, under a file lock so that test binaries of several
// packages building at once build each binary once, and returns them with the CRD files.
// `make cluster` runs it ahead of the tests, so that a cold build does not count against a
// test's timeout.
func Build(logf func(format string, args ...any)) (Bins, error) {
	dir, err := CacheDir()
	if err != nil {
		return Bins{}, fmt.Errorf("cache directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Bins{}, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return Bins{}, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return Bins{}, fmt.Errorf("lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck

	_, self, _, _ := runtime.Caller(0)
	mods := filepath.Join(filepath.Dir(self), "build")
	version := "-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
		" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=" +
		strings.Split(KubernetesVersion, ".")[1]
	var b Bins
	for _, x := range []struct {
		out            *string
		mod, name, pkg string
		ldflags        string
	}{
		{&b.APIServer, "kube", "kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", version},
		{&b.SourceController, "flux", "source-controller", "github.com/fluxcd/source-controller", ""},
		{&b.KustomizeController, "flux", "kustomize-controller", "github.com/fluxcd/kustomize-controller", ""},
		{&b.NotificationController, "notification", "notification-controller", "github.com/fluxcd/notification-controller", ""},
		{&b.HelmController, "helm", "helm-controller", "github.com/fluxcd/helm-controller", ""},
		{&b.KubeStateMetrics, "ksm", "kube-state-metrics", "k8s.io/kube-state-metrics/v2", ""},
	} {
		if *x.out, err = build(logf, dir, filepath.Join(mods, x.mod), x.name, x.pkg, x.ldflags); err != nil {
			return Bins{}, err
		}
	}
	// Every CRD of each controller: a controller's manager watches all of its kinds, and will not
	// start while one is missing.
	for _, x := range []struct{ dir, mod string }{
		{"flux", "github.com/fluxcd/source-controller"}, {"flux", "github.com/fluxcd/kustomize-controller"},
		{"notification", "github.com/fluxcd/notification-controller"}, {"helm", "github.com/fluxcd/helm-controller"},
	} {
		mod := x.mod
		src, err := goOutput(filepath.Join(mods, x.dir), "list", "-m", "-f", "{{.Dir}}", mod)
		if err != nil {
			return Bins{}, err
		}
		crds, err := filepath.Glob(filepath.Join(src, "config", "crd", "bases", "*.yaml"))
		if err != nil || len(crds) == 0 {
			return Bins{}, fmt.Errorf("no CRDs in %s/config/crd/bases", mod)
		}
		b.CRDs = append(b.CRDs, crds...)
	}
	return b, nil
}

// build builds pkg of the module in modDir into dir/name unless it is there already.
func build(logf func(string, ...any), dir, modDir, name, pkg, ldflags string) (string, error) {
	out := filepath.Join(dir, name)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	start := time.Now()
	tmp := out + ".building"
	args := []string{"build", "-trimpath", "-o", tmp}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	if _, err := goOutput(modDir, append(args, pkg)...); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	logf("cluster: built %s in %s", name, time.Since(start).Round(time.Second))
	return out, nil
}

func goOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s (in build/%s): %v\n%s", strings.Join(args, " "), filepath.Base(dir), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}
