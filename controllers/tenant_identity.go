package controllers

import (
	"context"
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
	s.res.ExposedPorts = r.exposedPorts(ctx, t.TenantSpec())
	return nil
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
			s.res.PartnerExposedPorts = r.exposedPorts(ctx, partner.TenantSpec())
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
		s.res.PartnerExposedPorts = r.exposedPorts(ctx, commune.TenantSpec())
	}
	return nil
}

// exposedPorts collects the ports that a tenant's subscribed applications expose. An application
// missing from the catalogue exposes nothing.
func (r *TenantReconciler) exposedPorts(ctx context.Context, spec *v1alpha1.TenantSpec) []v1alpha1.ExposedPort {
	var out []v1alpha1.ExposedPort
	for _, sub := range spec.Applications {
		app := &v1alpha1.SharedApplication{}
		if err := r.Get(ctx, client.ObjectKey{Name: sub.Name}, app); err != nil {
			continue
		}
		out = append(out, app.Spec.Exposes...)
	}
	return out
}
