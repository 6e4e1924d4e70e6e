package audit

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// A namespace kept after its Retain tenant is reported once it has been kept longer than the
// policy's review period, or when nobody knows since when.
func TestRetainedNamespacesPastTheirReviewAreFindings(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	kept := func(name, at string) corev1.Namespace {
		ns := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelOrphaned: "true", v1alpha1.LabelKind: "Commune"}}}
		if at != "" {
			ns.Annotations = map[string]string{v1alpha1.AnnotationOrphanedAt: at}
		}
		return ns
	}
	live := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "commune-liege", Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}}}
	foreign := kept("someone-elses", "2020-01-01T00:00:00Z")
	foreign.Labels[v1alpha1.LabelManagedBy] = "helm"
	retained := Retained([]corev1.Namespace{
		kept("commune-herstal", "2026-11-20T10:00:00Z"), // 15 days
		kept("commune-amay", "2026-08-01T10:00:00Z"),    // 4 months
		kept("commune-ouffet", ""),                      // before mutualis recorded the date
		live, foreign,
	})
	if len(retained) != 3 || retained[0].Namespace != "commune-amay" || retained[1].Since.IsZero() || !retained[2].Since.IsZero() {
		t.Fatalf("kept namespaces: %+v", retained)
	}
	got := EvaluateRetained(retained, 90*24*time.Hour, now)
	if len(got) != 2 {
		t.Fatalf("findings: %+v", got)
	}
	byObject := map[string]Finding{}
	for _, f := range got {
		byObject[f.Object] = f
	}
	amay, ouffet := byObject["Namespace/commune-amay"], byObject["Namespace/commune-ouffet"]
	if amay.Check != CheckRetainedNamespaceOverdue || amay.Severity != Medium || amay.Fields()["Since"] != "2026-08-01" || amay.Fields()["ReviewAfter"] != "2160h0m0s" {
		t.Errorf("commune-amay: %+v %v", amay, amay.Fields())
	}
	if ouffet.Check != CheckRetainedNamespaceOverdue || ouffet.Fields()["Since"] != "" {
		t.Errorf("commune-ouffet: %+v %v", ouffet, ouffet.Fields())
	}
	if _, reported := byObject["Namespace/commune-herstal"]; reported {
		t.Error("a namespace kept 15 days is within a 90-day review period")
	}
}
