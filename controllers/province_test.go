package controllers

import (
	"context"
	"fmt"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// A province's administration is a tenant of its own, as the Region's barometer counts it beside
// the communes and the CPAS: its namespace province-<name> carries the tenant contract, its tier
// follows the population of its communes, its IT people work in it, and a second Province with
// the same code is refused while the first stands.
func TestAProvinceIsATenantOfItsOwn(t *testing.T) {
	ctx := context.Background()
	namur := &v1alpha1.Province{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.ProvinceSpec{NIS: "90000",
		TenantSpec: v1alpha1.TenantSpec{Admins: itAdmins("province-namur")}}}
	create(t, namur)
	t.Cleanup(func() { _ = k8s.Delete(ctx, namur) })
	eventually(t, wait, conditionIs(namur, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))

	province, _ := registry.LookupProvince("90000")
	want, err := tenant.SelectTier(tenant.EffectivePolicy(nil), province.Population, "")
	if err != nil {
		t.Fatal(err)
	}
	if namur.Status.Tier != want.Name {
		t.Errorf("the province of Namur (%d inhabitants) is in tier %q; want %q", province.Population, namur.Status.Tier, want.Name)
	}
	ns := &corev1.Namespace{}
	get(t, "province-namur", ns)
	if ns.Labels[v1alpha1.LabelKind] != string(v1alpha1.KindProvince) {
		t.Errorf("the province's namespace is labelled %v", ns.Labels)
	}
	get(t, "province-namur/"+tenant.QuotaName, &corev1.ResourceQuota{})
	if !may(t, "marc", []string{"province-namur-it"}, "create", "", "configmaps", "", "province-namur") {
		t.Error("the province's IT people cannot work in its namespace")
	}
	if may(t, "marc", []string{"province-namur-it"}, "create", "", "configmaps", "", "commune-namur") {
		t.Error("the province's IT people may work in the commune of Namur's namespace")
	}
	// and read their own Province, which kubectl mutualis status province/namur does, not the commune's
	reads := func(resource, name string) bool {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "marc", Groups: []string{"province-namur-it", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Group: v1alpha1.GroupVersion.Group, Resource: resource, Name: name}}}
		if err := k8s.Create(ctx, review); err != nil {
			t.Fatal(err)
		}
		return review.Status.Allowed
	}
	eventually(t, wait, func() error {
		if !reads("provinces", "namur") {
			return fmt.Errorf("the province's IT people cannot read their Province")
		}
		return nil
	})
	if reads("communes", "namur") {
		t.Error("the province's IT people may read the Commune of Namur")
	}

	// the same code again
	twin := &v1alpha1.Province{ObjectMeta: metav1.ObjectMeta{Name: "namur-bis"}, Spec: v1alpha1.ProvinceSpec{NIS: "90000"}}
	create(t, twin)
	t.Cleanup(func() { _ = k8s.Delete(ctx, twin) })
	eventually(t, wait, conditionIs(twin, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonDuplicateNIS))
	if err := k8s.Get(ctx, client.ObjectKey{Name: "province-namur-bis"}, &corev1.Namespace{}); err == nil {
		t.Error("the second Province of Namur got a namespace")
	}

	// the schema keeps the kinds' names and codes apart
	for _, bad := range []client.Object{
		&v1alpha1.Province{ObjectMeta: metav1.ObjectMeta{Name: "namur-ville"}, Spec: v1alpha1.ProvinceSpec{NIS: "92094"}},
		&v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "province-namur"}, Spec: v1alpha1.CommuneSpec{NIS: "92094"}},
	} {
		if err := k8s.Create(ctx, bad, client.DryRunAll); err == nil {
			t.Errorf("%T %s was accepted", bad, bad.GetName())
		} else {
			t.Logf("refused as it should be: %v", err)
		}
	}
}
