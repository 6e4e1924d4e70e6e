package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate/validatetest"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func plugin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
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
	for _, want := range []string{"name: liege\n", `nis: "62063"`, "displayName: Liège", "- name: nextcloud", "domain: cloud.liege.be", "seats: 12", "- liege.be", "kind: Group", "# Liège (INS 62063, province de Liège, 197217 habitants au registre)"} {
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
	code, out, summary := plugin(t, "validate", dir, "../../config/samples/catalog", "../../config/samples/platform", "--lang", "en")
	if code != 0 || out != "" || !strings.HasPrefix(summary, "valid: ") {
		t.Errorf("validate of what new wrote: exit %d:\n%s%s", code, out, summary)
	}

	// a German-speaking commune's CPAS is an ÖSHZ
	if _, eupen, _ := plugin(t, "new", "cpas", "63023"); !strings.Contains(eupen, "ÖSHZ Eupen") {
		t.Errorf("Eupen's CPAS:\n%s", eupen)
	}
	// the names people use: German in the German-speaking Community, the French elision
	for args, want := range map[string]string{"commune 63001": "displayName: Amel", "cpas 63001": "displayName: ÖSHZ Amel", "cpas ans": "displayName: CPAS d'Ans",
		// the file's header in the commune's language
		"commune 63001 --lang de": "# Amel (NIS 63001, Provinz Lüttich,", "cpas ambleve": "# ÖSHZ Amel (NIS 63001): es braucht die Commune ambleve", "commune 63001 --lang fr": "# Amel (INS 63001, province de Liège,"} {
		if _, out, _ := plugin(t, append([]string{"new"}, strings.Fields(args)...)...); !strings.Contains(out, want) {
			t.Errorf("new %s lacks %q:\n%s", args, want, out)
		}
	}
}

func TestNewRefusesWhatTheRegistryDoesNotHold(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"new", "commune", "21004"}, 1, "« 21004 » n'est ni le code INS ni le nom d'une commune wallonne du registre"},
		{[]string{"new", "commune", "Atlantis", "--lang", "en"}, 1, `"Atlantis" is neither the NIS code nor the name`},
		{[]string{"new", "commune", "Liegge"}, 1, "vouliez-vous dire Liège (62063) ?"},
		{[]string{"new", "commune", "Liegge", "--lang", "de"}, 1, "meinten Sie Liège (62063)?"},
		{[]string{"new", "commune"}, 1, "needs the commune's NIS code or name"},
		{[]string{"new", "commune", "62063", "--set", "nextcloud.domain=x"}, 1, "--set nextcloud.domain=x names an application not given with --app"},
		{[]string{"new", "commune", "62063", "--app", "nextcloud", "--set", "domain"}, 1, "--set takes application.parameter=value"},
		{[]string{"new", "commune", "62063", "--app", "esignature", "--seats", "esignature=many"}, 1, "--seats takes application=count"},
		{[]string{"new", "province", "x"}, 1, "new writes a commune or a cpas, not \"province\""},
		{[]string{"frobnicate"}, 1, `unknown command "frobnicate"`},
		// what the API server would refuse is not written
		{[]string{"new", "commune", "62063", "--admin-group", ""}, 1, "le manifeste serait refusé"},
		{[]string{"new", "commune", "62063", "--domain", "liege..be", "--lang", "en"}, 1, "the manifest would be refused"},
		{[]string{"new", "commune", "63001", "--domain", "amel..be"}, 1, "das Manifest würde abgelehnt"},
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
	code, out, summary := plugin(t, "validate", "../../config/samples", "--lang", "en")
	if code != 0 || out != "" || !strings.HasPrefix(summary, "valid: ") {
		t.Errorf("samples: exit %d:\n%s%s", code, out, summary)
	}
	code, out, summary = plugin(t, "validate", "-f", "validate/testdata/bad", "--lang=en")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) < 20 {
		t.Fatalf("bad tree: exit %d, %d lines:\n%s", code, len(lines), out)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "validate/testdata/bad/") || !strings.Contains(l, ".yaml:") || !(strings.Contains(l, ": error: ") || strings.Contains(l, ": warning: ")) {
			t.Errorf("not file:line: error or warning: %q", l)
		}
	}
	cases, err := validatetest.ReadCases("validate/testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	wants := 0
	for _, c := range cases {
		wants += len(c.Wants)
	}
	if !strings.HasPrefix(summary, fmt.Sprintf("%d errors: ", wants)) {
		t.Errorf("summary %q, want %d errors", summary, wants)
	}
	if code, _, _ := plugin(t, "validate"); code != 1 {
		t.Errorf("validate without a path: exit %d, want 1", code)
	}
}

