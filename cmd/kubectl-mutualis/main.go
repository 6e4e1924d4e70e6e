// Command kubectl-mutualis is the kubectl plugin of mutualis (kubectl mutualis ... once on PATH):
// `new` writes a commune's or a CPAS's manifest from the NIS registry, ready to commit, and
// `validate` checks a tree of manifests offline, as a pull request's CI does, with the operator's
// own rules; `status` shows tenants, problems first, `report` what the cell bills each of them a
// year, the regional barometer and a tenant's record of processing activities, and `audit` each
// tenant's security findings.
//
// The commands are cobra commands with kubectl's connection flags (k8s.io/cli-runtime): --as,
// --context, -n and the rest mean what they mean to kubectl, and the client-go credential plugins
// (exec, OIDC) are linked. Results go to stdout, warnings and summaries to stderr, and any error
// exits 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	// the credential plugins a cell's kubeconfig may name (OIDC); exec plugins are built in
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	args := os.Args[1:]
	// kubectl completes a plugin's arguments by running kubectl_complete-<plugin> from the PATH:
	// a link of that name to this binary answers as cobra's hidden completion command
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl_complete-") {
		args = append([]string{cobra.ShellCompRequestCmd}, args...)
	}
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	os.Exit(run(context.Background(), args, streams))
}

// run is the plugin without the process: 0 when all went well, 1 on any error (a usage error, a
// cluster that cannot be read, a tree that does not validate).
func run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	root := newRootCommand(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var quiet quietError
	switch {
	case errors.As(err, &quiet):
		// the command has already said why (validate prints its findings and summary)
		return 1
	case err != nil:
		fmt.Fprintf(streams.ErrOut, "kubectl mutualis: %v\n", err)
		return 1
	}
	return 0
}

// quietError fails the command without a message of its own.
type quietError struct{ reason string }

func (e quietError) Error() string { return e.reason }

// options are what every command shares: where it writes and how it reaches the cluster.
type options struct {
	streams genericiooptions.IOStreams
	config  *genericclioptions.ConfigFlags
}

func newRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{streams: streams, config: genericclioptions.NewConfigFlags(true)}
	root := &cobra.Command{
		Use:   "kubectl-mutualis",
		Short: "The tenants of a mutualis cell: write, check, inspect and audit them",
		Long: `kubectl mutualis: the tenants of a mutualis cell, from a Git tree to the cluster.

A commune's or a CPAS's people run status, audit and report gdpr on their own tenant with their
own rights; the cell's platform engineers run them on every tenant. new and validate work offline.`,
		Annotations:       map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl mutualis"},
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	o.config.AddFlags(root.PersistentFlags())
	root.AddGroup(&cobra.Group{ID: "git", Title: "Offline, on a Git tree:"}, &cobra.Group{ID: "cluster", Title: "On a cluster:"})
	root.AddCommand(
		newNewCommand(o),
		newValidateCommand(o),
		newStatusCommand(o),
		newReportCommand(o),
		newAuditCommand(o),
		newExportCommand(o),
		newOffboardCommand(o),
		newVersionCommand(o),
	)
	// a flag error names the flag and the command's help, without the whole usage
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see kubectl mutualis %s --help)", err, strings.TrimPrefix(c.CommandPath(), "kubectl-mutualis "))
	})
	return root
}

// exactTenants is cobra's argument check for the commands that read tenants by name, with a
// message that says what a tenant name looks like.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, not %v", cmd.CommandPath(), args)
	}
	return nil
}
