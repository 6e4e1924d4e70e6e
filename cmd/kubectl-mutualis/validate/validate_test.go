package validate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate/validatetest"
)

func validateFiles(t *testing.T, paths ...string) *validate.Report {
	t.Helper()
	schemas, err := validate.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	docs, findings := validate.Load(paths)
	rep := validate.Tree(context.Background(), schemas, docs, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	rep.Findings = append(findings, rep.Findings...)
	return rep
}

func fileLines(t *testing.T, f string) []string {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")
}

// Every bad case is reported as its want lines say, on the right line, and with nothing else.
func TestEachBadCaseIsReportedWhereItIs(t *testing.T) {
	cases, err := validatetest.ReadCases("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	// a case that changes the policy changes it for the whole tree: it has a folder of its own
	policyCases, err := validatetest.ReadCases("testdata/bad-policy")
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, policyCases...)
	if len(cases) < 21 {
		t.Fatalf("%d cases; the bad tree has lost some", len(cases))
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.File), func(t *testing.T) {
			if len(c.Wants) == 0 {
				t.Fatal("a case without a want line tests nothing")
			}
			rep := validateFiles(t, c.File)
			lines := fileLines(t, c.File)
			for _, f := range rep.Findings {
				t.Logf("%s", f)
			}
			if got, want := rep.Errors(), len(c.Wants); got != want {
				t.Errorf("%d errors, want %d", got, want)
			}
			for _, w := range c.Wants {
				found := false
				for _, f := range rep.Findings {
					found = found || validatetest.Matches(w, f, lines)
				}
				if !found {
					t.Errorf("no finding %s %s at a line with %q", w.Object, w.Reason, w.At)
				}
			}
		})
	}
}

