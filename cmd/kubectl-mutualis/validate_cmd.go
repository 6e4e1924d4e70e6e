package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate"
)

func newValidateCommand(o *options) *cobra.Command {
	var files []string
	var out *output
	var lang *language
	cmd := &cobra.Command{
		Use:   "validate [-f] <file or folder>...",
		Short: "Check a tree of manifests offline, with every rule the operator applies",
		Long: `Check a tree of manifests offline, as a pull request's CI does: the CRDs' schema and CEL rules, the
NIS registry, and every rule the operator applies across objects (a CPAS and its commune, domains,
the catalogue, licence seats, quotas). A folder is read through its kustomization, else for its
.yaml, .yml and .json files. Each finding is printed as file:line: severity: message, then a
summary; any error exits 1. -o json gives the findings to a program (in English, with each
finding's reason or message key); -o github writes them as GitHub Actions annotations, which land
on the pull request's lines. The text is French, German when every tenant of the tree is of the
German-speaking Community, or as --lang says; the operator's verdicts and the API's schema
messages keep their English after the sentence of their reason.`,
		Example: `  kubectl mutualis validate tenants catalog policy
  kubectl mutualis validate -f tenants/liege/liege.yaml`,
		GroupID: "git",
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := out.get()
			if err != nil {
				return err
			}
			paths := append(files, args...)
			if len(paths) == 0 {
				return fmt.Errorf("validate needs a file or a folder to check")
			}
			schemas, err := validate.LoadSchemas()
			if err != nil {
				return fmt.Errorf("the embedded CRDs: %w", err)
			}
			docs, findings := validate.Load(paths)
			rep := validate.Tree(cmd.Context(), schemas, docs, time.Now())
			rep.Findings = append(findings, rep.Findings...)
			p := i18n.For(lang.of(rep.Tenants...))
			if err := writeFindings(o.streams.Out, format, rep, p); err != nil {
				return err
			}
			fmt.Fprintln(o.streams.ErrOut, rep.SummaryIn(p))
			if rep.Errors() > 0 {
				return quietError{reason: rep.SummaryIn(p)}
			}
			return nil
		},
	}
	out = addOutputFlag(cmd, "text", "json", "github")
	lang = addLangFlag(cmd)
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "a file or folder to check (repeatable; also taken as arguments)")
	return cmd
}

// shownFindings is the -o json form of a validation.
type shownFindings struct {
	Valid    bool               `json:"valid"`
	Errors   int                `json:"errors"`
	Summary  string             `json:"summary"`
	Findings []validate.Finding `json:"findings"`
}

func writeFindings(w io.Writer, format string, rep *validate.Report, p *i18n.Printer) error {
	switch format {
	case "json":
		_, err := writeStructured(w, format, shownFindings{Valid: rep.Errors() == 0, Errors: rep.Errors(),
			Summary: rep.Summary(), Findings: append([]validate.Finding{}, rep.Findings...)})
		return err
	case "github":
		// workflow commands: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
		for _, f := range rep.Findings {
			fmt.Fprintf(w, "::%s file=%s,line=%d::%s\n", f.Severity, f.File, max(f.Line, 1), githubEscape(f.In(p)))
		}
		return nil
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(w, f.Said(p))
	}
	return nil
}

// githubEscape keeps a message on its annotation's one line, as the workflow commands require.
func githubEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}
