package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// A service that iMio hosts for the communes is a catalogue entry mutualis runs nothing for: a
// subscription applies nothing in the tenant's namespace and is ready, saying who hosts it, so
// that the barometer and the record count it. The schema keeps the two kinds of entries apart.
func TestAnApplicationHostedOutsideTheCellRunsNothing(t *testing.T) {
	ctx := context.Background()
	site := &v1alpha1.SharedApplication{ObjectMeta: metav1.ObjectMeta{Name: "site-imio"}, Spec: v1alpha1.SharedApplicationSpec{
		Version: "6.2", Instance: v1alpha1.InstanceExternal,
		HostedBy: &v1alpha1.HostedBy{Operator: "iMio", Country: "BE", URL: "https://www.imio.be"}}}
	create(t, site)
	t.Cleanup(func() { _ = k8s.Delete(ctx, site) })
	hamois := newCommune("hamois", "91059", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "site-imio"}}
	})
	create(t, hamois)
	t.Cleanup(func() { _ = k8s.Delete(ctx, hamois) })

	eventually(t, wait, conditionIs(hamois, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	var got v1alpha1.ApplicationStatus
	for _, a := range hamois.Status.Applications {
		if a.Name == "site-imio" {
			got = a
		}
	}
	if !got.Ready || !strings.Contains(got.Message, "hosted outside the cell by iMio (BE) at https://www.imio.be") || len(got.Resources) != 0 {
		t.Errorf("the subscription's status %+v; want it ready, hosted by iMio, with nothing applied", got)
	}
	eventually(t, wait, func() error {
		app := &v1alpha1.SharedApplication{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: "site-imio"}, app); err != nil {
			return err
		}
		if c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionBaseValid); c == nil || c.Status != metav1.ConditionTrue || app.Status.Instance != nil {
			return fmt.Errorf("BaseValid %+v, instance %+v; want valid and no instance", c, app.Status.Instance)
		}
		return nil
	})

	// the schema: an External entry without hostedBy, or with resources; any other without resources
	withResources := webApp("site-imio-bis", "nginx:1.27")
	withResources.Spec.Instance, withResources.Spec.HostedBy = v1alpha1.InstanceExternal, site.Spec.HostedBy
	unhosted := &v1alpha1.SharedApplication{ObjectMeta: metav1.ObjectMeta{Name: "site-imio-ter"}, Spec: v1alpha1.SharedApplicationSpec{Version: "1", Instance: v1alpha1.InstanceExternal}}
	empty := &v1alpha1.SharedApplication{ObjectMeta: metav1.ObjectMeta{Name: "site-imio-quater"}, Spec: v1alpha1.SharedApplicationSpec{Version: "1"}}
	for _, bad := range []*v1alpha1.SharedApplication{withResources, unhosted, empty} {
		if err := k8s.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "External application has no resources") {
			_ = k8s.Delete(ctx, bad)
			t.Errorf("%s admitted (%v); want the schema to refuse it", bad.Name, err)
		}
	}
}
