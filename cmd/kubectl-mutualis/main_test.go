package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func plugin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// What new writes is a manifest that validates with the shipped catalogue: a commune and its CPAS
// onboard with one pull request.
func TestNewWritesManifestsThatValidate(t *testing.T) {
	dir := t.TempDir()
	code, commune, stderr := plugin(t, "new", "commune", "62063", "--app", "nextcloud", "--app", "iadelib", "--app", "esignature", "--seats", "esignature=12", "--set", "nextcloud.domain=cloud.liege.be", "--domain", "liege.be", "--admin-group", "liege-it")
	if code != 0 {
		t.Fatalf("new commune: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"name: liege\n", `nis: "62063"`, "displayName: Liège", "- name: nextcloud", "domain: cloud.liege.be", "seats: 12", "- liege.be", "kind: Group", "197217 inhabitants"} {
		if !strings.Contains(commune, want) {
			t.Errorf("commune manifest lacks %q:\n%s", want, commune)
		}
	}
	if strings.Contains(commune, "status") || strings.Contains(commune, "{}") || strings.Contains(commune, "null") {
		t.Errorf("commune manifest carries empty fields:\n%s", commune)
	}
	code, cpas, stderr := plugin(t, "new", "cpas", "Liège", "--share", "nextcloud", "--app", "iadelib")
	if code != 0 {
		t.Fatalf("new cpas: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"kind: CPAS", "communeRef: liege", "sharedApplications:", "CPAS de Liège"} {
		if !strings.Contains(cpas, want) {
			t.Errorf("CPAS manifest lacks %q:\n%s", want, cpas)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "liege.yaml"), []byte(commune+"---\n"+cpas), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := plugin(t, "validate", dir, "../../config/samples/catalog", "../../config/samples/policy")
	if code != 0 || !strings.HasPrefix(out, "valid: ") || strings.Count(out, "\n") != 1 {
		t.Errorf("validate of what new wrote: exit %d:\n%s", code, out)
	}

	// a German-speaking commune's CPAS is an ÖSHZ
	if _, eupen, _ := plugin(t, "new", "cpas", "63023"); !strings.Contains(eupen, "ÖSHZ Eupen") {
		t.Errorf("Eupen's CPAS:\n%s", eupen)
	}
}

func TestNewRefusesWhatTheRegistryDoesNotHold(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"new", "commune", "21004"}, 1, "neither the NIS code nor the name of a Walloon commune"},
		{[]string{"new", "commune", "Atlantis"}, 1, "neither the NIS code nor the name"},
		{[]string{"new", "commune", "82003"}, 1, "was retired on 2024-12-31; its successor is 82039"},
		{[]string{"new", "commune"}, 2, "needs the commune's NIS code or name"},
		{[]string{"new", "commune", "62063", "--set", "nextcloud.domain=x"}, 2, "--set nextcloud.domain=x names an application not given with --app"},
		{[]string{"new", "commune", "62063", "--app", "nextcloud", "--set", "domain"}, 2, "--set takes application.parameter=value"},
		{[]string{"new", "commune", "62063", "--app", "esignature", "--seats", "esignature=many"}, 2, "--seats takes application=count"},
		{[]string{"new", "province", "x"}, 2, "new takes commune or cpas"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
	} {
		code, _, stderr := plugin(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

// validate exits 0 with one summary line on a good tree, and 1 with every problem as
// file:line on a bad one.
func TestValidateExitCodesAndOutput(t *testing.T) {
	code, out, _ := plugin(t, "validate", "../../config/samples")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "valid: ") {
		t.Errorf("samples: exit %d:\n%s", code, out)
	}
	code, out, _ = plugin(t, "validate", "-f", "validate/testdata/bad")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) < 21 {
		t.Fatalf("bad tree: exit %d, %d lines:\n%s", code, len(lines), out)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "validate/testdata/bad/") || !strings.Contains(l, ".yaml:") || !strings.Contains(l, ": error: ") {
			t.Errorf("not file:line: error: %q", l)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "21 errors: ") {
		t.Errorf("summary %q", last)
	}
	if code, _, _ := plugin(t, "validate"); code != 2 {
		t.Errorf("validate without a path: exit %d, want 2", code)
	}
}
