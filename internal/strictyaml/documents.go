package strictyaml

import (
	"bytes"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
)

// EachDocument parses the documents of data one by one and hands fn each non-empty one's
// root node, its lines those of the file. A YAML syntax error spoils only its own document:
// the file is split at its document markers (a line that starts with "---", which YAML forbids
// inside any scalar), and each part is parsed on its own; fn gets the error (root nil), located
// in the file, and the rest of that part is skipped.
func EachDocument(file string, data []byte, fn func(root *yaml.Node, syntax *FieldError)) {
	for _, part := range Split(data) {
		for doc, err := range yamlnode.Documents(part.Data) {
			if err != nil {
				fe := SyntaxError(file, err)
				if fe.Line > 0 {
					fe.Line += part.Offset
				} else {
					fe.Line = part.Offset + 1
				}
				fn(nil, fe)
				break // the rest of this part is unreadable; the next part is not
			}
			shiftLines(doc, part.Offset)
			if len(doc.Content) == 0 || IsNull(doc.Content[0]) {
				continue // an empty document, e.g. after a trailing ---
			}
			fn(doc.Content[0], nil)
		}
	}
}

// ScalarField is the value and line of a top-level string key of a mapping, or the mapping's
// line when the key is absent.
func ScalarField(m *yaml.Node, key string) (string, int) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			return m.Content[i+1].Value, m.Content[i].Line
		}
	}
	return "", m.Line
}

// IsNull is whether a node is YAML's null (written as null, ~ or nothing).
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// Part is a slice of a file that holds one document (or, before the first marker,
// whatever precedes it), and the number of lines before it.
type Part struct {
	Data   []byte
	Offset int
}

// Split cuts data before every line that starts a document ("---" at the start of a
// line, followed by a space, a tab or the line's end).
func Split(data []byte) []Part {
	var parts []Part
	start, startLine, line := 0, 0, 0
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		if i > start && isDocumentMarker(data[i:next]) {
			parts = append(parts, Part{Data: data[start:i], Offset: startLine})
			start, startLine = i, line
		}
		i = next
		line++
	}
	return append(parts, Part{Data: data[start:], Offset: startLine})
}

func isDocumentMarker(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	return ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r')
}

// shiftLines adds the lines before a part to every node's line.
func shiftLines(n *yaml.Node, offset int) {
	if offset == 0 || n == nil {
		return
	}
	n.Line += offset
	for _, c := range n.Content {
		shiftLines(c, offset)
	}
}
