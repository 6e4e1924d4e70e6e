package controllers

import (
	"context"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/api/validation"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// resolve reads the policy and works out who the tenant is: its NIS code, population, tier, quota
// and partner. A configuration error stalls the tenant before anything is created.
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
	var err error
	switch o := t.(type) {
	case *v1alpha1.Commune:
		err = r.resolveCommune(ctx, s, o)
	case *v1alpha1.CPAS:
		err = r.resolveCPAS(ctx, s, o)
	}
	if err != nil || s.blocked() {
		return err
	}
	if err := r.resolveDomains(ctx, s); err != nil || s.blocked() {
		return err
	}
	s.res.ExposedPorts, s.res.SharedInstances, err = subscribedPorts(ctx, r.Client, t.TenantSpec())
	return err
}

// resolveDomains works out the domains the tenant may publish and stalls it when one of them is
// the cell's or is held by an older tenant.
func (r *TenantReconciler) resolveDomains(ctx context.Context, s *scope) error {
	t := s.tenant
	var domains []string
	for _, d := range t.TenantSpec().Domains {
		if err := validation.DeclaredDomain(string(d), s.policy.BaseDomain); err != nil {
			s.stall("", v1alpha1.ReasonDomainNotAllowed, "%v", err)
			return nil
		}
		domains = append(domains, string(d))
	}
	if len(domains) == 0 {
		if d := validation.DefaultDomain(r.Kind == v1alpha1.KindCPAS, t.GetName(), s.policy.BaseDomain); d != "" {
			domains = []string{d}
		}
	}
	sort.Strings(domains)
	for _, d := range domains {
		rivals, err := tenantsWithDomainsNear(ctx, r.Client, d)
		if err != nil {
			return err
		}
		for _, rival := range rivals {
			if rival.TenantKind() == r.Kind && rival.GetName() == t.GetName() {
				continue
			}
			for _, theirs := range rival.TenantSpec().Domains {
				if validation.DomainsOverlap(d, string(theirs)) && olderTenant(rival, t) {
					s.stall("", v1alpha1.ReasonDuplicateDomain,
						"domain %s overlaps %s of %s %s, declared earlier: a host belongs to one tenant; remove it from spec.domains; nothing was changed",
						d, theirs, rival.TenantKind().Kind(), rival.GetName())
					return nil
				}
			}
		}
	}
	s.res.Domains = domains
	return nil
}

