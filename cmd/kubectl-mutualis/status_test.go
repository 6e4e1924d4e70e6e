package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
)

func statusTenant(kind v1alpha1.TenantKind, name string, conds ...metav1.Condition) v1alpha1.Tenant {
	var t v1alpha1.Tenant
	if kind == v1alpha1.KindCommune {
		t = &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1}}
	} else {
		t = &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1}}
	}
	st := t.TenantStatus()
	st.Tier = "M"
	for _, c := range conds {
		c.ObservedGeneration = 1
		st.Conditions = append(st.Conditions, c)
	}
	return t
}

// Problems come first (stalled, then not Ready, then not reconciled), with the condition's reason
// and message; Ready tenants show their applications and last backup.
func TestStatusPutsProblemsFirst(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ready := statusTenant(v1alpha1.KindCommune, "andenne", metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready", Message: "all good"})
	ready.TenantStatus().Applications = []v1alpha1.ApplicationStatus{{Name: "nextcloud", Ready: true}, {Name: "iadelib", Ready: true}}
	ready.TenantStatus().Backup = &v1alpha1.BackupStatus{LastSuccessfulTime: &metav1.Time{Time: now.Add(-5 * time.Hour)}}
	stalled := statusTenant(v1alpha1.KindCommune, "zwalm",
		metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonUnknownNIS, Message: "NIS 45065 is not a Walloon commune"},
		metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonUnknownNIS, Message: "NIS 45065 is not a Walloon commune"})
	waiting := statusTenant(v1alpha1.KindCPAS, "namur", metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonApplicationsProgressing, Message: "iadelib: Deployment iadelib has 0 of 1 available"})
	fresh := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "bievre", Generation: 1}}

	var out bytes.Buffer
	// the summary goes to stderr, where it does not mix with a table piped elsewhere: one writer here
	if err := writeStatus(&out, &out, []v1alpha1.Tenant{ready, waiting, fresh, stalled}, now, false, i18n.For(i18n.English)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	t.Logf("\n%s", out.String())
	if len(lines) != 6 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, want := range []string{"KIND", "Commune  zwalm", "Commune  bievre", "CPAS     namur", "Commune  andenne", "4 tenants: 1 Ready, 1 not Ready, 1 Stalled, 1 not reconciled yet"} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d %q, want it to start with %q", i, lines[i], want)
		}
	}
	for line, want := range map[int][]string{
		1: {"Stalled", "UnknownNIS", "NIS 45065 is not a Walloon commune"},
		2: {"Pending", "is it running?"},
		3: {"NotReady", "ApplicationsProgressing", "0 of 1 available"},
		4: {"Ready", "2/2", "5h ago"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[line], w) {
				t.Errorf("line %q lacks %q", lines[line], w)
			}
		}
	}
	if strings.Contains(lines[4], "all good") {
		t.Error("a Ready tenant's message is noise unless -o wide")
	}
}

// In French (the default) and German the table says what each reason means, from the catalogues;
// the reason itself stays, the key a reader can search for.
func TestStatusSpeaksTheCommunesLanguage(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	stalled := statusTenant(v1alpha1.KindCommune, "zwalm",
		metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonUnknownNIS, Message: "NIS 45065 is not a Walloon commune"},
		metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonUnknownNIS, Message: "NIS 45065 is not a Walloon commune"})
	for lang, want := range map[i18n.Lang][]string{
		i18n.French: {"TYPE", "ÉTAT", "Bloqué", "UnknownNIS", "n'est pas celui d'une commune wallonne", "Tenants : 1 ; prêts : 0"},
		i18n.German: {"ZUSTAND", "Blockiert", "UnknownNIS", "gehört zu keiner heutigen wallonischen Gemeinde", "Mandanten: 1; bereit: 0"},
	} {
		var out bytes.Buffer
		if err := writeStatus(&out, &out, []v1alpha1.Tenant{stalled.DeepCopyObject().(v1alpha1.Tenant)}, now, false, i18n.For(lang)); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: the table lacks %q:\n%s", lang, w, out.String())
			}
		}
		if strings.Contains(out.String(), "is not a Walloon commune") {
			t.Errorf("%s: the English message shows where the reason's sentence should:\n%s", lang, out.String())
		}
	}

	// unset, the language is that of the tenants' people
	eupen := &v1alpha1.Commune{Spec: v1alpha1.CommuneSpec{NIS: "63023"}}
	liege := &v1alpha1.Commune{Spec: v1alpha1.CommuneSpec{NIS: "62063"}}
	oeshz := &v1alpha1.CPAS{Status: v1alpha1.CPASStatus{NIS: "63001"}}
	var unset language
	if got := unset.of(eupen, oeshz); got != i18n.German {
		t.Errorf("Eupen and the ÖSHZ of Amel: %s, want de", got)
	}
	if got := unset.of(eupen, liege); got != i18n.French {
		t.Errorf("Eupen and Liège: %s, want fr", got)
	}
	forced := language{}
	if err := forced.Set("EN"); err != nil || forced.of(eupen) != i18n.English {
		t.Errorf("--lang EN: %v %s", err, forced.of(eupen))
	}
	if err := forced.Set("nl"); err == nil {
		t.Error("--lang nl is refused")
	}
}

// A tenant is named by its name (the commune and the CPAS of that name, never a province: a
// commune's people would be told they may not read it) or by kind/name, a province included.
func TestTenantNamesAndTheirKinds(t *testing.T) {
	for _, tc := range []struct {
		in    string
		kinds []v1alpha1.TenantKind
		name  string
	}{
		{"namur", []v1alpha1.TenantKind{v1alpha1.KindCommune, v1alpha1.KindCPAS}, "namur"},
		{"commune/namur", []v1alpha1.TenantKind{v1alpha1.KindCommune}, "namur"},
		{"cpas/namur", []v1alpha1.TenantKind{v1alpha1.KindCPAS}, "namur"},
		{"province/namur", []v1alpha1.TenantKind{v1alpha1.KindProvince}, "namur"},
		{"Provinces/namur", []v1alpha1.TenantKind{v1alpha1.KindProvince}, "namur"},
	} {
		kinds, name, err := parseTenantName(tc.in)
		if err != nil || name != tc.name || fmt.Sprint(kinds) != fmt.Sprint(tc.kinds) {
			t.Errorf("%s: %v %s %v; want %v %s", tc.in, kinds, name, err, tc.kinds, tc.name)
		}
	}
	if _, _, err := parseTenantName("region/namur"); err == nil || !strings.Contains(err.Error(), "province/name") {
		t.Errorf("an unknown kind: %v", err)
	}
}
