// Package validatetest reads the bad cases of the validator (testdata/bad): small trees, each with
// the problems its "# want:" lines name. The validator's tests and the operator's (controllers)
// replay the same cases, so that both are shown to reach the same verdict on the same input.
package validatetest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate"
)

// Case is one file of testdata/bad: a small tree with exactly the problems its "# want:" lines
// name, each as "<Kind>/<name> <Reason>" (a verdict of the planner), "<Kind>/<name> rejected" (the
// schema or a CEL rule) or "syntax", with "at <text>" for the text of the line it must be
// reported on. The controllers package replays the same cases against the operator.
type Case struct {
	File string
	// Cluster is false for a case that cannot be replayed on a shared control plane.
	Cluster bool
	Wants   []Want
}

// Want is one expected finding.
type Want struct {
	// Object is Kind/name; empty for a syntax error.
	Object string
	// Reason is the condition reason, or "rejected" or "syntax".
	Reason string
	// At is text of the line the finding must point to ("-" for any).
	At string
}

// ReadCases reads the cases of a folder.
func ReadCases(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, f := range files {
		c := Case{File: f, Cluster: true}
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "# cluster: skip") {
				c.Cluster = false
			}
			spec, ok := strings.CutPrefix(line, "# want: ")
			if !ok {
				continue
			}
			what, at, _ := strings.Cut(spec, " at ")
			w := Want{At: at}
			if obj, reason, ok := strings.Cut(what, " "); ok {
				w.Object, w.Reason = obj, reason
			} else {
				w.Reason = what
			}
			c.Wants = append(c.Wants, w)
		}
		fh.Close()
		out = append(out, c)
	}
	return out, nil
}

// Matches says whether a finding of the validator is the wanted one; lines are the case file's.
func Matches(w Want, f validate.Finding, lines []string) bool {
	if f.Severity != validate.Error {
		return false
	}
	switch w.Reason {
	case "syntax":
		if !strings.Contains(f.Message, "not valid YAML") {
			return false
		}
	case "rejected":
		// refused by the schema or a CEL rule, or as a kind mutualis does not serve
		kind, _, _ := strings.Cut(w.Object, "/")
		if f.Reason != "" || !strings.HasPrefix(f.Message, objectWords(w.Object)+":") && !strings.HasPrefix(f.Message, "kind "+kind+" ") {
			return false
		}
	default:
		if f.Reason != w.Reason || !strings.HasPrefix(f.Message, objectWords(w.Object)+":") {
			return false
		}
	}
	if w.At == "-" || w.At == "" {
		return true
	}
	return f.Line > 0 && f.Line <= len(lines) && strings.Contains(lines[f.Line-1], w.At)
}

func objectWords(o string) string { return strings.Replace(o, "/", " ", 1) }
