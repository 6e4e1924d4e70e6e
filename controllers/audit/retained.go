package audit

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// RetainedNamespace is a namespace kept after its Retain tenant was deleted (labelled orphaned).
type RetainedNamespace struct {
	Namespace string
	// Kind is the kind of the tenant it belonged to.
	Kind string
	// Since is when the tenant's deletion began; zero for a namespace kept before mutualis
	// recorded it (mutualis.crtpl.be/orphaned-at).
	Since time.Time
}

// Retained are the kept namespaces among namespaces, sorted by name.
func Retained(namespaces []corev1.Namespace) []RetainedNamespace {
	var out []RetainedNamespace
	for i := range namespaces {
		ns := &namespaces[i]
		if ns.Labels[v1alpha1.LabelOrphaned] != "true" || ns.Labels[v1alpha1.LabelManagedBy] != v1alpha1.ManagedByValue {
			continue
		}
		r := RetainedNamespace{Namespace: ns.Name, Kind: ns.Labels[v1alpha1.LabelKind]}
		if at, err := time.Parse(time.RFC3339, ns.Annotations[v1alpha1.AnnotationOrphanedAt]); err == nil {
			r.Since = at
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// Overdue says whether a kept namespace has been kept longer than reviewAfter. One whose date
// is unknown is: nobody knows how long it has been kept.
func (r RetainedNamespace) Overdue(reviewAfter time.Duration, now time.Time) bool {
	return r.Since.IsZero() || now.Sub(r.Since) > reviewAfter
}

// EvaluateRetained is the audit of the kept namespaces: one finding for each kept longer than the
// policy's retainedNamespaces.reviewAfter, so that no tenant's data stays for ever by accident.
func EvaluateRetained(retained []RetainedNamespace, reviewAfter time.Duration, now time.Time) []Finding {
	var out findings
	for _, r := range retained {
		if !r.Overdue(reviewAfter, now) {
			continue
		}
		since := ""
		if !r.Since.IsZero() {
			since = r.Since.UTC().Format("2006-01-02")
		}
		out.add(CheckRetainedNamespaceOverdue, Medium, "Namespace/"+r.Namespace, "metadata.annotations[\""+v1alpha1.AnnotationOrphanedAt+"\"]",
			since, reviewAfter.String())
	}
	return out.sorted()
}
