package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/internal/build"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/history"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The plugin keeps kubectl's manners: help on stdout with exit 0, help <command>, flags after the
// arguments, one exit code for every error, a version, completion, and kubectl's connection flags.
func TestTheCLIKeepsKubectlsManners(t *testing.T) {
	for _, args := range [][]string{{"new", "-h"}, {"help", "validate"}, {"validate", "--help"}, {"new", "commune", "--help"}} {
		code, out, errOut := plugin(t, args...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want the help on stdout", args, code, out, errOut)
		}
	}
	if _, out, _ := plugin(t, "help", "validate"); !strings.Contains(out, "kubectl mutualis validate") || strings.Contains(out, "Available Commands") {
		t.Errorf("help validate is not validate's help:\n%s", out)
	}
	// kubectl's connection flags, every one of them, on every command that reads the cluster
	_, out, _ := plugin(t, "status", "--help")
	for _, flag := range []string{"--as ", "--as-group", "--kubeconfig", "--context", "-n, --namespace", "--request-timeout", "-o, --output"} {
		if !strings.Contains(out, flag) {
			t.Errorf("status --help lacks %s", flag)
		}
	}
	// flags after the arguments are flags, not paths
	code, out, errOut := plugin(t, "validate", "../../config/samples/platform", "-o", "json")
	var result shownFindings
	if code != 0 || json.Unmarshal([]byte(out), &result) != nil || !result.Valid {
		t.Errorf("validate PATH -o json: exit %d, %q, %q", code, out, errOut)
	}
	// any error is exit 1, with one line on stderr
	for _, args := range [][]string{{"frobnicate"}, {"status", "--frobnicate"}, {"report", "-o", "pdf"}, {"version", "extra"}} {
		code, out, errOut := plugin(t, args...)
		if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "kubectl mutualis: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and one line on stderr", args, code, out, errOut)
		}
	}
	code, out, _ = plugin(t, "version", "-o", "json")
	var b build.Info
	if code != 0 || json.Unmarshal([]byte(out), &b) != nil || b.Version == "" || b.GoVersion == "" {
		t.Errorf("version -o json: exit %d, %q", code, out)
	}
	// completion: the registry's communes for new, the shells' scripts
	if _, out, _ := plugin(t, "__complete", "new", "commune", "lie"); !strings.Contains(out, "liege\tLiège, 62063") || !strings.Contains(out, "lierneux") {
		t.Errorf("completing new commune lie:\n%s", out)
	}
	if code, out, _ := plugin(t, "completion", "bash"); code != 0 || !strings.Contains(out, "__start_kubectl-mutualis") {
		t.Errorf("completion bash: exit %d", code)
	}
}

// new --into files the manifest in the tree where the GitOps engine will apply it: the province's
// folder, the CPAS after its commune, each file and folder listed by its kustomization, and the
// tree still valid; a second commune of the same name is refused.
func TestNewIntoATreeListsTheFileInItsKustomizations(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "../../config/samples", dir)
	tenants := filepath.Join(dir, "tenants")
	if code, _, errOut := plugin(t, "new", "commune", "Arlon", "--app", "iadelib", "--into", tenants); code != 0 {
		t.Fatalf("new commune --into: exit %d: %s", code, errOut)
	}
	if code, _, errOut := plugin(t, "new", "cpas", "arlon", "--share", "iadelib", "--into", tenants); code != 0 {
		t.Fatalf("new cpas --into: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(filepath.Join(tenants, "luxembourg", "arlon.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if text := string(data); !strings.Contains(text, "kind: Commune") || !strings.Contains(text, "---\n# CPAS d'Arlon (INS 81001) : il a besoin de la Commune arlon") {
		t.Errorf("arlon.yaml:\n%s", text)
	}
	kust, _ := os.ReadFile(filepath.Join(tenants, "luxembourg", "kustomization.yaml"))
	if strings.Count(string(kust), "arlon.yaml") != 1 || !strings.Contains(string(kust), "daverdisse.yaml") {
		t.Errorf("the province's kustomization:\n%s", kust)
	}
	code, _, summary := plugin(t, "validate", dir)
	if code != 0 || !strings.Contains(summary, "8 Commune") || !strings.Contains(summary, "CPAS") {
		t.Errorf("the tree after new --into: exit %d: %s", code, summary)
	}
	// a province the tree has no folder for gets one, with its kustomization, listed in the
	// tenants' one; a province already listed is not listed twice
	if err := os.RemoveAll(filepath.Join(tenants, "namur")); err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(tenants, "kustomization.yaml"), "  - namur\n", "")
	for _, nis := range []string{"92094", "57081"} {
		if code, _, errOut := plugin(t, "new", "commune", nis, "--into", tenants); code != 0 {
			t.Fatalf("new commune %s --into: exit %d: %s", nis, code, errOut)
		}
	}
	top, _ := os.ReadFile(filepath.Join(tenants, "kustomization.yaml"))
	if strings.Count(string(top), "- namur") != 1 || strings.Count(string(top), "hainaut") != 1 {
		t.Errorf("the tenants' kustomization:\n%s", top)
	}
	if k, _ := os.ReadFile(filepath.Join(tenants, "namur", "kustomization.yaml")); !strings.Contains(string(k), "- namur.yaml") {
		t.Errorf("the new province's kustomization:\n%s", k)
	}
	if code, _, errOut := plugin(t, "new", "commune", "arlon", "--into", tenants); code != 1 || !strings.Contains(errOut, "already declares Commune arlon") {
		t.Errorf("a second arlon: exit %d: %s", code, errOut)
	}
}

