package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// may asks the API server's authorizer whether a user (with its groups) may do something in a
// namespace, as kubectl auth can-i --as does.
func may(t *testing.T, user string, groups []string, verb, group, resource, subresource, namespace string) bool {
	t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, Groups: append(groups, "system:authenticated"),
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: group, Resource: resource, Subresource: subresource}}}
	if err := k8s.Create(context.Background(), review); err != nil {
		t.Fatal(err)
	}
	return review.Status.Allowed
}

// loses waits until a user may no longer do something in a namespace.
func loses(t *testing.T, user string, groups []string, verb, group, resource, subresource, namespace string) {
	t.Helper()
	eventually(t, wait, func() error {
		if may(t, user, groups, verb, group, resource, subresource, namespace) {
			return fmt.Errorf("%s may still %s %s in %s", user, verb, resource, namespace)
		}
		return nil
	})
}

// bindingsNaming lists the RoleBindings of a namespace that name a subject.
func bindingsNaming(t *testing.T, namespace string, who rbacv1.Subject) []string {
	t.Helper()
	list := &rbacv1.RoleBindingList{}
	if err := k8s.List(context.Background(), list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rb := range list.Items {
		for _, s := range rb.Subjects {
			if s.Kind == who.Kind && s.Name == who.Name {
				out = append(out, rb.Name)
			}
		}
	}
	return out
}

// A person removed from spec.admins loses the namespace at the next reconcile, whatever the
// tenant's state, together with every RoleBinding of the tenant's own that named them; and a
// deleted Retain tenant leaves its data to the cell alone.
func TestAccessFollowsTheSpecInEveryState(t *testing.T) {
	ctx := context.Background()
	leaver := rbacv1.Subject{Kind: "User", Name: "leaver@amay.be", APIGroup: rbacv1.GroupName}

	t.Run("stalled", func(t *testing.T) {
		c := newCommune("amay", "61003", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "amay-it"}, leaver}
		})
		create(t, c)
		eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		ns := "commune-amay"
		if !may(t, leaver.Name, nil, "create", "", "pods", "", ns) {
			t.Fatal("an admin of the spec may not create pods")
		}
		// a colleague gives the leaver a binding of the tenant's own: allowed, the leaver is in the spec
		colleague := asUser(t, "it@amay.be", "amay-it")
		accepted(t, colleague.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "leaver-extra", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: tenant.AdminRoleName},
			Subjects: []rbacv1.Subject{leaver}}))
		// and a binding of the colleague's own group, which must stay
		accepted(t, colleague.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: tenant.ViewerRoleName},
			Subjects: []rbacv1.Subject{{Kind: "Group", Name: "amay-it", APIGroup: rbacv1.GroupName}}}))

		// one pull request removes the leaver and names a tier the policy does not have: the tenant
		// stalls, and the leaver is out all the same
		patch(t, c, func() {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "amay-it"}}
			c.Spec.Tier = "Platinum"
		})
		stalledSaying(t, c, v1alpha1.ReasonUnknownTier, "Platinum")
		loses(t, leaver.Name, nil, "create", "", "pods", "", ns)
		loses(t, leaver.Name, nil, "list", "", "secrets", "", ns)
		if names := bindingsNaming(t, ns, leaver); len(names) != 0 {
			t.Errorf("RoleBindings still name the leaver: %v", names)
		}
		if names := bindingsNaming(t, ns, rbacv1.Subject{Kind: "Group", Name: "amay-it"}); len(names) != 2 {
			t.Errorf("the bindings of the remaining admins should stay (mutualis-admins and team): %v", names)
		}
		eventually(t, wait, eventWith(c, v1alpha1.ReasonAccessRevoked, "leaver-extra"))
		// the admission policy now knows the leaver is gone
		becomesRefused(t, func() error {
			return colleague.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "leaver-back", Namespace: ns},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: tenant.AdminRoleName},
				Subjects: []rbacv1.Subject{leaver}}, client.DryRunAll)
		}, "may name only the people of its spec.admins and spec.viewers")

		// deleted while stalled (Retain): what it published with a patch goes with the rest
		if err := k8s.Delete(ctx, c); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, absent(c))
		kept := &corev1.Namespace{}
		get(t, ns, kept)
		for _, key := range publishedAnnotations {
			if v, ok := kept.Annotations[key]; ok {
				t.Errorf("the kept namespace still publishes %s=%q", key, v)
			}
		}
	})

	t.Run("suspended", func(t *testing.T) {
		create(t, webApp("hesbaye", "nginxinc/nginx-unprivileged:1.26"))
		c := newCommune("wanze", "61072", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "wanze-it"}, leaver}
			c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "hesbaye"}}
		})
		create(t, c)
		markAvailable(t, "commune-wanze", "hesbaye")
		eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		patch(t, c, func() { c.Spec.Suspend = true })
		eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSuspended))
		patch(t, c, func() { c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "wanze-it"}} })
		loses(t, leaver.Name, nil, "update", "apps", "deployments", "scale", "commune-wanze")
		// as the leaver would try it
		scale := &appsv1.Deployment{}
		get(t, "commune-wanze/hesbaye", scale)
		scale.Spec.Replicas = ptr.To[int32](1)
		refused(t, asUser(t, leaver.Name).Update(ctx, scale, client.DryRunAll), "forbidden")
		// and the tenant stays suspended, at the generation that removed the leaver
		eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSuspended))
	})

	t.Run("an application failing", func(t *testing.T) {
		c := newCommune("verlaine", "61063", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "verlaine-it"}, leaver}
			c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "not-in-the-catalogue"}}
		})
		create(t, c)
		eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationMissing))
		if !may(t, leaver.Name, nil, "create", "", "pods", "", "commune-verlaine") {
			t.Fatal("an admin of the spec may not create pods")
		}
		patch(t, c, func() { c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "verlaine-it"}} })
		loses(t, leaver.Name, nil, "create", "", "pods", "", "commune-verlaine")
	})

	t.Run("deleted with Retain", func(t *testing.T) {
		viewer := rbacv1.Subject{Kind: "User", Name: "echevin@engis.be", APIGroup: rbacv1.GroupName}
		c := newCommune("engis", "61080", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "engis-it"}}
			c.Spec.Viewers = []rbacv1.Subject{viewer}
		})
		create(t, c)
		eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		const ns = "commune-engis"
		accepted(t, asUser(t, "it@engis.be", "engis-it").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "echevin-admin", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: tenant.AdminRoleName},
			Subjects: []rbacv1.Subject{viewer}}))
		create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "council-minutes", Namespace: ns}, Data: map[string]string{"2026-12": "…"}})
		if err := k8s.Delete(ctx, c); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, absent(c))
		get(t, ns+"/council-minutes", &corev1.ConfigMap{})
		for _, who := range []struct {
			user   string
			groups []string
		}{{"it@engis.be", []string{"engis-it"}}, {viewer.Name, nil}} {
			for _, verb := range []string{"get", "list", "create"} {
				if may(t, who.user, who.groups, verb, "", "configmaps", "", ns) {
					t.Errorf("%s may still %s configmaps in the kept namespace", who.user, verb)
				}
			}
		}
		list := &rbacv1.RoleBindingList{}
		if err := k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, rb := range list.Items {
			t.Errorf("RoleBinding %s is left in the kept namespace, naming %v", rb.Name, rb.Subjects)
		}
		nsObj := &corev1.Namespace{}
		get(t, ns, nsObj)
		if _, published := nsObj.Annotations[v1alpha1.AnnotationSubjects]; published || nsObj.Labels[v1alpha1.LabelOrphaned] != "true" {
			t.Errorf("the kept namespace: annotations %v, labels %v", nsObj.Annotations, nsObj.Labels)
		}
	})
}

