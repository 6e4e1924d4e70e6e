package tenant

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Who may enter a tenant namespace is a function of the tenant's spec at every moment. The cell's
// own bindings (mutualis-admins, mutualis-viewers) are applied from the spec; the tenant's own
// RoleBindings may name only the spec's people (the admission policy mutualis-tenant-self-service
// reads them from the namespace annotation AnnotationSubjects), and when the spec loses a person,
// the access step strips that person from every RoleBinding of the namespace with RevokedSubjects.

// subjectKey is how a person of the spec is spelled in the namespace annotation and compared:
// Kind:name, the kind being User or Group.
func subjectKey(s rbacv1.Subject) string { return s.Kind + ":" + s.Name }

// SpecSubjects lists the people of a tenant's spec (admins, then viewers) as Kind:name, sorted and
// without duplicates, comma-separated: the value of the namespace annotation AnnotationSubjects.
// An orphaned tenant, or one without people, has none.
func SpecSubjects(t *Resolved) string {
	if t.Orphaned || t.Spec == nil {
		return ""
	}
	var keys []string
	for _, s := range append(append([]rbacv1.Subject{}, t.Spec.Admins...), t.Spec.Viewers...) {
		// a name with a comma cannot be told apart in the annotation: the cell's bindings name it,
		// a tenant's own RoleBindings cannot
		if (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) && !strings.Contains(s.Name, ",") {
			keys = append(keys, subjectKey(s))
		}
	}
	slices.Sort(keys)
	return strings.Join(slices.Compact(keys), ",")
}

// RevokedSubjects returns the subjects of a RoleBinding that the tenant's spec no longer allows,
// and the subjects to keep. allowed is SpecSubjects of the tenant (empty for a kept namespace whose
// tenant is gone). A User or Group is revoked when the spec does not name it; a ServiceAccount of
// another namespace, or spelled as a user (system:serviceaccount:...), always. A ServiceAccount of
// the namespace itself is the cell's to bind (the catalogue's applications) and stays: the
// admission policy refuses tenant admins such bindings.
func RevokedSubjects(namespace string, subjects []rbacv1.Subject, allowed string) (revoked, kept []rbacv1.Subject) {
	people := map[string]bool{}
	if allowed != "" {
		for _, k := range strings.Split(allowed, ",") {
			people[k] = true
		}
	}
	for _, s := range subjects {
		keep := false
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			keep = s.Namespace == "" || s.Namespace == namespace
		case rbacv1.UserKind, rbacv1.GroupKind:
			keep = !strings.HasPrefix(s.Name, "system:") && people[subjectKey(s)]
		}
		if keep {
			kept = append(kept, s)
		} else {
			revoked = append(revoked, s)
		}
	}
	return revoked, kept
}

// SubjectNames spells subjects for an Event or a log line: Kind name, comma-separated.
func SubjectNames(subjects []rbacv1.Subject) string {
	names := make([]string, 0, len(subjects))
	for _, s := range subjects {
		names = append(names, s.Kind+" "+s.Name)
	}
	return strings.Join(names, ", ")
}
