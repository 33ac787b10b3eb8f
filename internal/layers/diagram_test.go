package layers

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// drawn reports whether a package of the module is in the diagram of docs/design.md §3: the
// product's packages, not the examples, the test servers, the cluster tier's build modules or
// this test.
func drawn(rel string) bool {
	for _, skip := range []string{"examples", "integration", "internal/testserver", "internal/layers"} {
		if rel == skip || strings.HasPrefix(rel, skip+"/") {
			return false
		}
	}
	return rel != "" && rel != "."
}

// reducedImports is the import graph of the drawn packages with every edge that another path
// already implies left out (a transitive reduction), as "a --> b" lines, sorted.
func reducedImports(pkgs []pkg) []string {
	graph := map[string][]string{}
	for _, p := range pkgs {
		if !drawn(p.rel) {
			continue
		}
		for _, imp := range p.imports {
			if q := relative(imp); drawn(q) {
				graph[p.rel] = append(graph[p.rel], q)
			}
		}
	}
	// reaches says whether b is reachable from a without the direct edge a → b.
	reaches := func(a, b string) bool {
		seen := map[string]bool{}
		var stack []string
		for _, n := range graph[a] {
			if n != b {
				stack = append(stack, n)
			}
		}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == b {
				return true
			}
			if !seen[n] {
				seen[n] = true
				stack = append(stack, graph[n]...)
			}
		}
		return false
	}
	var edges []string
	for a, bs := range graph {
		for _, b := range bs {
			if !reaches(a, b) {
				edges = append(edges, a+" --> "+b)
			}
		}
	}
	sort.Strings(edges)
	return slices.Compact(edges)
}

// diagramEdgeRE is one edge of the mermaid block: id["a/pkg"] --> id["b/pkg"].
var diagramEdgeRE = regexp.MustCompile(`^\s*\w+\["([^"]+)"\]\s*-->\s*\w+\["([^"]+)"\]\s*$`)

// diagramEdges reads the edges of the mermaid block that follows the marker line
// "<!-- package diagram: generated from go list; internal/layers checks it -->" in design.md.
func diagramEdges(t *testing.T, design string) []string {
	t.Helper()
	const marker = "<!-- package diagram: generated from go list; internal/layers checks it -->"
	_, after, ok := strings.Cut(design, marker)
	if !ok {
		t.Fatalf("docs/design.md: no line %q above the package diagram", marker)
	}
	_, block, ok := strings.Cut(after, "```mermaid\n")
	if !ok {
		t.Fatal("docs/design.md: no ```mermaid block after the package diagram's marker")
	}
	block, _, _ = strings.Cut(block, "```")
	var edges []string
	for _, line := range strings.Split(block, "\n") {
		if m := diagramEdgeRE.FindStringSubmatch(line); m != nil {
			edges = append(edges, m[1]+" --> "+m[2])
		}
	}
	sort.Strings(edges)
	return edges
}

// TestDesignDiagramIsTheImportGraph: the package diagram in docs/design.md §3 is the import
// graph as it is — every direct import between the product's packages that no other path
// implies — so a package added, removed or wired differently fails here until the diagram is
// redrawn (the test prints the edges to draw).
func TestDesignDiagramIsTheImportGraph(t *testing.T) {
	data, err := os.ReadFile("../../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	want := reducedImports(listPackages(t))
	got := diagramEdges(t, string(data))
	if len(want) == 0 {
		t.Fatal("no import between the product's packages: go list read nothing")
	}
	var missing, stale []string
	for _, e := range want {
		if !slices.Contains(got, e) {
			missing = append(missing, e)
		}
	}
	for _, e := range got {
		if !slices.Contains(want, e) {
			stale = append(stale, e)
		}
	}
	if len(missing)+len(stale) > 0 {
		t.Errorf("docs/design.md's package diagram is not the import graph.\nmissing edges:\n  %s\nedges that are not (or no longer) direct imports:\n  %s\nthe whole graph to draw:\n  %s",
			strings.Join(missing, "\n  "), strings.Join(stale, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestReducedImportsLeavesOutImpliedEdges(t *testing.T) {
	pkgs := []pkg{
		{rel: "cmd/x", imports: []string{module + "/gitops", module + "/policy", "fmt"}},
		{rel: "gitops", imports: []string{module + "/policy", module + "/internal/testserver/gittest"}},
		{rel: "policy"},
		{rel: "internal/testserver/gittest", imports: []string{module + "/policy"}},
	}
	got := reducedImports(pkgs)
	want := []string{"cmd/x --> gitops", "gitops --> policy"}
	if !slices.Equal(got, want) {
		t.Errorf("reducedImports = %q, want %q (cmd/x → policy is implied; test servers and the standard library are not drawn)", got, want)
	}
}