// No credential that a tenant admin can mint outlives the admin's access: its own RoleBindings name
// only the spec's people (in no system: spelling, and no ServiceAccount), no legacy token Secret is
// admitted, and tokens requested for a tenant's ServiceAccounts live an hour at most.
func TestTenantCredentialsDoNotOutliveAccess(t *testing.T) {
	ctx := context.Background()
	c := newCommune("burdinne", "61010", func(c *v1alpha1.Commune) {
		c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "burdinne-it"}}
		c.Spec.Viewers = []rbacv1.Subject{{Kind: "User", Name: "secretaire@burdinne.be"}}
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	const ns = "commune-burdinne"
	admin := asUser(t, "it@burdinne.be", "burdinne-it")
	dryRun := client.DryRunAll
	binding := func(name string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: tenant.ViewerRoleName},
			Subjects: subjects}
	}
	user := func(name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: "User", Name: name, APIGroup: rbacv1.GroupName}
	}
	group := func(name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: "Group", Name: name, APIGroup: rbacv1.GroupName}
	}

	accepted(t, admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ci", Namespace: ns}}))
	for _, tc := range []struct {
		name    string
		subject rbacv1.Subject
		want    string
	}{
		{"another namespace's ServiceAccount spelled as a user", user("system:serviceaccount:commune-huy:default"), "never name a system: user or group"},
		{"every ServiceAccount of a namespace", group("system:serviceaccounts:commune-burdinne"), "never name a system: user or group"},
		{"every authenticated user", group("system:authenticated"), "never name a system: user or group"},
		{"the anonymous user, in capitals", user("System:Anonymous"), "never name a system: user or group"},
		{"another namespace's ServiceAccount", rbacv1.Subject{Kind: "ServiceAccount", Name: "default", Namespace: "commune-huy"}, "ServiceAccounts of other namespaces"},
		{"someone the spec does not name", user("friend@example.org"), "may name only the people of its spec.admins and spec.viewers"},
		{"a group the spec does not name", group("all-staff"), "may name only the people of its spec.admins and spec.viewers"},
		{"its own ServiceAccount", rbacv1.Subject{Kind: "ServiceAccount", Name: "ci", Namespace: ns}, "may not bind ServiceAccounts"},
		{"its own ServiceAccount, namespace left out", rbacv1.Subject{Kind: "ServiceAccount", Name: "ci"}, "may not bind ServiceAccounts"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			refused(t, admin.Create(ctx, binding("x", tc.subject), dryRun), tc.want)
		})
	}
	t.Run("binds the people of its spec", func(t *testing.T) {
		accepted(t, admin.Create(ctx, binding("people", user("secretaire@burdinne.be"), group("burdinne-it")), dryRun))
	})
	t.Run("the cell binds the namespace's own ServiceAccounts", func(t *testing.T) {
		accepted(t, k8s.Create(ctx, binding("app", rbacv1.Subject{Kind: "ServiceAccount", Name: "ci", Namespace: ns}), dryRun))
	})
	t.Run("no legacy token Secret", func(t *testing.T) {
		legacy := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ci-token", Namespace: ns,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "ci"}}, Type: corev1.SecretTypeServiceAccountToken}
		refused(t, admin.Create(ctx, legacy, dryRun), "ServiceAccount token Secrets are refused")
		refused(t, k8s.Create(ctx, legacy, dryRun), "ServiceAccount token Secrets are refused")
		accepted(t, admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns}, StringData: map[string]string{"password": "x"}}, dryRun))
	})
	t.Run("tokens live an hour at most", func(t *testing.T) {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ci", Namespace: ns}}
		// a tenant admin cannot request one at all (no serviceaccounts/token in its role)
		refused(t, admin.SubResource("token").Create(ctx, sa, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}), "forbidden")
		// and whoever may, gets an hour at most in a tenant namespace
		long := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](48 * 3600)}}
		refused(t, k8s.SubResource("token").Create(ctx, sa, long), "may live at most an hour")
		hour := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
		accepted(t, k8s.SubResource("token").Create(ctx, sa, hour))
		if hour.Status.Token == "" {
			t.Error("an hour's token was admitted but none was issued")
		}
	})
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ci-token"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry run left a token Secret behind: %v", err)
	}
}