// tenantsWithDomainsNear lists the Communes and CPAS whose declared domains may overlap d.
func tenantsWithDomainsNear(ctx context.Context, c client.Reader, d string) ([]v1alpha1.Tenant, error) {
	var out []v1alpha1.Tenant
	seen := map[string]bool{}
	for _, key := range validation.DomainLookupKeys(d) {
		found, err := tenantsIndexed(ctx, c, indexDomain, key)
		if err != nil {
			return nil, err
		}
		for _, t := range found {
			id := string(t.TenantKind()) + "/" + t.GetName()
			if !seen[id] {
				seen[id] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// olderTenant says whether a was declared before b: by creation time, then kind and name, so that
// two tenants always agree on which of them wins.
func olderTenant(a, b v1alpha1.Tenant) bool {
	at, bt := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !at.Equal(&bt) {
		return at.Before(&bt)
	}
	return string(a.TenantKind())+"/"+a.GetName() < string(b.TenantKind())+"/"+b.GetName()
}

// communeIdentity is what a Commune's spec and the registry say about it.
type communeIdentity struct {
	population int32
	tier       v1alpha1.Tier
	// retired is the registry entry of a retired code.
	retired *registry.Entry
}

// identifyCommune checks a Commune's NIS code and picks its tier. It returns the reason and message
// of a configuration error instead of an error.
func identifyCommune(c *v1alpha1.Commune, policy v1alpha1.TenancyPolicySpec) (communeIdentity, string, string) {
	var id communeIdentity
	if policy.NISRegistry != v1alpha1.NISRegistryDisabled {
		// the same check, and the same words, as the offline validator
		if err := validation.NIS(c.Spec.NIS, true); err != nil {
			return id, v1alpha1.ReasonUnknownNIS, err.Error() + "; nothing was created"
		}
		e, _ := registry.Lookup(c.Spec.NIS)
		id.population = e.Population
		if !e.Current() {
			id.retired = &e
		}
	}
	if c.Spec.Population != nil {
		id.population = *c.Spec.Population
	} else if policy.NISRegistry == v1alpha1.NISRegistryDisabled {
		return id, v1alpha1.ReasonPopulationMissing, "the TenancyPolicy disables the NIS registry, so spec.population is required to choose the tier: set it"
	}
	tier, err := tenant.SelectTier(policy, id.population, c.Spec.Tier)
	if err != nil {
		return id, v1alpha1.ReasonUnknownTier, err.Error()
	}
	id.tier = tier
	return id, "", ""
}

// oldest orders competing tenants: the oldest wins, then the smallest name.
func oldest(objs []client.Object) client.Object {
	sort.Slice(objs, func(i, j int) bool {
		a, b := objs[i].GetCreationTimestamp(), objs[j].GetCreationTimestamp()
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return objs[i].GetName() < objs[j].GetName()
	})
	return objs[0]
}

func (r *TenantReconciler) resolveCommune(ctx context.Context, s *scope, c *v1alpha1.Commune) error {
	id, reason, msg := identifyCommune(c, s.policy)
	if reason != "" {
		s.stall("", reason, "%s", msg)
		return nil
	}
	if id.retired != nil {
		s.nis = condition(v1alpha1.ConditionNISCurrent, metav1.ConditionFalse, v1alpha1.ReasonRetiredNIS,
			"NIS %s (%s) was retired on %s; its successor is %s: declare the merged commune with the new code",
			c.Spec.NIS, id.retired.Name, id.retired.ValidUntil.Format(time.DateOnly), id.retired.Successor)
	} else if s.policy.NISRegistry != v1alpha1.NISRegistryDisabled {
		s.nis = condition(v1alpha1.ConditionNISCurrent, metav1.ConditionTrue, v1alpha1.ReasonCurrentNIS, "NIS %s is a current code", c.Spec.NIS)
	}

	same := &v1alpha1.CommuneList{}
	if err := r.List(ctx, same, client.MatchingFields{indexCommuneNIS: c.Spec.NIS}); err != nil {
		return err
	}
	var rivals []client.Object
	for i := range same.Items {
		rivals = append(rivals, &same.Items[i])
	}
	if len(rivals) == 0 {
		// the cache has not seen this Commune yet; it will, and wake it again
		s.wait("", v1alpha1.ReasonProgressing, "waiting for the cache to see Commune %s", c.Name)
		return nil
	}
	if winner := oldest(rivals); winner.GetName() != c.Name {
		s.stall("", v1alpha1.ReasonDuplicateNIS,
			"NIS %s is already declared by Commune %s, created earlier: delete this Commune or correct its code; nothing was created",
			c.Spec.NIS, winner.GetName())
		return nil
	}
	s.res.NIS = c.Spec.NIS
	s.res.Tier = id.tier
	s.res.Quota = id.tier.Quota.DeepCopy()

	// the partner is the commune's CPAS, the oldest of those that name it
	cpas := &v1alpha1.CPASList{}
	if err := r.List(ctx, cpas, client.MatchingFields{indexCPASCommuneRef: c.Name}); err != nil {
		return err
	}
	if len(cpas.Items) > 0 {
		var objs []client.Object
		for i := range cpas.Items {
			objs = append(objs, &cpas.Items[i])
		}
		partner := oldest(objs).(*v1alpha1.CPAS)
		if partner.DeletionTimestamp.IsZero() {
			s.partner = partner
			s.res.Partner = partner.TenantNamespace()
			var err error
			if s.res.PartnerExposedPorts, err = exposedPorts(ctx, r.Client, partner.TenantSpec()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *TenantReconciler) resolveCPAS(ctx context.Context, s *scope, c *v1alpha1.CPAS) error {
	siblings := &v1alpha1.CPASList{}
	if err := r.List(ctx, siblings, client.MatchingFields{indexCPASCommuneRef: c.Spec.CommuneRef}); err != nil {
		return err
	}
	var objs []client.Object
	for i := range siblings.Items {
		objs = append(objs, &siblings.Items[i])
	}
	if len(objs) > 0 {
		if winner := oldest(objs); winner.GetName() != c.Name {
			s.stall("", v1alpha1.ReasonDuplicateCPAS,
				"commune %s already has CPAS %s, created earlier: a commune has one CPAS; delete this one; nothing was created",
				c.Spec.CommuneRef, winner.GetName())
			return nil
		}
	}

	commune := &v1alpha1.Commune{}
	if err := r.Get(ctx, client.ObjectKey{Name: c.Spec.CommuneRef}, commune); apierrors.IsNotFound(err) {
		s.wait("", v1alpha1.ReasonCommuneNotFound,
			"Commune %s does not exist: create it, or correct spec.communeRef (immutable: re-create the CPAS); the CPAS waits and creates nothing",
			c.Spec.CommuneRef)
		return nil
	} else if err != nil {
		return err
	}
	id, reason, msg := identifyCommune(commune, s.policy)
	if reason != "" {
		s.wait("", v1alpha1.ReasonCommuneNotReady, "Commune %s cannot be served yet: %s", commune.Name, msg)
		return nil
	}
	tier := id.tier
	if c.Spec.Tier != "" {
		var err error
		if tier, err = tenant.SelectTier(s.policy, id.population, c.Spec.Tier); err != nil {
			s.stall("", v1alpha1.ReasonUnknownTier, "%v", err)
			return nil
		}
	}
	s.res.NIS = commune.Spec.NIS
	s.res.Tier = tier
	s.res.Quota = tenant.ScaleQuota(tier.Quota, s.policy.CPASQuotaPercent)
	if commune.DeletionTimestamp.IsZero() {
		s.partner = commune
		s.res.Partner = commune.TenantNamespace()
		var err error
		if s.res.PartnerExposedPorts, err = exposedPorts(ctx, r.Client, commune.TenantSpec()); err != nil {
			return err
		}
	}
	return nil
}

// exposedPorts collects the ports that a tenant's subscribed applications expose in its own
// namespace. An application missing from the catalogue exposes nothing, and a Shared one exposes
// its ports in its instance's namespace, not the tenant's; any other error is returned, because
// network policies written without an application's ports would cut it off.
func exposedPorts(ctx context.Context, c client.Reader, spec *v1alpha1.TenantSpec) ([]v1alpha1.ExposedPort, error) {
	ports, _, err := subscribedPorts(ctx, c, spec)
	return ports, err
}

// subscribedPorts is exposedPorts, and the shared instances the tenant reaches with their ports.
func subscribedPorts(ctx context.Context, c client.Reader, spec *v1alpha1.TenantSpec) ([]v1alpha1.ExposedPort, []tenant.SharedAccess, error) {
	var out []v1alpha1.ExposedPort
	var shared []tenant.SharedAccess
	for _, sub := range spec.Applications {
		app := &v1alpha1.SharedApplication{}
		switch err := c.Get(ctx, client.ObjectKey{Name: sub.Name}, app); {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("reading SharedApplication %s for its exposed ports: %w", sub.Name, err)
		}
		if app.Spec.Instance == v1alpha1.InstanceShared {
			shared = append(shared, tenant.SharedAccess{Namespace: tenant.InstanceNamespaceName(app.Name), Ports: app.Spec.Exposes})
			continue
		}
		out = append(out, app.Spec.Exposes...)
	}
	return out, shared, nil
}
