package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/status"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// resolve reads the policy and works out who the tenant is: its NIS code, population, tier, quota,
// partner and domains, decided by the planner on the cache. A configuration error stalls the
// tenant before anything is created.
func (r *TenantReconciler) resolve(ctx context.Context, s *scope) error {
	policy := &v1alpha1.TenancyPolicy{}
	switch err := r.Get(ctx, client.ObjectKey{Name: v1alpha1.TenancyPolicyName}, policy); {
	case apierrors.IsNotFound(err):
		policy = nil
	case err != nil:
		return err
	}
	s.policy = tenant.EffectivePolicy(policy)

	t := s.tenant
	s.res = &tenant.Resolved{Kind: r.Kind, Name: t.GetName(), UID: t.GetUID(), Namespace: t.TenantNamespace(), Spec: t.TenantSpec()}
	for _, sub := range plan.Subscriptions(t) {
		s.res.Applications = append(s.res.Applications, sub.Name)
	}
	id, verdict, err := plan.Identify(ctx, cacheView{r.Client}, t, s.policy)
	if err != nil {
		return err
	}
	if verdict != nil {
		s.decided(verdict)
		return nil
	}
	if n := id.NISNotice; n != nil {
		current := metav1.ConditionTrue
		if n.Reason == v1alpha1.ReasonRetiredNIS {
			current = metav1.ConditionFalse
		}
		s.NIS = status.Condition(v1alpha1.ConditionNISCurrent, current, n.Reason, "%s", n.Message)
	}
	s.identity = id
	s.res.NIS, s.res.Tier, s.res.Quota, s.res.Domains = id.NIS, id.Tier, id.Quota, id.Domains
	if id.Partner != nil {
		s.res.Partner = id.Partner.TenantNamespace()
		if s.res.PartnerExposedPorts, err = exposedPorts(ctx, r.Client, id.Partner.TenantSpec()); err != nil {
			return err
		}
	}
	s.res.ExposedPorts, s.res.SharedInstances, s.res.ExternalEndpoints, err = subscribedPorts(ctx, r.Client, t.TenantSpec(), s.policy)
	return err
}

// cacheView serves the planner from the informers' cache, through the field indexes of setup.go.
// Lists are not deep-copied: the planner only reads.
type cacheView struct{ c client.Reader }

func (v cacheView) CommunesWithNIS(ctx context.Context, nis string) ([]*v1alpha1.Commune, error) {
	list := &v1alpha1.CommuneList{}
	if err := v.c.List(ctx, list, client.MatchingFields{indexCommuneNIS: nis}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*v1alpha1.Commune, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

func (v cacheView) ProvincesWithNIS(ctx context.Context, nis string) ([]*v1alpha1.Province, error) {
	list := &v1alpha1.ProvinceList{}
	if err := v.c.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	var out []*v1alpha1.Province
	for i := range list.Items {
		if list.Items[i].Spec.NIS == nis {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

func (v cacheView) CPASOf(ctx context.Context, commune string) ([]*v1alpha1.CPAS, error) {
	list := &v1alpha1.CPASList{}
	if err := v.c.List(ctx, list, client.MatchingFields{indexCPASCommuneRef: commune}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*v1alpha1.CPAS, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

func (v cacheView) Commune(ctx context.Context, name string) (*v1alpha1.Commune, error) {
	c := &v1alpha1.Commune{}
	if err := v.c.Get(ctx, client.ObjectKey{Name: name}, c); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return c, nil
}

func (v cacheView) TenantsWithDomainKey(ctx context.Context, key string) ([]v1alpha1.Tenant, error) {
	return tenantsIndexed(ctx, v.c, indexDomain, key)
}

// exposedPorts collects the ports that a tenant's subscribed applications expose in its own
// namespace. An application missing from the catalogue exposes nothing, and a Shared one exposes
// its ports in its instance's namespace, not the tenant's; any other error is returned, because
// network policies written without an application's ports would cut it off.
func exposedPorts(ctx context.Context, c client.Reader, spec *v1alpha1.TenantSpec) ([]v1alpha1.ExposedPort, error) {
	ports, _, _, err := subscribedPorts(ctx, c, spec, v1alpha1.TenancyPolicySpec{})
	return ports, err
}

// subscribedPorts is exposedPorts, the shared instances the tenant reaches with their ports, and
// the external endpoints the policy approves for the applications it runs.
func subscribedPorts(ctx context.Context, c client.Reader, spec *v1alpha1.TenantSpec, policy v1alpha1.TenancyPolicySpec) ([]v1alpha1.ExposedPort, []tenant.SharedAccess, []tenant.ExternalAccess, error) {
	var out []v1alpha1.ExposedPort
	var shared []tenant.SharedAccess
	var external []tenant.ExternalAccess
	for _, sub := range spec.Applications {
		app := &v1alpha1.SharedApplication{}
		switch err := c.Get(ctx, client.ObjectKey{Name: sub.Name}, app); {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, nil, nil, fmt.Errorf("reading SharedApplication %s for its exposed ports: %w", sub.Name, err)
		}
		if app.Spec.Instance == v1alpha1.InstanceShared {
			shared = append(shared, tenant.SharedAccess{Application: app.Name, Namespace: tenant.InstanceNamespaceName(app.Name), Ports: app.Spec.Exposes})
			continue
		}
		out = append(out, app.Spec.Exposes...)
		// the application runs here: its calls outside leave from here
		external = append(external, tenant.ApproveEndpoints(app, policy).Direct...)
	}
	return out, shared, external, nil
}