// eventWith checks that an event with a reason, whose note says want, was recorded about a tenant.
func eventWith(obj client.Object, reason, want string) func() error {
	return func() error {
		events, err := clientset.EventsV1().Events("").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == obj.GetName() && e.Reason == reason && strings.Contains(e.Note, want) {
				return nil
			}
		}
		return fmt.Errorf("no event %s about %s saying %q", reason, obj.GetName(), want)
	}
}

// A tenant admin cleans up its own roles, role bindings and network policies with one delete of
// the collection (kubectl delete rolebindings -l ...): admission judges every item, so a delete of
// them all (--all) leaves the cell's own objects in place and says why.
func TestTenantAdminDeletesItsOwnCollections(t *testing.T) {
	ctx := context.Background()
	c := newCommune("ferrieres", "61019", func(c *v1alpha1.Commune) { c.Spec.Admins = itAdmins("ferrieres") })
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	const ns = "commune-ferrieres"
	admin := asUser(t, "it@ferrieres.be", "ferrieres-it")
	ours := map[string]string{"made-by": "ferrieres-it"}
	accepted(t, admin.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: ns, Labels: ours},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}))
	accepted(t, admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: ns, Labels: ours},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"}, Subjects: itAdmins("ferrieres")}))
	accepted(t, admin.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "web-to-db", Namespace: ns, Labels: ours},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}))

	// everything: the cell's objects are refused, item by item
	for _, kind := range []client.Object{&rbacv1.RoleBinding{}, &networkingv1.NetworkPolicy{}} {
		refused(t, admin.DeleteAllOf(ctx, kind, client.InNamespace(ns)), "belong to the cell")
	}
	// its own
	for _, kind := range []client.Object{&rbacv1.RoleBinding{}, &rbacv1.Role{}, &networkingv1.NetworkPolicy{}} {
		accepted(t, admin.DeleteAllOf(ctx, kind, client.InNamespace(ns), client.MatchingLabels(ours)))
	}
	eventually(t, wait, gone(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: ns}}))
	eventually(t, wait, gone(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", Namespace: ns}}))
	eventually(t, wait, gone(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "web-to-db", Namespace: ns}}))
	for _, name := range []string{tenant.AdminsBindingName, tenant.ViewersBindingName} {
		get(t, ns+"/"+name, &rbacv1.RoleBinding{})
	}
	for _, name := range []string{tenant.NetpolDefaultDeny, tenant.NetpolDNS, tenant.NetpolSameNamespace} {
		get(t, ns+"/"+name, &networkingv1.NetworkPolicy{})
	}
	if !may(t, "it@ferrieres.be", []string{"ferrieres-it"}, "create", "", "pods", "", ns) {
		t.Error("the admin lost its own access with its collection")
	}
}

