package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

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

// Load reads the documents of the paths as a GitOps tool would apply them: a file; a folder with
// a kustomization, the resources it lists (folders of their own, followed in turn, and files);
// any other folder walked whole, each .yaml, .yml and .json file of it, whatever the case of its
// extension (a GitOps engine applies them all). Findings report what cannot be read as a
// Kubernetes object, a kustomization that changes what it lists, which the validator checks as
// written, and paths that hold no object at all: a pull request checked against nothing must not
// pass.
func Load(paths []string) ([]*Document, []Finding) {
	l := &loader{seen: map[string]bool{}}
	for _, p := range paths {
		l.path(p, true)
	}
	sort.Strings(l.files)
	for _, f := range l.files {
		d, fs := loadFile(f)
		l.docs = append(l.docs, d...)
		l.findings = append(l.findings, fs...)
	}
	if len(l.docs) == 0 && len(l.findings) == 0 {
		l.findings = append(l.findings, Finding{File: strings.Join(paths, ", "), Severity: Error,
			Message: "nothing to check: no Kubernetes object found (a folder is read for its .yaml, .yml and .json files, or through its kustomization)"})
	}
	return l.docs, l.findings
}

type loader struct {
	files    []string
	seen     map[string]bool
	docs     []*Document
	findings []Finding
}

// kustomizationNames are the file names kustomize looks for in a folder.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func (l *loader) path(p string, given bool) {
	abs, err := filepath.Abs(p)
	if err != nil || l.seen[abs] {
		return
	}
	l.seen[abs] = true
	info, err := os.Stat(p)
	if err != nil {
		l.findings = append(l.findings, Finding{File: p, Severity: Error, Message: err.Error()})
		return
	}
	if !info.IsDir() {
		if filepath.Base(p) == "kustomization.yaml" || filepath.Base(p) == "kustomization.yml" {
			l.kustomization(p)
		} else if ext := strings.ToLower(filepath.Ext(p)); given || ext == ".yaml" || ext == ".yml" || ext == ".json" {
			l.files = append(l.files, p)
		}
		return
	}
	for _, name := range kustomizationNames {
		if k := filepath.Join(p, name); fileExists(k) {
			l.kustomization(k)
			return
		}
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		l.findings = append(l.findings, Finding{File: p, Severity: Error, Message: err.Error()})
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		l.path(filepath.Join(p, e.Name()), false)
	}
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}

// kustomization follows the resources a kustomization lists. Remote resources are left to the
// GitOps tool; what transforms the resources (patches, prefixes...) is not applied here.
func (l *loader) kustomization(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		l.findings = append(l.findings, Finding{File: file, Severity: Error, Message: err.Error()})
		return
	}
	k := map[string]any{}
	if err := sigsyaml.Unmarshal(data, &k); err != nil {
		l.findings = append(l.findings, Finding{File: file, Line: yamlErrorLine(err), Severity: Error, Message: "not a valid kustomization: " + err.Error()})
		return
	}
	var transforms []string
	for field := range k {
		switch field {
		case "apiVersion", "kind", "metadata", "resources":
		default:
			transforms = append(transforms, field)
		}
	}
	if len(transforms) > 0 {
		sort.Strings(transforms)
		l.findings = append(l.findings, Finding{File: file, Line: 1, Severity: Warning,
			Message: fmt.Sprintf("the kustomization also has %s: the resources are checked as written, not as kustomize changes them", strings.Join(transforms, ", "))})
	}
	resources, _ := k["resources"].([]any)
	for _, r := range resources {
		ref, _ := r.(string)
		if ref == "" || strings.Contains(ref, "://") || strings.HasPrefix(ref, "github.com/") {
			continue
		}
		l.path(filepath.Join(filepath.Dir(file), ref), true)
	}
}

// invalidUTF8At is the offset of the first byte that is not UTF-8.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

func loadFile(file string) ([]*Document, []Finding) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, []Finding{{File: file, Severity: Error, Message: err.Error()}}
	}
	return Parse(file, data)
}

// Parse reads the YAML documents of one file's content; file names them in findings.
func Parse(file string, data []byte) ([]*Document, []Finding) {
	if !utf8.Valid(data) {
		// the API server and the GitOps engines read UTF-8 only; an editor of Windows often
		// saves Latin-1 (é, è, ü of a commune's name)
		line := 1 + bytes.Count(data[:invalidUTF8At(data)], []byte("\n"))
		return nil, []Finding{{File: file, Line: line, Severity: Error,
			Message: "the file is not UTF-8 (an accented letter saved as Latin-1 or Windows-1252?): save it as UTF-8"}}
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
