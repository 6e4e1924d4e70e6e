package build

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := Current("v0.3.0")
	if b.Version != "v0.3.0" || b.GoVersion == "" {
		t.Fatalf("build %+v", b)
	}
	if err := Register(reg, b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP mutualis_build_info The build of the mutualis operator that runs: always 1, with its version, commit and Go version as labels.
# TYPE mutualis_build_info gauge
mutualis_build_info{commit="` + b.Commit + `",goversion="` + b.GoVersion + `",version="v0.3.0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mutualis_build_info"); err != nil {
		t.Error(err)
	}
	if Current("").Version == "" {
		t.Error("a build without a version says none")
	}
}
