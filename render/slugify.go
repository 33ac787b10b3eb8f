package render

import (
	"fmt"
	"sync"

	"github.com/gosimple/slug"
)

// slugMu guards the settings of github.com/gosimple/slug, which are package variables:
// Argo CD sets MaxLength and EnableSmartTruncate before each slug.Make, and so do we, under a
// lock, since ApplicationSets are expanded by concurrent workers.
var slugMu sync.Mutex

// slugify is Argo CD's slugify template function (applicationset/utils SlugifyName, v3.2.11),
// with the same library and version (github.com/gosimple/slug v1.15.0): the last argument is
// the name, a first of two or three an int maximum length (default 50), a second of three a
// bool turning smart truncation (cut after a whole word; default on) off. Argo CD ignores the
// arguments between the second and the last, and so do we. The name is normalized first
// (sanitizeName) as Argo CD does. Where Argo CD's type assertion would panic, and so fail the
// template, an error says which argument is wrong (docs/render-verification.md).
func slugify(args ...any) (string, error) {
	maxSize, smart, name := 50, true, ""
	for i, a := range args {
		switch i {
		case len(args) - 1:
			s, ok := a.(string)
			if !ok {
				return "", fmt.Errorf("slugify: the last argument (the name) is a %T, not a string", a)
			}
			name = s
		case 0:
			n, ok := a.(int)
			if !ok {
				return "", fmt.Errorf("slugify: the first argument (the maximum length) is a %T, not an int", a)
			}
			if n < 0 {
				return "", fmt.Errorf("slugify: the maximum length %d is negative", n)
			}
			maxSize = n
		case 1:
			b, ok := a.(bool)
			if !ok {
				return "", fmt.Errorf("slugify: the second argument (smart truncation) is a %T, not a bool", a)
			}
			smart = b
		}
	}
	name = sanitizeName(name)
	slugMu.Lock()
	defer slugMu.Unlock()
	slug.MaxLength, slug.EnableSmartTruncate = maxSize, smart
	return slug.Make(name), nil
}
