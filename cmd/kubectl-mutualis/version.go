package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time (-ldflags "-X main.version=v0.2.0"); a build without it reports
// the module version and commit that Go recorded.
var version = ""

// buildInfo is what version prints.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	return b
}

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
