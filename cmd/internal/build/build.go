// Package build says which build of mutualis runs: the version given at build time, else the one
// Go recorded, with the commit, for the plugin's version command and the operator's
// mutualis_build_info metric.
package build

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Info is a build of mutualis.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// version is the release this binary was built as, from the repository's VERSION file: the
// Makefile and hack/release set it with
// -ldflags "-X github.com/crtpl/mutualis/cmd/internal/build.version=v0.1.0", for the operator and
// the plugin alike. A plain go build leaves it empty.
var version = ""

// Running is the build of this process.
func Running() Info { return Current(version) }

// Current is a build of the given version (empty: the module version Go recorded, or "(devel)").
func Current(version string) Info {
	b := Info{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
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

// Register adds mutualis_build_info, always 1, whose labels say the build: which version each
// replica runs shows in one query, during an upgrade too.
func Register(reg prometheus.Registerer, b Info) error {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mutualis_build_info",
		Help: "The build of the mutualis operator that runs: always 1, with its version, commit and Go version as labels.",
	}, []string{"version", "commit", "goversion"})
	g.WithLabelValues(b.Version, b.Commit, b.GoVersion).Set(1)
	return reg.Register(g)
}
