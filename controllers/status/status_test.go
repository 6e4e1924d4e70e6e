package status

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

func commune() *v1alpha1.Commune {
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "hotton", Generation: 3}}
	return c
}

// allPartsOK is a reconcile that found every part in place.
func allPartsOK() *Observations {
	o := NewObservations()
	for _, p := range Parts {
		o.OK(p.Type, "in place")
	}
	return &o
}

func cond(t *testing.T, c *v1alpha1.Commune, condType string) *metav1.Condition {
	t.Helper()
	got := meta.FindStatusCondition(c.Status.Conditions, condType)
	if got == nil {
		t.Fatalf("no %s condition in %+v", condType, c.Status.Conditions)
	}
	return got
}

// Every part, False: the parts that gate Ready make the tenant not Ready with the part's reason;
// the others leave it Ready. The list of gating parts is the one Parts declares, checked here one
// by one so that a part moved from one side to the other is a decision, not an accident.
func TestWhichPartsGateReady(t *testing.T) {
	gates := map[string]bool{
		v1alpha1.ConditionNamespaceReady: true, v1alpha1.ConditionQuotaReady: true, v1alpha1.ConditionAccessReady: true,
		v1alpha1.ConditionNetworkReady: true, v1alpha1.ConditionApplicationsReady: true,
		v1alpha1.ConditionLicencesReady: false, v1alpha1.ConditionBackupReady: false,
	}
	if len(Parts) != len(gates) {
		t.Fatalf("Parts has %d parts; this table %d: decide whether the new part gates Ready", len(Parts), len(gates))
	}
	for _, p := range Parts {
		t.Run(p.Type, func(t *testing.T) {
			if p.GatesReady != gates[p.Type] {
				t.Fatalf("GatesReady = %v; want %v", p.GatesReady, gates[p.Type])
			}
			o := allPartsOK()
			o.Observe(p.Type, false, "SomethingWrong", "what is wrong")
			c := commune()
			Compute(c, o)
			if got := cond(t, c, p.Type); got.Status != metav1.ConditionFalse || got.Reason != "SomethingWrong" || got.ObservedGeneration != 3 {
				t.Fatalf("the part itself: %+v", got)
			}
			ready := cond(t, c, v1alpha1.ConditionReady)
			switch {
			case p.GatesReady && (ready.Status != metav1.ConditionFalse || ready.Reason != "SomethingWrong" || !strings.Contains(ready.Message, p.Type)):
				t.Fatalf("a gating part False: Ready %+v; want False with its reason, naming the part", ready)
			case !p.GatesReady && ready.Status != metav1.ConditionTrue:
				t.Fatalf("an informative part False: Ready %+v; want True", ready)
			}
			if !p.GatesReady {
				return
			}
			if r := cond(t, c, v1alpha1.ConditionReconciling); r.Status != metav1.ConditionTrue {
				t.Fatalf("Reconciling %+v; want True while a gating part is False", r)
			}
		})
	}
}

