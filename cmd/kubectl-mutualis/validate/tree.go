package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	yaml "go.yaml.in/yaml/v3"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/api/filesys"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	kusttypes "sigs.k8s.io/kustomize/api/types"
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
// a kustomization, built by kustomize's own library (patches, components, prefixes and generators
// count as they will on the cluster), each object placed at the line of the document it came
// from; any other folder walked whole, each .yaml, .yml and .json file of it, whatever the case
// of its extension (a GitOps engine applies them all). Findings report what cannot be read as a
// Kubernetes object, a kustomization kustomize refuses, files under a kustomization that nothing
// lists (the pull request would apply nothing of them), and paths that hold no object at all: a
// pull request checked against nothing must not pass.
func Load(paths []string) ([]*Document, []Finding) {
	l := &loader{seen: map[string]bool{}, listed: map[string]bool{}, parsed: map[string][]*Document{}}
	for _, p := range paths {
		l.path(p, true)
	}
	l.collect()
	sort.Strings(l.files)
	for _, f := range l.files {
		if abs, _ := filepath.Abs(f); l.listed[abs] {
			continue // a kustomization listed it: checked as kustomize built it
		}
		d, fs := l.parse(f)
		l.docs = append(l.docs, d...)
		l.findings = append(l.findings, fs...)
	}
	for _, root := range l.roots {
		l.unlisted(root, kustomizationIn(root))
	}
	if len(l.docs) == 0 && len(l.findings) == 0 {
		l.findings = append(l.findings, said(strings.Join(paths, ", "), 0, Error, "nothingToCheck"))
	}
	return l.docs, l.findings
}

type loader struct {
	files []string
	seen  map[string]bool
	// builds are the folders built by kustomize; roots, those no other build includes; listed,
	// the absolute paths of the files kustomize read.
	builds   []built
	roots    []string
	listed   map[string]bool
	parsed   map[string][]*Document
	docs     []*Document
	findings []Finding
}

// kustomizationNames are the file names kustomize looks for in a folder.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func isKustomization(p string) bool { return slices.Contains(kustomizationNames, filepath.Base(p)) }

// kustomizationIn is the kustomization file of a folder, or "".
func kustomizationIn(dir string) string {
	for _, name := range kustomizationNames {
		if k := filepath.Join(dir, name); fileExists(k) {
			return k
		}
	}
	return ""
}

