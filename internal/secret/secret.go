package secret

import (
	"fmt"
	"os"
	"strings"
)

// Value is a secret value read from a file or the environment. It never prints.
type Value string

// String hides the value.
func (Value) String() string { return "<secret>" }

// GoString hides the value from %#v.
func (Value) GoString() string { return "<secret>" }

// MarshalJSON hides the value.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"<secret>"`), nil }

// Read is the one reader of secrets: from a file (surrounding whitespace trimmed, as files
// written by editors and Kubernetes end in a newline) or an environment variable, looked up
// with lookupEnv (os.LookupEnv when nil). what names the secret in errors. Nothing configured
// is an empty secret; a configured source that is missing or empty is an error. Errors name
// the file or variable, never the content.
func Read(what, file, env string, lookupEnv func(string) (string, bool)) (Value, error) {
	switch {
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", what, err) // *PathError: the path, never the content
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			return "", fmt.Errorf("read %s: file %s is empty", what, file)
		}
		return Value(v), nil
	case env != "":
		if lookupEnv == nil {
			lookupEnv = os.LookupEnv
		}
		v, ok := lookupEnv(env)
		if !ok {
			return "", fmt.Errorf("read %s: environment variable %s is not set", what, env)
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return "", fmt.Errorf("read %s: environment variable %s is empty", what, env)
		}
		return Value(v), nil
	}
	return "", nil
}