// The summary's order: a configuration error, then deletion, suspension, a wait, an error of the
// API server; each case's Ready, Reconciling and Stalled.
func TestSummary(t *testing.T) {
	stall := func(o *Observations) {
		o.Stall(v1alpha1.ConditionApplicationsReady, v1alpha1.ReasonApplicationInvalid, "bad base")
	}
	wait := func(o *Observations) {
		o.Wait(v1alpha1.ConditionApplicationsReady, v1alpha1.ReasonApplicationsProgressing, "rolling out")
	}
	fail := func(o *Observations) {
		_ = o.Failed(v1alpha1.ConditionNetworkReady, errors.New("etcdserver: request timed out"))
	}
	suspend := func(o *Observations) { o.Suspended = true }
	tests := []struct {
		name                        string
		deleting                    bool
		record                      []func(*Observations)
		ready, reconciling, stalled metav1.ConditionStatus
		readyReason                 string
	}{
		{"all in place", false, nil, metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionFalse, v1alpha1.ReasonReady},
		{"stalled before all else", true, []func(*Observations){wait, fail, suspend, stall}, metav1.ConditionFalse, metav1.ConditionFalse, metav1.ConditionTrue, v1alpha1.ReasonApplicationInvalid},
		{"deleting, waiting on the final backup", true, []func(*Observations){func(o *Observations) {
			o.Wait(v1alpha1.ConditionBackupReady, v1alpha1.ReasonFinalBackupInProgress, "final backup")
		}}, metav1.ConditionFalse, metav1.ConditionTrue, metav1.ConditionFalse, v1alpha1.ReasonFinalBackupInProgress},
		{"deleting", true, nil, metav1.ConditionFalse, metav1.ConditionTrue, metav1.ConditionFalse, v1alpha1.ReasonDeleting},
		{"suspended before a wait", false, []func(*Observations){wait, suspend}, metav1.ConditionFalse, metav1.ConditionFalse, metav1.ConditionFalse, v1alpha1.ReasonSuspended},
		{"waiting before a failure", false, []func(*Observations){fail, wait}, metav1.ConditionFalse, metav1.ConditionTrue, metav1.ConditionFalse, v1alpha1.ReasonApplicationsProgressing},
		{"an error of the API server", false, []func(*Observations){fail}, metav1.ConditionFalse, metav1.ConditionTrue, metav1.ConditionFalse, v1alpha1.ReasonApplyFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := allPartsOK()
			for _, r := range tt.record {
				r(o)
			}
			ready, reconciling, stalled := Summary(o, tt.deleting, "commune-hotton")
			if ready.Status != tt.ready || ready.Reason != tt.readyReason || reconciling.Status != tt.reconciling || stalled.Status != tt.stalled {
				t.Fatalf("Ready %s/%s, Reconciling %s, Stalled %s; want %s/%s, %s, %s",
					ready.Status, ready.Reason, reconciling.Status, stalled.Status, tt.ready, tt.readyReason, tt.reconciling, tt.stalled)
			}
		})
	}
}

// A part this reconcile did not check: kept when an error of the API server cut the same
// generation short, Unknown when keeping it would tell something false.
func TestUnobserved(t *testing.T) {
	old := func(gen int64) *metav1.Condition {
		return &metav1.Condition{Type: v1alpha1.ConditionNetworkReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonApplied, ObservedGeneration: gen}
	}
	tests := []struct {
		name     string
		record   func(*Observations)
		deleting bool
		old      *metav1.Condition
		reason   string // empty: kept as it is
	}{
		{"same generation, cut short by an error", func(o *Observations) { _ = o.Failed(v1alpha1.ConditionQuotaReady, errors.New("timeout")) }, false, old(3), ""},
		{"never checked", func(*Observations) {}, false, nil, ""},
		{"already Unknown", func(*Observations) {}, false, &metav1.Condition{Type: v1alpha1.ConditionNetworkReady, Status: metav1.ConditionUnknown}, ""},
		{"an older generation", func(*Observations) {}, false, old(2), v1alpha1.ReasonNotChecked},
		{"stalled", func(o *Observations) { o.Stall("", v1alpha1.ReasonUnknownTier, "no such tier") }, false, old(3), v1alpha1.ReasonUnknownTier},
		{"deleting", func(*Observations) {}, true, old(3), v1alpha1.ReasonDeleting},
		{"suspended", func(o *Observations) { o.Suspended = true }, false, old(3), v1alpha1.ReasonSuspended},
		{"waiting", func(o *Observations) { o.Wait("", v1alpha1.ReasonCommuneNotReady, "commune") }, false, old(3), v1alpha1.ReasonCommuneNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewObservations()
			tt.record(&o)
			got := Unobserved(&o, tt.deleting, tt.old, 3)
			switch {
			case tt.reason == "" && got != nil:
				t.Fatalf("Unobserved = %+v; want the condition kept", got)
			case tt.reason != "" && (got == nil || got.Status != metav1.ConditionUnknown || got.Reason != tt.reason):
				t.Fatalf("Unobserved = %+v; want Unknown with %s", got, tt.reason)
			}
		})
	}
}