// The certificate of an offboarding speaks the commune's language, and says what the cell did by
// hand where the catalogue declares no hook.
func TestOffboardingCertificate(t *testing.T) {
	day := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	expiry := day.AddDate(0, 0, 30)
	rec := &offboardRecord{Kind: "Commune", Name: "amel", NIS: "63001", Namespace: "commune-amel", Started: day, Finished: day, Deleted: day,
		Export: "commune-amel-export.tar", ExportSHA: "abc123", ExportFrom: "mutualis-commune-amel-export-1", Objects: map[string]int{"configmaps": 2},
		Instances:   []instanceExit{{Application: "participation", Exported: &day, ExportFile: "instances/participation.export", Purged: &day}, {Application: "visio"}},
		FinalBackup: "mutualis-commune-amel-final-0a1b", LastExpiry: &expiry, Backups: 3}
	de := certificate(rec, i18n.For(i18n.German))
	for _, want := range []string{"Bescheinigung über das Ende des Dienstes", "die Gemeinde amel (NIS 63001)", "abc123", "am 2026-12-05 gelöscht", "läuft am 2027-01-04 ab", "von Hand"} {
		if !strings.Contains(de, want) {
			t.Errorf("the German certificate does not say %q:\n%s", want, de)
		}
	}
	if fr := certificate(rec, i18n.For(i18n.French)); !strings.Contains(fr, "la dernière expire le 2027-01-04") || !strings.Contains(fr, "à la main") {
		t.Errorf("the French certificate:\n%s", fr)
	}
}

// A month's account of service speaks the tenant's language, says why the tenant was not Ready in
// the reader's words, and gives a day per row in CSV.
func TestMonthOfServiceIsWrittenInTheTenantsLanguage(t *testing.T) {
	var h history.History
	day := time.Date(2026, 11, 10, 2, 0, 0, 0, history.Brussels)
	h.Observe(history.Observation{Now: day, Ready: false, ReadyReason: v1alpha1.ReasonApplicationsProgressing, ReadySince: day})
	h.Observe(history.Observation{Now: day.Add(30 * time.Minute), Ready: true, ReadySince: day.Add(30 * time.Minute),
		Backups: []history.Backup{{Ended: day}}, Findings: []string{"a"}, High: 1, Applications: 2, Seats: 3})
	m, err := history.MonthOf(h, "2026-11", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	amel := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "amel"}, Spec: v1alpha1.CommuneSpec{NIS: "63001"}}
	var de, csvOut bytes.Buffer
	if err := writeService(&de, "markdown", amel, m, i18n.For(i18n.German)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Bericht über den Dienst für die Gemeinde amel, 2026-11", "vom 2026-11-10", "Sicherungen: 1 gelungen, 0 fehlgeschlagen", "30m0s", "ApplicationsProgressing", "1 Befunde eröffnet"} {
		if !strings.Contains(de.String(), want) {
			t.Errorf("the German account does not say %q:\n%s", want, de.String())
		}
	}
	if err := writeService(&csvOut, "csv", amel, m, i18n.For(i18n.French)); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "jour,secondes_hors_service") || !strings.HasPrefix(rows[1], "2026-11-10,1800,") {
		t.Errorf("the French CSV:\n%s", csvOut.String())
	}
}
