package svcconfig

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"
)

// API groups accepted for policy and config documents. The laravel group is the group of the
// original controller this project grew from; its documents keep working unchanged.
const (
	APIVersion       = "autoscaler.gitops.dev/v1alpha1"
	LegacyAPIVersion = "autoscaler.laravel.app/v1alpha1"
	KindConfig       = "AutoscalerConfig"
)

// CheckAPIVersion checks a document's apiVersion: one of the API groups of this product's
// documents, the policies' and the config's alike.
func CheckAPIVersion(c *strictyaml.Checker, v string) {
	switch v {
	case APIVersion, LegacyAPIVersion:
	case "":
		c.Errorf("apiVersion", "required: %s", APIVersion)
	default:
		c.Errorf("apiVersion", "must be %s (or the legacy %s), got %q", APIVersion, LegacyAPIVersion, v)
	}
}

// CheckHTTPURL accepts an absolute http(s) URL with a host and no credentials in it. Its error
// never repeats the URL's user information.
func CheckHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry credentials (%s): name them by file or environment variable", u.Redacted())
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http:// or https:// URL, got %q", raw)
	}
	return nil
}

// Server is the Prometheus server of that name, nil when the config defines none.
func (c *Config) Server(name string) *PrometheusServer {
	for i := range c.Prometheus {
		if c.Prometheus[i].Name == name {
			return &c.Prometheus[i]
		}
	}
	return nil
}
