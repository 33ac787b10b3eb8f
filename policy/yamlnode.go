package policy

import "go.yaml.in/yaml/v3"

// MappingValue is the value of the first key named key in a YAML mapping node, or nil when m
// is not a mapping or has no such key. It is the one lookup the packages that read manifests
// as nodes share (the replica editor, import, finding a replica key): a key is a scalar, and
// merge keys and aliases are the caller's to refuse or resolve.
func MappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