// The Helm chart installs the tenant ClusterRoles too, and Helm labels what it installs
// app.kubernetes.io/managed-by=Helm: a tenant still finds them and becomes Ready.
func TestTenantRolesInstalledByHelmAreFound(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{tenant.AdminRoleName, tenant.ViewerRoleName} {
		role := &rbacv1.ClusterRole{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: name}, role); err != nil {
			t.Fatal(err)
		}
		before := role.Labels[v1alpha1.LabelManagedBy]
		relabel := func(value string) {
			p := client.MergeFrom(role.DeepCopy())
			role.Labels[v1alpha1.LabelManagedBy] = value
			if err := k8s.Patch(ctx, role, p); err != nil {
				t.Fatal(err)
			}
		}
		relabel("Helm")
		t.Cleanup(func() { relabel(before) })
	}
	c := newCommune("ohey", "92097")
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAccessReady, metav1.ConditionTrue, ""))
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
}

// A tenant's people read the cell's TenancyPolicy by name (their record of processing activities
// says where their data lives from it), and list no policy.
func TestTenantPeopleReadTheCellsPolicy(t *testing.T) {
	ctx := context.Background()
	c := newCommune("bievre", "91015", func(c *v1alpha1.Commune) {
		c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "bievre-it", APIGroup: rbacv1.GroupName}}
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAccessReady, metav1.ConditionTrue, ""))
	admin := asUser(t, "it@bievre.be", "bievre-it")
	eventually(t, wait, func() error {
		err := admin.Get(ctx, client.ObjectKey{Name: v1alpha1.TenancyPolicyName}, &v1alpha1.TenancyPolicy{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("the tenant's admin reads the TenancyPolicy: %w", err)
	})
	if err := admin.List(ctx, &v1alpha1.TenancyPolicyList{}); !apierrors.IsForbidden(err) {
		t.Errorf("the tenant's admin lists TenancyPolicies: %v, want forbidden", err)
	}
}
