package svcconfig

import "github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"

// The strict decoder's types (internal/strictyaml), named here for the config's own code.
type (
	FieldError = strictyaml.FieldError
	Source     = strictyaml.Source
	Duration   = strictyaml.Duration
)

// checker collects the problems of one config document (strictyaml.Checker), with the
// config's checks as its methods.
type checker struct {
	strictyaml.Checker
}
