package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crtpl/mutualis/controllers/audit"
)

// reasons are the values of the Reason constants of the API (and the reasons that are condition
// types, ExpiringSoon), read from its source so that a reason added there without its sentences
// fails this test.
func reasons(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "api", "v1alpha1", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the API's source: %v", err)
	}
	var out []string
	for _, f := range files {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range spec.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(spec.Values) {
					continue
				}
				if lit, ok := spec.Values[i].(*ast.BasicLit); ok {
					value, _ := strconv.Unquote(lit.Value)
					out = append(out, value)
				}
			}
			return true
		})
	}
	if len(out) < 50 {
		t.Fatalf("only %d reasons found in the API's source", len(out))
	}
	return append(out, "ExpiringSoon", "NotReconciled")
}

// Every reason a condition can carry has its sentence in French, German and English.
func TestEveryReasonHasItsSentenceInEachLanguage(t *testing.T) {
	for _, l := range Languages {
		p := For(l)
		for _, r := range reasons(t) {
			if p.Reason(r) == "" {
				t.Errorf("%s: no sentence for the reason %s in locales/%s.yaml", l, r, l)
			}
		}
	}
	// and they are different sentences, not copies of the English one
	for _, r := range []string{"UnknownNIS", "PoolExhausted", "FinalBackupInProgress"} {
		if For(French).Reason(r) == For(English).Reason(r) || For(German).Reason(r) == For(English).Reason(r) {
			t.Errorf("%s is not translated", r)
		}
	}
}

// The three catalogues have the same keys: a translator who adds a sentence to one adds it to the
// others.
func TestTheCataloguesHaveTheSameKeys(t *testing.T) {
	english, err := Keys(English)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []Lang{French, German} {
		keys, err := Keys(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range english {
			if !slices.Contains(keys, k) {
				t.Errorf("locales/%s.yaml lacks %s", l, k)
			}
		}
		for _, k := range keys {
			if !slices.Contains(english, k) {
				t.Errorf("locales/%s.yaml has %s, which en.yaml lacks", l, k)
			}
		}
	}
}

func TestTemplatesAreFilled(t *testing.T) {
	got := For(German).T("status.summary", "Total", 3, "Ready", 1, "NotReady", 1, "Stalled", 1, "Pending", 0)
	if got != "Mandanten: 3; bereit: 1; nicht bereit: 1; blockiert: 1; noch nicht bearbeitet: 0" {
		t.Errorf("%q", got)
	}
	if got := For(French).T("no.such.key"); got != "no.such.key" {
		t.Errorf("a missing key: %q", got)
	}
}

func TestTheLanguageOfACommunesPeople(t *testing.T) {
	for nis, want := range map[string]Lang{"63001": German, "63023": German, "62063": French, "99999": French} {
		if got := OfCommune(nis); got != want {
			t.Errorf("%s: %s, want %s", nis, got, want)
		}
	}
	if _, err := Parse("nl"); err == nil {
		t.Error("Dutch is not a language of the catalogues")
	}
}

// checkConstants are the values of the audit's Check constants, read from its source so that a
// check added there without its fields and sentences fails this test.
func checkConstants(t *testing.T) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "..", "..", "controllers", "audit", "audit.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := spec.Type.(*ast.Ident); ok && id.Name == "Check" {
			for _, v := range spec.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					value, _ := strconv.Unquote(lit.Value)
					out = append(out, value)
				}
			}
		}
		return true
	})
	return out
}

// Every check of the audit has its problem and its remedy in each language, and a sentence uses
// only the fields its check gives.
func TestEveryAuditCheckHasItsSentencesInEachLanguage(t *testing.T) {
	constants := checkConstants(t)
	if len(constants) < 20 || len(constants) != len(audit.Checks()) {
		t.Fatalf("%d Check constants in the audit's source, %d checks with named fields", len(constants), len(audit.Checks()))
	}
	for _, c := range constants {
		check := audit.Check(c)
		names := audit.FieldNames(check)
		f := audit.Finding{Check: check}
		for _, n := range names {
			f.Args = append(f.Args, "‹"+n+"›")
		}
		for _, l := range Languages {
			problem, remedy := For(l).Finding(f)
			for _, s := range []string{problem, remedy} {
				if strings.HasPrefix(s, "audit.") || strings.Contains(s, "<no value>") || s == "" {
					t.Errorf("%s in %s: %q", check, l, s)
				}
			}
			// a field the check gives is said, by the problem or the remedy
			for _, n := range names {
				if n != "Direction" && !strings.Contains(problem+remedy, "‹"+n+"›") {
					t.Errorf("%s in %s never says its %s: %q / %q", check, l, n, problem, remedy)
				}
			}
		}
	}
}

func TestAFindingIsSaidWithItsFields(t *testing.T) {
	review := audit.Finding{Check: audit.CheckAccess, Args: []string{"Group/liege-it", "ClusterRole/mutualis-tenant-admin"}}
	if got, _ := For(French).Finding(review); got != "Group/liege-it a le rôle ClusterRole/mutualis-tenant-admin dans le namespace" {
		t.Errorf("the review in French: %q", got)
	}
	in := audit.Finding{Check: audit.CheckPartnerPortOpen, Args: []string{"cpas-ans", "TCP/22", "in"}}
	out := audit.Finding{Check: audit.CheckPartnerPortOpen, Args: []string{"cpas-ans", "TCP/22", "out"}}
	gotIn, _ := For(German).Finding(in)
	gotOut, _ := For(German).Finding(out)
	if !strings.Contains(gotIn, "der Partner cpas-ans darf hereinkommen") || !strings.Contains(gotOut, "dieser Namespace erreicht den Partner cpas-ans") {
		t.Errorf("the two directions in German: %q, %q", gotIn, gotOut)
	}
	if got := For(French).Severity(audit.High); got != "élevée" {
		t.Errorf("high in French: %q", got)
	}
}