// copyTree copies config/samples into dir, keeping its layout (the GitOps sample refers to
// ../catalog and ../policy).
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The example GitOps repository validates; a copy broken in three places fails with each problem
// at its file and line.
func TestGitOpsSampleValidatesAndABrokenCopyDoesNot(t *testing.T) {
	code, out, summary := plugin(t, "validate", "../../config/samples", "--lang", "en")
	if code != 0 || !strings.HasPrefix(summary, "valid: ") || !strings.Contains(summary, "7 Commune") {
		t.Fatalf("the GitOps sample: exit %d:\n%s%s", code, out, summary)
	}
	dir := t.TempDir()
	copyTree(t, "../../config/samples", dir)
	repo := dir
	edit(t, filepath.Join(repo, "tenants/namur/namur.yaml"), `nis: "92094"`, `nis: "21004"`)
	mons := filepath.Join(repo, "tenants/hainaut/mons.yaml")
	data, _ := os.ReadFile(mons)
	_, cpasOnly, _ := strings.Cut(string(data), "---\n")
	if err := os.WriteFile(mons, []byte(cpasOnly), 0o644); err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(repo, "tenants/liege/eupen.yaml"), "  - name: iadelib\n  displayName: Eupen", "  - name: iadelibb\n  displayName: Eupen")
	code, out, _ = plugin(t, "validate", repo, "--lang", "en")
	t.Logf("the broken copy:\n%s", out)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		fmt.Sprintf("tenants/namur/namur.yaml:%d: error: Commune namur: NIS 21004 is not a Walloon commune", lineWith(t, filepath.Join(repo, "tenants/namur/namur.yaml"), `nis: "21004"`)),
		"tenants/namur/namur.yaml:", "CPAS namur: Commune namur cannot be served yet", // the CPAS of a refused commune waits
		"tenants/hainaut/mons.yaml:", "CPAS mons: Commune mons does not exist",
		"tenants/liege/eupen.yaml:", "SharedApplication iadelibb does not exist",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func lineWith(t *testing.T, file, text string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("%s has no %q", file, text)
	return 0
}

// validate speaks French by default, German for a tree of the German-speaking Community only,
// English on request: its own findings from the catalogues, the operator's verdicts by the
// sentence of their reason before the operator's English message.
func TestValidateSpeaksTheCommunesLanguage(t *testing.T) {
	code, out, summary := plugin(t, "validate", "-f", "validate/testdata/bad/yaml-syntax.yaml", "-f", "validate/testdata/bad/duplicate-nis.yaml")
	for _, want := range []string{": erreur : YAML invalide : ", ": erreur : Une autre commune utilise déjà ce code INS. — Commune agree-quievrain-bis: NIS 53068 is already declared"} {
		if !strings.Contains(out, want) {
			t.Errorf("French output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 || !strings.HasPrefix(summary, "2 erreurs : ") || !strings.Contains(summary, "selon les valeurs livrées par défaut") {
		t.Errorf("French summary: exit %d: %q", code, summary)
	}

	dir := t.TempDir()
	_, eupen, _ := plugin(t, "new", "commune", "63023", "--admin-group", "eupen-it")
	if err := os.WriteFile(filepath.Join(dir, "eupen.yaml"), []byte(eupen+"---\napiVersion: mutualis.crtpl.be/v1alpha2\nkind: Commune\nmetadata:\n  name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, summary = plugin(t, "validate", dir)
	if code != 1 || !strings.Contains(out, ": Fehler: mutualis.crtpl.be/v1alpha2 wird nicht bedient") || !strings.HasPrefix(summary, "1 Fehler: 1 Commune") {
		t.Errorf("a tree of Eupen alone, in German: exit %d:\n%s%s", code, out, summary)
	}
	if _, out, _ = plugin(t, "validate", dir, "--lang", "fr"); !strings.Contains(out, ": erreur : mutualis.crtpl.be/v1alpha2 n'est pas servie") {
		t.Errorf("--lang fr:\n%s", out)
	}
	// GitHub's annotations keep their English keyword and carry the reader's sentence
	if _, out, _ = plugin(t, "validate", dir, "-o", "github"); !strings.HasPrefix(out, "::error file=") || !strings.Contains(out, "wird nicht bedient") {
		t.Errorf("-o github in German:\n%s", out)
	}
}