// The whole bad tree in one run: every problem of every file, and a non-zero count of errors.
func TestOneRunReportsEveryProblemOfTheTree(t *testing.T) {
	cases, err := validatetest.ReadCases("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	rep := validateFiles(t, "testdata/bad")
	want := 0
	for _, c := range cases {
		lines := fileLines(t, c.File)
		for _, w := range c.Wants {
			want++
			found := false
			for _, f := range rep.Findings {
				found = found || (f.File == c.File && validatetest.Matches(w, f, lines))
			}
			if !found {
				t.Errorf("%s: %s %s missing from the tree's run", c.File, w.Object, w.Reason)
			}
		}
	}
	if rep.Errors() != want {
		for _, f := range rep.Findings {
			t.Logf("%s", f)
		}
		t.Errorf("%d errors in the tree's run, want %d", rep.Errors(), want)
	}
}

// The shipped samples (catalogue, policy, tenants) validate, and the summary counts them.
func TestShippedSamplesValidate(t *testing.T) {
	rep := validateFiles(t, "../../../config/samples")
	for _, f := range rep.Findings {
		t.Errorf("%s", f)
	}
	if rep.Counts["SharedApplication"] < 5 || rep.Counts["Commune"] < 2 || !strings.Contains(rep.PolicyFile, "tenancypolicy.yaml") {
		t.Errorf("summary %q", rep.Summary())
	}
	if !strings.HasPrefix(rep.Summary(), "valid: ") {
		t.Errorf("summary %q", rep.Summary())
	}
}

// A catalogue entry that tenants of the tree use and that declares no dataProtection is a warning
// (their record of processing activities would have an empty entry); one nobody uses is not.
func TestASubscribedApplicationWithoutDataProtectionIsAWarning(t *testing.T) {
	dir := t.TempDir()
	app := func(name string) string {
		return `apiVersion: mutualis.crtpl.be/v1alpha1
kind: SharedApplication
metadata:
  name: ` + name + `
spec:
  version: "1.0.0"
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: ` + name + `}
`
	}
	tree := app("dp-notes") + "---\n" + app("dp-unused") + `---
apiVersion: mutualis.crtpl.be/v1alpha1
kind: Commune
metadata:
  name: dp-brugelette
spec:
  nis: "51012"
  applications: [{name: dp-notes}]
`
	if err := os.WriteFile(filepath.Join(dir, "tree.yaml"), []byte(tree), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := validateFiles(t, dir)
	if rep.Errors() != 0 || len(rep.Findings) != 1 {
		t.Fatalf("findings: %v", rep.Findings)
	}
	f := rep.Findings[0]
	if f.Severity != validate.Warning || f.Reason != v1alpha1.ReasonDataProtectionMissing || f.Line != 5 || !strings.Contains(f.Message, "SharedApplication dp-notes") {
		t.Errorf("finding %s (line %d)", f, f.Line)
	}
}

// Holes of the gate a pull request relies on (issue 19): a folder with nothing to check fails; a
// tenant written in JSON, or with an upper-case extension, is read as the GitOps engine reads it;
// a file saved as Latin-1 is named, at its line, with the fix.
func TestTheGateHasNoHoles(t *testing.T) {
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "README.md"), []byte("# tenants\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep := validateFiles(t, empty); rep.Errors() == 0 || !strings.Contains(rep.Findings[0].Message, "nothing to check") {
		t.Errorf("a folder without objects: %v; want an error saying there is nothing to check", rep.Findings)
	}

	dir := t.TempDir()
	json := `{"apiVersion": "mutualis.crtpl.be/v1alpha1", "kind": "Commune", "metadata": {"name": "hotton"}, "spec": {"nis": "99999"}}`
	upper := "apiVersion: mutualis.crtpl.be/v1alpha1\nkind: Commune\nmetadata: {name: durbuy}\nspec:\n  nis: \"99998\"\n"
	for name, content := range map[string]string{"hotton.json": json, "durbuy.YAML": upper} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep := validateFiles(t, dir)
	for _, name := range []string{"hotton", "durbuy"} {
		found := false
		for _, f := range rep.Findings {
			found = found || f.Reason == v1alpha1.ReasonUnknownNIS && strings.Contains(f.Message, "Commune "+name+":")
		}
		if !found {
			t.Errorf("Commune %s with an unknown NIS code passed unchecked: %v", name, rep.Findings)
		}
	}

	latin1 := filepath.Join(t.TempDir(), "ans.yaml")
	content := "apiVersion: mutualis.crtpl.be/v1alpha1\nkind: Commune\nmetadata: {name: ans}\nspec:\n  nis: \"62003\"\n  displayName: \"Commune d'Ans \xe9\"\n"
	if err := os.WriteFile(latin1, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	rep = validateFiles(t, latin1)
	if rep.Errors() != 1 || rep.Findings[0].Line != 6 || !strings.Contains(rep.Findings[0].Message, "save it as UTF-8") {
		t.Errorf("a Latin-1 file: %v; want one error on line 6 saying to save it as UTF-8", rep.Findings)
	}
}

// A subscriber of a LicencePool that the schema refuses hears of that pool, not that none exists.
func TestARefusedPoolIsNamedByItsSubscribers(t *testing.T) {
	data, err := os.ReadFile("testdata/bad/seats-beyond-pool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tree := strings.Replace(string(data), "  seats: 10\n", "  seats: many\n", 1)
	if tree == string(data) {
		t.Fatal("the case no longer has a pool of 10 seats to break")
	}
	file := filepath.Join(t.TempDir(), "tree.yaml")
	if err := os.WriteFile(file, []byte(tree), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := validateFiles(t, file)
	found := false
	for _, f := range rep.Findings {
		found = found || f.Reason == v1alpha1.ReasonPoolExhausted && strings.Contains(f.Message, "LicencePool agree-sign") && strings.Contains(f.Message, "refused by the schema")
	}
	if !found {
		t.Errorf("the subscriber does not name the refused pool: %v", rep.Findings)
	}
}

// A folder with a kustomization is checked as kustomize builds it for the GitOps engine: a patch
// that breaks a commune is reported at the commune's document, a generated object is checked, and
// a file or folder that no kustomization lists is named (merged, it would onboard nobody).
func TestKustomizationsAreCheckedAsKustomizeBuildsThem(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("kustomization.yaml", `resources:
  - daverdisse.yaml
patches:
  - target: {kind: Commune, name: daverdisse}
    patch: |
      - op: replace
        path: /spec/nis
        value: "99999"
`)
	write("daverdisse.yaml", "# a commune\napiVersion: mutualis.crtpl.be/v1alpha1\nkind: Commune\nmetadata:\n  name: daverdisse\nspec:\n  nis: \"84016\"\n")
	write("forgotten.yaml", "apiVersion: mutualis.crtpl.be/v1alpha1\nkind: Commune\nmetadata:\n  name: bertrix\nspec:\n  nis: \"84009\"\n")
	write("namur/kustomization.yaml", "resources:\n  - namur.yaml\n")
	write("namur/namur.yaml", "apiVersion: mutualis.crtpl.be/v1alpha1\nkind: Commune\nmetadata:\n  name: namur\nspec:\n  nis: \"92094\"\n")

	rep := validateFiles(t, dir)
	var patched, forgotten, folder bool
	for _, f := range rep.Findings {
		patched = patched || f.Reason == v1alpha1.ReasonUnknownNIS && f.File == filepath.Join(dir, "daverdisse.yaml") && f.Line == 7 && strings.Contains(f.Message, "Commune daverdisse")
		forgotten = forgotten || f.Severity == validate.Warning && f.File == filepath.Join(dir, "forgotten.yaml") && strings.Contains(f.Message, "no kustomization lists this file")
		folder = folder || f.Severity == validate.Warning && f.File == filepath.Join(dir, "namur", "kustomization.yaml") && strings.Contains(f.Message, "no kustomization lists the folder")
		if strings.Contains(f.Message, "bertrix") || strings.Contains(f.Message, "Commune namur") {
			t.Errorf("an object nothing lists was checked as if applied: %s", f)
		}
	}
	if !patched {
		t.Errorf("the NIS code the patch sets is not reported at daverdisse.yaml:7: %v", rep.Findings)
	}
	if !forgotten || !folder {
		t.Errorf("the file and the folder no kustomization lists are not both named: %v", rep.Findings)
	}

	// kustomize refuses an empty kustomization (a province folder left with no tenant): so does
	// the gate
	write("namur/kustomization.yaml", "resources:\n")
	write("kustomization.yaml", "resources:\n  - daverdisse.yaml\n  - namur\n")
	if rep = validateFiles(t, dir); rep.Errors() == 0 || !strings.Contains(rep.Findings[0].Message, "kustomize cannot build") {
		t.Errorf("an empty kustomization: %v", rep.Findings)
	}

	// kustomize refuses a kustomization that lists a missing file: so does the gate
	write("kustomization.yaml", "resources:\n  - daverdisse.yaml\n  - missing.yaml\n")
	rep = validateFiles(t, dir)
	if rep.Errors() == 0 || !strings.Contains(rep.Findings[0].Message, "kustomize cannot build") {
		t.Errorf("a kustomization listing a missing file: %v", rep.Findings)
	}
}

// A YAML syntax error is reported at the line where it is, not at the block that encloses it.
func TestAYAMLErrorIsReportedAtItsLine(t *testing.T) {
	for name, c := range map[string]struct {
		content string
		line    int
	}{
		"a badly indented key": {"apiVersion: v1\nkind: X\nspec:\n  tier: small\n  applications:\n    - name: x\n   bad: indentation\n  other: 1\n", 7},
		"a tab":                {"apiVersion: v1\nkind: X\nspec:\n  tier: small\n\tseats: 3\n", 5},
		"an unclosed list":     {"apiVersion: v1\nkind: X\nspec:\n  admins:\n  - group: a\n  seats: [1, 2\n  other: 2\n", 7},
	} {
		file := filepath.Join(t.TempDir(), "tenant.yaml")
		if err := os.WriteFile(file, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		rep := validateFiles(t, file)
		if rep.Errors() != 1 || rep.Findings[0].Line != c.line || !strings.Contains(rep.Findings[0].Message, "not valid YAML") {
			t.Errorf("%s: %v; want one YAML error on line %d", name, rep.Findings, c.line)
		}
	}
}

// A catalogue entry's licence is an expression of the SPDX list, and an open-source entry's is on
// the list itself: the Region's barometer counts open source by it. Each is an error at
// spec.licence.
func TestALicenceOffTheSPDXListIsAnError(t *testing.T) {
	dir := t.TempDir()
	app := func(name, licence string) string {
		return `apiVersion: mutualis.crtpl.be/v1alpha1
kind: SharedApplication
metadata:
  name: ` + name + `
spec:
  version: "1.0.0"
  licence: ` + licence + `
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: ` + name + `}
`
	}
	tree := app("lic-agpl", "{model: OpenSource, spdx: AGPL-3.0-only}") + "---\n" + app("lic-typo", "{model: OpenSource, spdx: AGPL-3}") +
		"---\n" + app("lic-own", "{model: OpenSource, spdx: LicenseRef-vendor}") + "---\n" + app("lic-sold", "{model: PerSeat, spdx: LicenseRef-vendor}")
	if err := os.WriteFile(filepath.Join(dir, "tree.yaml"), []byte(tree), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := validateFiles(t, dir)
	got := map[string]string{}
	for _, f := range rep.Findings {
		if f.Severity == validate.Error && f.Line > 0 {
			got[f.Message[:strings.Index(f.Message, ":")]] = f.Message
		}
	}
	if len(got) != 2 || !strings.Contains(got["SharedApplication lic-typo"], `spdx "AGPL-3" is not an expression of the SPDX licence list`) ||
		!strings.Contains(got["SharedApplication lic-own"], "a licence of the publisher's own") {
		t.Errorf("findings: %v", rep.Findings)
	}
}

// An application that the tree's tenants subscribe to, and that calls a service outside the
// cluster the tree's TenancyPolicy does not approve, is a warning: the service stays closed.
func TestAnExternalEndpointTheCellDidNotApproveIsAWarning(t *testing.T) {
	dir := t.TempDir()
	tree := `apiVersion: mutualis.crtpl.be/v1alpha1
kind: TenancyPolicy
metadata:
  name: default
spec:
  network:
    externalEndpoints:
      - {host: api.ksz-bcss.fgov.be, port: 443, cidrs: ["193.191.208.0/20"]}
---
apiVersion: mutualis.crtpl.be/v1alpha1
kind: SharedApplication
metadata:
  name: ep-social
spec:
  version: "1.0.0"
  dataProtection: {purposes: ["aide sociale"], legalBasis: [LegalObligation], dataSubjects: [usagers], categories: [identification], retention: "10 ans"}
  externalEndpoints:
    - {host: api.ksz-bcss.fgov.be, port: 443, recipient: BCSS}
    - {host: smtp.example.be, port: 587, recipient: relais}
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: ep-social}
---
apiVersion: mutualis.crtpl.be/v1alpha1
kind: Commune
metadata:
  name: ep-brugelette
spec:
  nis: "51012"
  applications: [{name: ep-social}]
`
	if err := os.WriteFile(filepath.Join(dir, "tree.yaml"), []byte(tree), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := validateFiles(t, dir)
	if rep.Errors() != 0 || len(rep.Findings) != 1 {
		t.Fatalf("findings: %v", rep.Findings)
	}
	f := rep.Findings[0]
	if f.Severity != validate.Warning || f.Reason != v1alpha1.ReasonEndpointsWaiting || !strings.Contains(f.Message, "smtp.example.be:587/TCP") || strings.Contains(f.Message, "bcss") {
		t.Errorf("finding %s (line %d); want the relay only", f, f.Line)
	}
}