// LicencesReady from what the applications step saw, and the informative conditions never
// changing Ready.
func TestLicencesAndInformativeConditions(t *testing.T) {
	o := allPartsOK()
	o.LicenceShort = []string{"esignature: 5 seats requested, 3 granted"}
	o.NIS = Condition(v1alpha1.ConditionNISCurrent, metav1.ConditionFalse, v1alpha1.ReasonRetiredNIS, "retired")
	o.AuditFailure = "pods: forbidden"
	o.LicenceCondition()
	c := commune()
	Compute(c, o)
	if l := cond(t, c, v1alpha1.ConditionLicencesReady); l.Status != metav1.ConditionFalse || l.Reason != v1alpha1.ReasonPoolExhausted {
		t.Fatalf("LicencesReady %+v", l)
	}
	if a := cond(t, c, v1alpha1.ConditionAuditClean); a.Status != metav1.ConditionUnknown || a.Reason != v1alpha1.ReasonAuditFailed {
		t.Fatalf("AuditClean %+v", a)
	}
	if n := cond(t, c, v1alpha1.ConditionNISCurrent); n.Status != metav1.ConditionFalse {
		t.Fatalf("NISCurrent %+v", n)
	}
	if r := cond(t, c, v1alpha1.ConditionReady); r.Status != metav1.ConditionTrue {
		t.Fatalf("Ready %+v; informative conditions never change it", r)
	}
	for _, tt := range []struct {
		licences []v1alpha1.LicenceStatus
		reason   string
	}{{nil, v1alpha1.ReasonNoLicences}, {[]v1alpha1.LicenceStatus{{Application: "a", Requested: 1, Granted: 1}}, v1alpha1.ReasonApplied}} {
		o := NewObservations()
		o.Licences = tt.licences
		o.LicenceCondition()
		if l := o.Conds[v1alpha1.ConditionLicencesReady]; l.Status != metav1.ConditionTrue || l.Reason != tt.reason {
			t.Fatalf("LicencesReady %+v; want True %s", l, tt.reason)
		}
	}
}

// The status fields beside the conditions: the application summary, the tier, a CPAS's NIS code,
// and applications kept as they were when the step did not run.
func TestComputeFields(t *testing.T) {
	c := commune()
	c.Status.Applications = []v1alpha1.ApplicationStatus{{Name: "old", Ready: true}}
	o := allPartsOK()
	o.Tier = "M"
	Compute(c, o)
	if c.Status.ApplicationSummary != "1/1" || c.Status.Tier != "M" || c.Status.ObservedGeneration != 3 || c.Status.Namespace != "commune-hotton" {
		t.Fatalf("status %+v", c.Status.TenantStatus)
	}
	o.AppsReported = true
	o.Apps = []v1alpha1.ApplicationStatus{{Name: "a", Ready: true}, {Name: "b"}}
	Compute(c, o)
	if c.Status.ApplicationSummary != "1/2" {
		t.Fatalf("summary %q; want 1/2", c.Status.ApplicationSummary)
	}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "hotton"}}
	o.NISCode = "83028"
	Compute(cpas, o)
	if cpas.Status.NIS != "83028" {
		t.Fatalf("a CPAS's NIS %q", cpas.Status.NIS)
	}
}

// The offboarding annotation shows as the informative condition Offboarding, with the step as its
// reason; a failed restore drill is informative too; without the annotation the condition goes.
func TestOffboardingAndRestoreVerifiedInform(t *testing.T) {
	o := allPartsOK()
	o.RestoreVerified = Condition(v1alpha1.ConditionRestoreVerified, metav1.ConditionFalse, v1alpha1.ReasonRestoreDrillFailed, "missing ConfigMap/x")
	c := commune()
	c.Annotations = map[string]string{v1alpha1.AnnotationOffboarding: "purge"}
	Compute(c, o)
	if off := cond(t, c, v1alpha1.ConditionOffboarding); off.Status != metav1.ConditionTrue || off.Reason != v1alpha1.ReasonOffboardingPurge {
		t.Fatalf("Offboarding %+v", off)
	}
	if r := cond(t, c, v1alpha1.ConditionReady); r.Status != metav1.ConditionTrue {
		t.Fatalf("Ready %+v; a failed drill and an offboarding under way never change it", r)
	}
	c.Annotations = map[string]string{v1alpha1.AnnotationOffboarding: "shred"}
	Compute(c, o)
	if off := cond(t, c, v1alpha1.ConditionOffboarding); off.Reason != v1alpha1.ReasonProgressing || !strings.Contains(off.Message, "export, purge or delete") {
		t.Fatalf("an unknown step: %+v", off)
	}
	c.Annotations = nil
	Compute(c, o)
	if off := meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionOffboarding); off != nil {
		t.Fatalf("Offboarding %+v without the annotation", off)
	}
}
