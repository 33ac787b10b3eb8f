package yamlnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"

	"go.yaml.in/yaml/v3"
)

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

// Documents yields the documents of a multi-document YAML stream one by one, as document
// nodes, in order. A document that does not parse is yielded as its error (the decoder's, as
// is, or "parser failed: …" when the parser panics), and it is the last: the rest of the
// stream cannot be read past it. It is the one loop over the documents of a file that the
// packages reading YAML share (policies, owners, import, the replica editor, rendered
// manifests, Argo CD and Flux objects); each says what an error means to it.
func Documents(data []byte) iter.Seq2[*yaml.Node, error] {
	return func(yield func(*yaml.Node, error) bool) {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			doc := new(yaml.Node)
			err := decodeYAML(dec, doc)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(doc, nil) {
				return
			}
		}
	}
}

// decodeYAML is one Decode, with a panic of the parser turned into an error (the caller's
// own panics are not caught: they happen outside it).
func decodeYAML(dec *yaml.Decoder, doc *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser failed: %v", r)
		}
	}()
	return dec.Decode(doc)
}
