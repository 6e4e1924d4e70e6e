package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

func capture(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	f()
	os.Stdout = stdout
	w.Close()
	var b bytes.Buffer
	_, _ = io.Copy(&b, r)
	return b.String()
}

// The summary counts tenants by tier and kind and by Ready reason, names the slowest, lists each
// tenant not Ready with its message, and says whether all are Ready.
func TestSummaryCountsAndNamesWhatIsNotReady(t *testing.T) {
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tenant := func(kind v1alpha1.TenantKind, name, tier string, readyAfter time.Duration, reason string) v1alpha1.Tenant {
		var tn v1alpha1.Tenant = &v1alpha1.Commune{}
		if kind == v1alpha1.KindCPAS {
			tn = &v1alpha1.CPAS{}
		}
		tn.SetName(name)
		tn.SetGeneration(1)
		tn.SetCreationTimestamp(metav1.NewTime(created))
		st := tn.TenantStatus()
		st.Tier = tier
		status := metav1.ConditionTrue
		if reason != "Ready" {
			status = metav1.ConditionFalse
		}
		st.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: "because " + name,
			ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(created.Add(readyAfter))}}
		return tn
	}
	tenants := []v1alpha1.Tenant{
		tenant(v1alpha1.KindCommune, "liege", "XXL", 90*time.Second, "Ready"),
		tenant(v1alpha1.KindCPAS, "liege", "XXL", 100*time.Second, "Ready"),
		tenant(v1alpha1.KindCommune, "daverdisse", "S", 30*time.Second, "Ready"),
		tenant(v1alpha1.KindCPAS, "daverdisse", "S", 0, v1alpha1.ReasonApplicationsProgressing),
	}
	var ok bool
	out := capture(t, func() { ok = summarize(tenants, 4, time.Now(), time.Now()) })
	t.Log(out)
	if ok {
		t.Error("a tenant is not Ready, yet the summary says all are")
	}
	for _, want := range []string{"3 of 4 tenants Ready", "| S | 1 | 1 |", "| XXL | 1 | 1 |", "| Ready | 3 |", "| ApplicationsProgressing | 1 |",
		"CPAS liege                       1m40s", "Not Ready (1):", "CPAS daverdisse: ApplicationsProgressing: because daverdisse"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if strings.Index(out, "| S |") > strings.Index(out, "| XXL |") {
		t.Error("tiers are not in order of size")
	}
	if ok := summarize(tenants[:3], 3, time.Now(), time.Now()); !ok {
		t.Error("every tenant Ready, yet the summary says otherwise")
	}
}

// The demo's communes joined within the cell's first year, the same day on every run, their CPAS
// with them; each CPAS's council has its size by its commune's population; the sample tenants'
// contacts are theirs in the demo too.
func TestDecorateGivesTheDemoWhatACellsGitHolds(t *testing.T) {
	namur := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.CommuneSpec{NIS: "92094"}}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.CPASSpec{CommuneRef: "namur"}}
	daverdisse := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "daverdisse"}, Spec: v1alpha1.CommuneSpec{NIS: "84016"}}
	cpasDaverdisse := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "daverdisse"}, Spec: v1alpha1.CPASSpec{CommuneRef: "daverdisse"}}
	contacts, err := sampleContacts("../..")
	if err != nil {
		t.Fatal(err)
	}
	decorate([]v1alpha1.Tenant{namur, cpas, daverdisse, cpasDaverdisse}, contacts)
	joined, err := time.Parse(time.DateOnly, string(namur.Spec.JoinedOn))
	if err != nil || joined.Before(cellOpened) || !joined.Before(cellOpened.AddDate(1, 0, 0)) {
		t.Errorf("namur joined on %q, not within the cell's first year", namur.Spec.JoinedOn)
	}
	if cpas.Spec.JoinedOn != namur.Spec.JoinedOn || cpasDaverdisse.Spec.JoinedOn != daverdisse.Spec.JoinedOn {
		t.Errorf("a CPAS did not join with its commune: %s %s", cpas.Spec.JoinedOn, cpasDaverdisse.Spec.JoinedOn)
	}
	if namur.Spec.JoinedOn == daverdisse.Spec.JoinedOn {
		t.Errorf("two communes joined the same day, %s: the days are not spread", namur.Spec.JoinedOn)
	}
	if *cpas.Spec.Councillors != 13 || *cpasDaverdisse.Spec.Councillors != 9 {
		t.Errorf("councils: Namur's CPAS %d (111,432 inhabitants), Daverdisse's %d", *cpas.Spec.Councillors, *cpasDaverdisse.Spec.Councillors)
	}
	if namur.Spec.Contacts == nil || namur.Spec.Contacts.DPO == nil || namur.Spec.Contacts.DPO.Email != "dpo@ville.namur.be" {
		t.Errorf("namur's contacts are not the sample's: %+v", namur.Spec.Contacts)
	}
	again := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.CommuneSpec{NIS: "92094"}}
	decorate([]v1alpha1.Tenant{again}, nil)
	if again.Spec.JoinedOn != namur.Spec.JoinedOn {
		t.Errorf("namur joined on %s, then on %s", namur.Spec.JoinedOn, again.Spec.JoinedOn)
	}
}
