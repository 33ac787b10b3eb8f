package policy

import (
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"
)

// The strict decoder's types, shared with every document this package reads (policies and the
// service config): a problem at file:line:field, a warning, where a document was read from, a
// duration written as "90s". They are defined in internal/strictyaml and named here too, so
// that callers keep writing policy.FieldError and policy.Duration.
type (
	FieldError = strictyaml.FieldError
	Warning    = strictyaml.Warning
	Source     = strictyaml.Source
	Duration   = strictyaml.Duration
)
