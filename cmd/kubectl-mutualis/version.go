package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/crtpl/mutualis/cmd/internal/build"
)

// version is set at build time (-ldflags "-X main.version=v0.2.0"); a build without it reports
// the module version and commit that Go recorded.
var version = ""

// currentBuild is what version prints.
func currentBuild() build.Info { return build.Current(version) }

func newVersionCommand(o *options) *cobra.Command {
	var out *output
	cmd := &cobra.Command{
		Use:   "version",
		Short: "The plugin's version and build",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			format, err := out.get()
			if err != nil {
				return err
			}
			b := currentBuild()
			if done, err := writeStructured(o.streams.Out, format, b); done {
				return err
			}
			commit := b.Commit
			if b.Modified {
				commit += " (modified)"
			}
			_, err = fmt.Fprintf(o.streams.Out, "kubectl-mutualis %s, commit %s, %s, %s\n", b.Version, commit, b.GoVersion, b.Platform)
			return err
		},
	}
	out = addOutputFlag(cmd, "text", "json", "yaml")
	return cmd
}
