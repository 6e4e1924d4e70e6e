package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsyaml "sigs.k8s.io/yaml"
)

// Document is one YAML document of the tree: where it starts, its node tree (for the lines of its
// fields) and its content as the API server would decode it.
type Document struct {
	File string
	Line int
	node *yaml.Node
	// Raw is the document as JSON, as written.
	Raw []byte
	// Object is the document as JSON-compatible maps; the schema check prunes and defaults it in
	// place, so that the cross-object checks see what the cluster would store.
	Object     map[string]any
	APIVersion string
	Kind       string
	Name       string
}

// Where names the document for a message: its kind and name.
func (d *Document) Where() string { return d.Kind + " " + d.Name }

// lineOf is the line of a field of the document, or of the deepest part of its path that the
// document has (the document's first line when it has none of it).
func (d *Document) lineOf(p string) int {
	n := d.node
	line := d.Line
	for _, seg := range pathSegments(p) {
		next, at := child(n, seg)
		if next == nil {
			break
		}
		n, line = next, at
	}
	return line
}

// has says whether the document has a field.
func (d *Document) has(p string) bool {
	n := d.node
	for _, seg := range pathSegments(p) {
		if n, _ = child(n, seg); n == nil {
			return false
		}
	}
	return true
}

// pathSegments splits a field path as field.Path prints it (spec.applications[0].parameters[key])
// into its keys and indexes.
func pathSegments(p string) []string {
	var out []string
	for p != "" {
		switch p[0] {
		case '.':
			p = p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return append(out, p[1:])
			}
			out = append(out, p[1:end])
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				return append(out, p)
			}
			out = append(out, p[:end])
			p = p[end:]
		}
	}
	return out
}

// child is the node of a key or an index, and the line that names it: a key's own line (where
// "applications:" is written, not its first item), an item's line.
func child(n *yaml.Node, seg string) (*yaml.Node, int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i].Line
		}
	}
	return nil, 0
}

// Load reads every .yaml and .yml file under the paths (a file, or a folder walked whole), each
// document of it. Findings report what cannot be read as a Kubernetes object.
func Load(paths []string) ([]*Document, []Finding) {
	var docs []*Document
	var findings []Finding
	var files []string
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if strings.HasPrefix(e.Name(), ".") && p != root {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := filepath.Ext(p); ext == ".yaml" || ext == ".yml" {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			findings = append(findings, Finding{File: root, Severity: Error, Message: err.Error()})
		}
	}
	sort.Strings(files)
	for _, f := range files {
		d, fs := loadFile(f)
		docs = append(docs, d...)
		findings = append(findings, fs...)
	}
	return docs, findings
}

func loadFile(file string) ([]*Document, []Finding) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, []Finding{{File: file, Severity: Error, Message: err.Error()}}
	}
	var docs []*Document
	var findings []Finding
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		root := &yaml.Node{}
		err := dec.Decode(root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// the decoder cannot go past a syntax error: the rest of the file is not read
			findings = append(findings, Finding{File: file, Line: yamlErrorLine(err), Severity: Error, Message: "not valid YAML: " + err.Error()})
			break
		}
		if len(root.Content) == 0 || (root.Content[0].Kind == yaml.ScalarNode && root.Content[0].Tag == "!!null") {
			continue // an empty document, such as after a trailing ---
		}
		d, f := document(file, root.Content[0])
		if f != nil {
			findings = append(findings, *f)
			continue
		}
		docs = append(docs, d)
	}
	return docs, findings
}

func document(file string, n *yaml.Node) (*Document, *Finding) {
	d := &Document{File: file, Line: n.Line, node: n}
	if n.Kind != yaml.MappingNode {
		return nil, &Finding{File: file, Line: n.Line, Severity: Error, Message: "a document must be a Kubernetes object (a mapping with apiVersion and kind)"}
	}
	raw, err := yaml.Marshal(n)
	if err == nil {
		raw, err = sigsyaml.YAMLToJSON(raw)
	}
	if err == nil {
		d.Raw = raw
		err = utiljson.Unmarshal(raw, &d.Object)
	}
	if err != nil {
		return nil, &Finding{File: file, Line: n.Line, Severity: Error, Message: "cannot read the document as JSON: " + err.Error()}
	}
	d.APIVersion, _ = d.Object["apiVersion"].(string)
	d.Kind, _ = d.Object["kind"].(string)
	if meta, ok := d.Object["metadata"].(map[string]any); ok {
		d.Name, _ = meta["name"].(string)
	}
	return d, nil
}

// yamlErrorLine finds the line in the decoder's message ("yaml: line 7: ...").
func yamlErrorLine(err error) int {
	var n int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+len("line "):], "%d", &n)
	}
	return n
}

// at places a field error of the document on the line of its field.
func (d *Document) at(e *field.Error) Finding {
	return Finding{File: d.File, Line: d.lineOf(e.Field), Severity: Error, Message: fmt.Sprintf("%s: %s", d.Where(), e.Error())}
}
