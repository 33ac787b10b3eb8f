package layers

import (
	"bufio"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/gitops-autoscaler/gitops-autoscaler"

// roots are the top-level directories whose packages a rule may name; any other entry is a
// standard-library package.
var roots = map[string]bool{"cmd": true, "examples": true, "gitops": true, "integration": true,
	"internal": true, "policy": true, "promclient": true, "render": true, "deploy": true}

type pkg struct {
	rel     string   // module-relative path ("." for the root)
	dir     string   // directory on disk
	imports []string // direct imports
	deps    []string // every transitive import
}

// listPackages is every non-test package of the module with its imports, as go list sees it.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("go list line %q", line)
		}
		pkgs = append(pkgs, pkg{rel: relative(f[0]), dir: f[1], imports: strings.Fields(f[2]), deps: strings.Fields(f[3])})
	}
	return pkgs
}

// relative is an import path of the module relative to it, or "" for one outside the module.
func relative(importPath string) string {
	switch {
	case importPath == module:
		return "."
	case strings.HasPrefix(importPath, module+"/"):
		return strings.TrimPrefix(importPath, module+"/")
	}
	return ""
}

// rule reads the "Must not import:" line of a doc.go, with its continuation lines.
func rule(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var text string
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s.Text()), "//"))
		if !in {
			rest, ok := strings.CutPrefix(line, "Must not import:")
			if !ok {
				continue
			}
			in, line = true, rest
		}
		text += " " + line
		if strings.HasSuffix(line, ".") {
			break
		}
	}
	var entries []string
	for _, e := range strings.Split(strings.TrimSuffix(strings.TrimSpace(text), "."), ",") {
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
		}
	}
	return entries, s.Err()
}

// forbids says whether the entry names the module-relative package rel.
func forbids(entry, rel string) bool {
	if sub, ok := strings.CutSuffix(entry, "/..."); ok {
		return rel == sub || strings.HasPrefix(rel, sub+"/")
	}
	return rel == entry
}

func isModuleEntry(entry string) bool {
	return roots[strings.SplitN(entry, "/", 2)[0]]
}

// TestEveryPackageKeepsTheImportsItsDocForbids fails when a package imports what its doc.go
// says it must not, when a package has no doc.go, and when a rule names a package that does
// not exist (a stale rule guards nothing).
func TestEveryPackageKeepsTheImportsItsDocForbids(t *testing.T) {
	pkgs := listPackages(t)
	exists := map[string]bool{}
	for _, p := range pkgs {
		exists[p.rel] = true
	}
	ruled := 0
	for _, p := range pkgs {
		doc := filepath.Join(p.dir, "doc.go")
		if _, err := os.Stat(doc); err != nil {
			t.Errorf("%s: no doc.go saying what the package owns", p.rel)
			continue
		}
		entries, err := rule(doc)
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if len(entries) > 0 {
			ruled++
		}
		for _, e := range entries {
			if !isModuleEntry(e) {
				for _, imp := range p.imports {
					if imp == e {
						t.Errorf("%s/doc.go: must not import %s, and it does", p.rel, e)
					}
				}
				continue
			}
			found := false
			for q := range exists {
				if forbids(e, q) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s/doc.go: the rule names %q, which is no package of the module", p.rel, e)
			}
			for _, d := range p.deps {
				if rel := relative(d); rel != "" && forbids(e, rel) {
					via := "directly"
					if !contains(p.imports, d) {
						via = "through another package of the module"
					}
					t.Errorf("%s/doc.go: must not import %s, and imports %s %s", p.rel, e, rel, via)
				}
			}
		}
	}
	if ruled < 10 {
		t.Errorf("only %d packages state a rule; the layers in docs/design.md §3 need more", ruled)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRuleReading holds the parser of the rule line to what doc.go files write.
func TestRuleReading(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{"none", "// Package x does y.\npackage x\n", nil},
		{"one line", "// Package x.\n//\n// Must not import: gitops/..., net/http.\npackage x\n", []string{"gitops/...", "net/http"}},
		{"continued", "// Must not import: gitops/..., render/...,\n// promclient/..., os/exec.\n// Other text.\npackage x\n", []string{"gitops/...", "render/...", "promclient/...", "os/exec"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "doc.go")
			if err := os.WriteFile(f, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := rule(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("rule = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestForbids holds the matching of an entry to a package: a subtree entry covers the package
// and everything under it, a plain entry that package alone.
func TestForbids(t *testing.T) {
	for _, tc := range []struct {
		entry, rel string
		want       bool
	}{
		{"gitops/...", "gitops", true},
		{"gitops/...", "gitops/gitrepo", true},
		{"gitops/...", "gitopsx", false},
		{"gitops", "internal/edit", false},
		{"gitops", "gitops", true},
		{"policy/...", path.Join("policy", "optimum"), true},
	} {
		if got := forbids(tc.entry, tc.rel); got != tc.want {
			t.Errorf("forbids(%q, %q) = %v, want %v", tc.entry, tc.rel, got, tc.want)
		}
	}
}

// TestTheLayersRulesAreStated holds the rules docs/design.md §3 draws as layers to their
// doc.go files: deleting one of these lines would let the layer go unguarded, so the rule
// itself is checked here, and TestEveryPackageKeepsTheImportsItsDocForbids checks the code.
func TestTheLayersRulesAreStated(t *testing.T) {
	for _, tc := range []struct {
		name, pkg, entry string
	}{
		{"the Git plumbing knows no policy documents or config", "gitops/gitrepo", "policy"},
		{"the Git plumbing knows no service config", "gitops/gitrepo", "internal/svcconfig"},
		{"the Git plumbing knows no engine", "gitops/gitrepo", "policy/engine"},
		{"the service config knows no policy documents", "internal/svcconfig", "policy"},
		{"the Git plumbing knows no decision message", "gitops/gitrepo", "gitops/commitmsg"},
		{"the Git plumbing knows no history meaning", "gitops/gitrepo", "gitops/history"},
		{"the object writer knows no repository or loop", "internal/gitobj", "gitops/..."},
		{"the object writer knows no policy", "internal/gitobj", "policy/..."},
		{"the strict decoder knows no document kind", "internal/strictyaml", "policy/..."},
		{"the strict decoder reads no files", "internal/strictyaml", "os"},
		{"the engine does no network I/O", "policy/engine", "net/http"},
		{"the engine reads no files", "policy/engine", "os"},
		{"the documents know no engine", "policy", "policy/engine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := rule(filepath.Join("..", "..", filepath.FromSlash(tc.pkg), "doc.go"))
			if err != nil {
				t.Fatal(err)
			}
			if !contains(entries, tc.entry) {
				t.Errorf("%s/doc.go: the rule no longer forbids %s (it names %q)", tc.pkg, tc.entry, entries)
			}
		})
	}
}
