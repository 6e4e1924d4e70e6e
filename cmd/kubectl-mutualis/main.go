// Command kubectl-mutualis is the kubectl plugin of mutualis (kubectl mutualis ... once on PATH):
// `new` writes a commune's or a CPAS's manifest from the NIS registry, ready to commit, and
// `validate` checks a tree of manifests offline, as a pull request's CI does, with the operator's
// own rules; `status` shows every tenant of a cluster, problems first, `report` what the cell bills
// each of them a year, the regional barometer and a tenant's record of processing activities, and
// `audit` each tenant's security findings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate"
)

const usage = `kubectl mutualis: the tenants of a mutualis cell, from a Git tree

Commands:
  new commune <NIS|name> [flags]   the manifest of a Commune, from the NIS registry
  new cpas <commune> [flags]       the manifest of the commune's CPAS
  validate [-f] <file or folder>...  check a tree offline: schema, CEL rules, registry and
                                   every rule the operator applies across objects
  status [--wide]                  every tenant of the cluster, problems first, with its
                                   applications and last backup
  report [-o table|csv|markdown]   each tenant's tier, quota, seats and yearly participation,
                                   from the TenancyPolicy's spec.pricing
  report barometer [-o ...]        the cell's figures by province, tier and kind: applications,
                                   backups, audit findings, seats, Pod Security levels
  report gdpr <tenant> [-o markdown|json]
                                   the tenant's record of processing activities (GDPR art. 30)
  audit [tenant...] [-o table|markdown|json] [--lang fr|en|de]
                                   the security audit of tenants, live and read-only: each
                                   finding with its severity, evidence and remedy

Run "kubectl mutualis <command> -h" for a command's flags.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the plugin without the process: its exit code is 0 when all went well, 1 when a
// validation found errors, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "new":
		err = runNew(args[1:], stdout, stderr)
	case "validate":
		return runValidate(ctx, args[1:], stdout, stderr)
	case "status":
		err = runStatus(ctx, args[1:], stdout, stderr)
	case "report":
		err = runReport(ctx, args[1:], stdout, stderr)
	case "audit":
		err = runAudit(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "kubectl mutualis: %s\n\n%s", ue, usage)
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "kubectl mutualis: %v\n", err)
		return 1
	}
	return 0
}

type usageError string

func (e usageError) Error() string { return string(e) }

// runValidate prints every finding of the tree, one per line as file:line: severity: message,
// then a one-line summary.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files multiFlag
	fs.Var(&files, "f", "a file or folder to check (repeatable; also taken as arguments)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kubectl mutualis validate [-f] <file or folder>...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	paths := append(files, fs.Args()...)
	if len(paths) == 0 {
		fs.Usage()
		return 2
	}
	schemas, err := validate.LoadSchemas()
	if err != nil {
		fmt.Fprintf(stderr, "kubectl mutualis: the embedded CRDs: %v\n", err)
		return 2
	}
	docs, findings := validate.Load(paths)
	rep := validate.Tree(ctx, schemas, docs, time.Now())
	rep.Findings = append(findings, rep.Findings...)
	for _, f := range rep.Findings {
		fmt.Fprintln(stdout, f)
	}
	fmt.Fprintln(stdout, rep.Summary())
	if rep.Errors() > 0 {
		return 1
	}
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
