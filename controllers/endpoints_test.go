package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// An application that calls services outside the cluster reaches them only as the cell approves:
// an endpoint approved with its networks is opened in the namespace that runs the application, on
// its port only; one approved without goes to the egress proxy's allow-list; one not approved
// stays closed and the catalogue entry says so. When the cell withdraws an approval, the tenant's
// policy closes it again.
func TestExternalEndpointsOpenOnlyWhenTheCellApproves(t *testing.T) {
	ctx := context.Background()
	bcss := v1alpha1.Endpoint{Host: "api.ksz-bcss.fgov.be", Port: 443, Protocol: corev1.ProtocolTCP}
	imio := v1alpha1.Endpoint{Host: "support.imio.be", Port: 443, Protocol: corev1.ProtocolTCP}
	relay := v1alpha1.Endpoint{Host: "smtp.example.be", Port: 587, Protocol: corev1.ProtocolTCP}

	shared := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mutualis-shared"}}
	if err := k8s.Create(ctx, shared); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	policy := &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.TenancyPolicyName},
		Spec: v1alpha1.TenancyPolicySpec{Network: v1alpha1.PolicyNetwork{ExternalEndpoints: []v1alpha1.ApprovedEndpoint{
			{Endpoint: bcss, CIDRs: []v1alpha1.CIDR{"193.191.208.0/20"}},
			{Endpoint: imio},
		}}}}
	create(t, policy)
	t.Cleanup(func() { _ = k8s.Delete(ctx, policy) })

	app := webApp("registre", "nginxinc/nginx-unprivileged:1.27.3-alpine")
	app.Spec.ExternalEndpoints = []v1alpha1.ExternalEndpoint{
		{Endpoint: bcss, Recipient: "Banque-Carrefour de la Sécurité Sociale", Purpose: "consultation du registre national"},
		{Endpoint: imio, Recipient: "iMio"},
		{Endpoint: relay, Recipient: "relais de courrier"},
	}
	create(t, app)
	t.Cleanup(func() { _ = k8s.Delete(ctx, app) })
	waremme := newCommune("waremme", "64074", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "registre"}}
	})
	create(t, waremme)
	t.Cleanup(func() { _ = k8s.Delete(ctx, waremme) })

	// the approved network, on its port, in the namespace that runs the application
	opened := func(want bool) func() error {
		return func() error {
			np := &networkingv1.NetworkPolicy{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: waremme.TenantNamespace(), Name: tenant.NetpolExternalEndpoints}, np); err != nil {
				return err
			}
			open := len(np.Spec.Egress) == 1 && len(np.Spec.Egress[0].To) == 1 && np.Spec.Egress[0].To[0].IPBlock != nil &&
				np.Spec.Egress[0].To[0].IPBlock.CIDR == "193.191.208.0/20" && len(np.Spec.Egress[0].Ports) == 1 && np.Spec.Egress[0].Ports[0].Port.IntValue() == 443
			if open != want || (!want && len(np.Spec.Egress) != 0) {
				return fmt.Errorf("egress of %s: %+v; want the BCSS open: %v", tenant.NetpolExternalEndpoints, np.Spec.Egress, want)
			}
			return nil
		}
	}
	eventually(t, wait, opened(true))

	// the catalogue entry says what waits, and the proxy's allow-list has the proxied host only
	eventually(t, wait, func() error {
		got := &v1alpha1.SharedApplication{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: "registre"}, got); err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionEndpointsApproved)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonEndpointsWaiting ||
			!strings.Contains(c.Message, "smtp.example.be:587/TCP") || !strings.Contains(c.Message, "support.imio.be:443/TCP") {
			return fmt.Errorf("EndpointsApproved %+v; want the relay waiting and iMio through the proxy", c)
		}
		return nil
	})
	allowlist := &corev1.ConfigMap{}
	get(t, "mutualis-shared/"+EgressAllowlist, allowlist)
	if allowlist.Data["hosts"] != "support.imio.be" {
		t.Errorf("the egress proxy's hosts: %q; want iMio's only (the BCSS is opened by its network, the relay is not approved)", allowlist.Data["hosts"])
	}

	// the cell withdraws the BCSS: closed again in the tenant's namespace
	patch(t, policy, func() { policy.Spec.Network.ExternalEndpoints = policy.Spec.Network.ExternalEndpoints[1:] })
	eventually(t, wait, opened(false))
}
