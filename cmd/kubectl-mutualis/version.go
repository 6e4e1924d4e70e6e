package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/crtpl/mutualis/cmd/internal/build"
)

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
			b := build.Running()
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
