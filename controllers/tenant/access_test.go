package tenant

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

func TestSpecSubjectsAreSortedUniqueAndEmptyWhenOrphaned(t *testing.T) {
	res := &Resolved{Namespace: "commune-liege", Spec: &v1alpha1.TenantSpec{
		Admins:  []rbacv1.Subject{{Kind: "Group", Name: "liege-it"}, {Kind: "User", Name: "bourgmestre@liege.be"}},
		Viewers: []rbacv1.Subject{{Kind: "Group", Name: "liege-it"}, {Kind: "User", Name: "echevin@liege.be"}},
	}}
	if got, want := SpecSubjects(res), "Group:liege-it,User:bourgmestre@liege.be,User:echevin@liege.be"; got != want {
		t.Errorf("SpecSubjects = %q, want %q", got, want)
	}
	res.Orphaned = true
	if got := SpecSubjects(res); got != "" {
		t.Errorf("an orphaned namespace publishes %q, want no one", got)
	}
}

func TestRevokedSubjectsFollowTheSpec(t *testing.T) {
	const ns = "commune-liege"
	allowed := "Group:liege-it,User:echevin@liege.be"
	for _, tc := range []struct {
		name    string
		subject rbacv1.Subject
		allowed string
		revoked bool
	}{
		{"a group of the spec", rbacv1.Subject{Kind: "Group", Name: "liege-it"}, allowed, false},
		{"a user of the spec", rbacv1.Subject{Kind: "User", Name: "echevin@liege.be"}, allowed, false},
		{"a user removed from the spec", rbacv1.Subject{Kind: "User", Name: "former@liege.be"}, allowed, true},
		{"a user whose name is a group of the spec", rbacv1.Subject{Kind: "User", Name: "liege-it"}, allowed, true},
		{"everyone", rbacv1.Subject{Kind: "Group", Name: "system:authenticated"}, allowed, true},
		{"another namespace's ServiceAccount spelled as a user", rbacv1.Subject{Kind: "User", Name: "system:serviceaccount:commune-namur:default"}, allowed, true},
		{"another namespace's ServiceAccount", rbacv1.Subject{Kind: "ServiceAccount", Name: "default", Namespace: "commune-namur"}, allowed, true},
		{"the namespace's own ServiceAccount (the catalogue's)", rbacv1.Subject{Kind: "ServiceAccount", Name: "nextcloud", Namespace: ns}, allowed, false},
		{"anyone, once the tenant is gone", rbacv1.Subject{Kind: "Group", Name: "liege-it"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			revoked, kept := RevokedSubjects(ns, []rbacv1.Subject{tc.subject}, tc.allowed)
			if got := len(revoked) == 1; got != tc.revoked || len(revoked)+len(kept) != 1 {
				t.Errorf("revoked %v, kept %v; want revoked=%v", revoked, kept, tc.revoked)
			}
		})
	}
}