// manifestFile says whether a GitOps engine walking a folder applies the file.
func manifestFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml" || ext == ".json"
}

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
		if isKustomization(p) {
			l.build(filepath.Dir(p))
		} else if given || manifestFile(p) {
			l.files = append(l.files, p)
		}
		return
	}
	if kustomizationIn(p) != "" {
		l.build(p)
		return
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

// parse reads a file's documents once, however many kustomizations list it.
func (l *loader) parse(file string) ([]*Document, []Finding) {
	if docs, ok := l.parsed[file]; ok {
		return docs, nil
	}
	docs, findings := loadFile(file)
	l.parsed[file] = docs
	return docs, findings
}

// build runs kustomize on a folder with a kustomization, with the load restrictions of Flux's
// kustomize-controller (a base may sit outside the folder). Each object kustomize emits is
// checked as it will reach the cluster, at the line of the document it came from; an object a
// generator made is placed on its kustomization.
func (l *loader) build(dir string) {
	b := built{dir: dir, read: map[string]bool{}}
	fs := &tracingFS{FileSystem: filesys.MakeFsOnDisk(), read: b.read}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = kusttypes.LoadRestrictionsNone
	resources, err := krusty.MakeKustomizer(opts).Run(fs, dir)
	if err != nil {
		b.findings = append(b.findings, said(kustomizationIn(dir), 1, Error, "kustomizeFailed", "Detail", err.Error()))
	} else {
		for _, r := range resources.Resources() {
			origin, _ := r.GetOrigin()
			d, f := l.builtDocument(dir, origin, r)
			if f != nil {
				b.findings = append(b.findings, *f)
				continue
			}
			b.docs = append(b.docs, d)
		}
	}
	l.builds = append(l.builds, b)
}

// built is what kustomize made of one folder, and every file it read to make it.
type built struct {
	dir      string
	read     map[string]bool
	docs     []*Document
	findings []Finding
}

// collect keeps the builds no other build includes (a catalogue given on its own and listed by
// the repository's kustomization is checked once, as part of the whole), and records what every
// build read.
func (l *loader) collect() {
	for _, b := range l.builds {
		for f := range b.read {
			l.listed[f] = true
		}
	}
	for i, b := range l.builds {
		own, _ := filepath.Abs(kustomizationIn(b.dir))
		included := false
		for j, other := range l.builds {
			included = included || (i != j && other.read[own])
		}
		if !included {
			l.roots = append(l.roots, b.dir)
			l.docs = append(l.docs, b.docs...)
			l.findings = append(l.findings, b.findings...)
		}
	}
}

// builtDocument is an object kustomize emitted, as the validator reads it, placed on the document
// of its origin.
func (l *loader) builtDocument(dir string, origin *resource.Origin, r *resource.Resource) (*Document, *Finding) {
	file, line := kustomizationIn(dir), 1
	var written *Document
	switch {
	case origin != nil && origin.Repo == "" && origin.Path != "":
		file = filepath.Join(dir, origin.Path)
		docs, _ := l.parse(file)
		id := r.OrgId()
		for _, d := range docs {
			if d.Kind == id.Kind && d.Name == id.Name {
				written = d
				break
			}
		}
	case origin != nil && origin.ConfiguredIn != "":
		file = filepath.Join(dir, origin.ConfiguredIn)
	}
	annotations := r.GetAnnotations()
	delete(annotations, kustomizeOriginAnnotation)
	if err := r.SetAnnotations(annotations); err != nil {
		return nil, &Finding{File: file, Line: line, Severity: Error, Message: err.Error()}
	}
	raw, err := r.MarshalJSON()
	if err != nil {
		f := said(file, line, Error, "builtUnreadable", "Detail", err.Error())
		return nil, &f
	}
	d := &Document{File: file, Line: line, Raw: raw}
	if written != nil {
		d.Line, d.node = written.Line, written.node
	}
	if err := utiljson.Unmarshal(raw, &d.Object); err != nil {
		f := said(file, d.Line, Error, "builtUnreadable", "Detail", err.Error())
		return nil, &f
	}
	d.APIVersion, d.Kind, d.Name = r.GetApiVersion(), r.GetKind(), r.GetName()
	return d, nil
}

// kustomizeOriginAnnotation is where kustomize records the file an object came from, when its
// kustomization asks for originAnnotations (tracingFS asks for it).
const kustomizeOriginAnnotation = "config.kubernetes.io/origin"

// tracingFS is the disk as kustomize reads it, recording each file it reads (what the
// kustomizations list, patches included) and asking every kustomization for the origin of its
// objects, so that an error is reported at the document it came from.
type tracingFS struct {
	filesys.FileSystem
	read map[string]bool
}

func (fs *tracingFS) ReadFile(path string) ([]byte, error) {
	data, err := fs.FileSystem.ReadFile(path)
	if err != nil {
		return data, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		fs.read[abs] = true
	}
	if !isKustomization(path) {
		return data, nil
	}
	k := map[string]any{}
	if sigsyaml.Unmarshal(data, &k) != nil {
		return data, nil // kustomize reports the error itself
	}
	declares := false
	for field, value := range k {
		declares = declares || (value != nil && field != "apiVersion" && field != "kind")
	}
	if !declares {
		return data, nil // kustomize refuses an empty kustomization: so must the gate
	}
	metadata, _ := k["buildMetadata"].([]any)
	if !slices.Contains(metadata, any(kusttypes.OriginAnnotations)) {
		k["buildMetadata"] = append(metadata, kusttypes.OriginAnnotations)
	}
	return sigsyaml.Marshal(k)
}

// unlisted warns about the manifests under a built folder that no kustomization read: merged,
// they would onboard nobody, and nothing else would say so. A folder with a kustomization of its
// own that nothing lists is named once.
func (l *loader) unlisted(dir, owner string) {
	if k := kustomizationIn(dir); k != "" {
		owner = k
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		abs, _ := filepath.Abs(p)
		switch {
		case strings.HasPrefix(e.Name(), "."):
		case e.IsDir():
			if k := kustomizationIn(p); k != "" {
				if ka, _ := filepath.Abs(k); !l.listed[ka] {
					l.findings = append(l.findings, said(k, 1, Warning, "folderUnlisted", "Folder", p, "Owner", owner))
					continue
				}
			}
			l.unlisted(p, owner)
		case manifestFile(e.Name()) && !isKustomization(p) && !l.listed[abs]:
			l.findings = append(l.findings, said(p, 1, Warning, "fileUnlisted", "Owner", owner))
		}
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
		return nil, []Finding{said(file, line, Error, "notUTF8")}
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
			findings = append(findings, syntaxError(file, data, err))
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
		f := said(file, n.Line, Error, "notAnObject")
		return nil, &f
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
		f := said(file, n.Line, Error, "notJSON", "Detail", err.Error())
		return nil, &f
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

// parserProblems are the YAML errors found by the parser rather than the scanner: the yaml.v2
// decoder reports their line counted from 0.
var parserProblems = []string{
	"did not find expected key", "did not find expected node content", "did not find expected '-' indicator",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected <document start>",
	"found duplicate %YAML directive", "found incompatible YAML document", "found duplicate %TAG directive",
	"found undefined tag handle",
}

// syntaxError places a YAML syntax error on the line where the parser met it. The v3 decoder
// names the start of the enclosing block (the "spec:" above a badly indented line, counted from
// 0); the v2 decoder, on the same libyaml, names the line of the problem itself, so the file is
// read again by it for the line, and the block is kept as context.
func syntaxError(file string, data []byte, v3err error) Finding {
	line, msg := yamlErrorLine(v3err), strings.TrimPrefix(v3err.Error(), "yaml: ")
	if _, after, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
		msg = after
	}
	dec := yamlv2.NewDecoder(bytes.NewReader(data))
	var err error
	for err == nil {
		var doc any
		err = dec.Decode(&doc)
	}
	if !errors.Is(err, io.EOF) {
		problem := yamlErrorLine(err)
		if slices.Contains(parserProblems, msg) {
			problem++ // counted from 0
			if block := line + 1; block < problem {
				msg += fmt.Sprintf(" (in the block that starts at line %d)", block)
			}
		}
		line = problem
	}
	return said(file, line, Error, "notYAML", "Detail", msg)
}

// at places a field error of the document on the line of its field.
func (d *Document) at(e *field.Error) Finding {
	return Finding{File: d.File, Line: d.lineOf(e.Field), Severity: Error, Message: fmt.Sprintf("%s: %s", d.Where(), e.Error())}
}
