package plan

import (
	"context"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/api/validation"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// Identity is who a tenant is, once its spec, the registry, the policy and the other tenants agree.
type Identity struct {
	// NIS is the commune's code (a CPAS's commune's), or the province's.
	NIS  string
	Tier v1alpha1.Tier
	// Quota is the tier's quota, scaled for a CPAS.
	Quota corev1.ResourceList
	// Partner is the commune's CPAS, or the CPAS's commune, when there is one not being deleted.
	Partner v1alpha1.Tenant
	// Domains are the hosts the tenant may publish: its spec's, or its default, sorted.
	Domains []string
	// NISNotice says whether a Commune's code is current (Reason CurrentNIS) or retired (RetiredNIS,
	// with its successor); nil when the registry was not consulted. It never stalls the tenant.
	NISNotice *Verdict
}

// Identify works out who a tenant is. A Verdict comes back instead of an identity when the tenant
// cannot be served: a configuration error, or a dependency it waits for. The error is the view's.
func Identify(ctx context.Context, view View, t v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec) (*Identity, *Verdict, error) {
	var (
		id  *Identity
		v   *Verdict
		err error
	)
	switch o := t.(type) {
	case *v1alpha1.Commune:
		id, v, err = identifyCommune(ctx, view, o, policy)
	case *v1alpha1.CPAS:
		id, v, err = identifyCPAS(ctx, view, o, policy)
	case *v1alpha1.Province:
		id, v, err = identifyProvince(ctx, view, o, policy)
	}
	if err != nil || v != nil {
		return nil, v, err
	}
	if id.Domains, v, err = domains(ctx, view, t, policy); err != nil || v != nil {
		return nil, v, err
	}
	if v = egress(t, policy); v != nil {
		return nil, v, nil
	}
	return id, nil, nil
}

// egress checks the networks a tenant asks to reach outside the tenant contract: none may touch
// the cluster's own networks.
func egress(t v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec) *Verdict {
	cluster := make([]string, 0, len(policy.Network.ClusterCIDRs))
	for _, c := range policy.Network.ClusterCIDRs {
		cluster = append(cluster, string(c))
	}
	for _, c := range t.TenantSpec().Network.EgressCIDRs {
		if err := validation.EgressCIDR(string(c), cluster); err != nil {
			return stalled(v1alpha1.ConditionNetworkReady, v1alpha1.ReasonEgressNotAllowed, "%v; nothing was changed", err)
		}
	}
	return nil
}

// communeFacts is what a Commune's spec and the registry say about it, before the other tenants
// are consulted.
type communeFacts struct {
	population int32
	tier       v1alpha1.Tier
	notice     *Verdict
}

// registryFacts checks a Commune's NIS code and picks its tier.
func registryFacts(c *v1alpha1.Commune, policy v1alpha1.TenancyPolicySpec) (communeFacts, *Verdict) {
	var f communeFacts
	if policy.NISRegistry != v1alpha1.NISRegistryDisabled {
		if err := validation.NIS(c.Spec.NIS, true); err != nil {
			return f, stalled("", v1alpha1.ReasonUnknownNIS, "%v; nothing was created", err)
		}
		e, _ := registry.Lookup(c.Spec.NIS)
		f.population = e.Population
		if e.Current() {
			f.notice = &Verdict{Reason: v1alpha1.ReasonCurrentNIS, Message: "NIS " + c.Spec.NIS + " is a current code"}
		} else {
			f.notice = &Verdict{Reason: v1alpha1.ReasonRetiredNIS, Message: "NIS " + c.Spec.NIS + " (" + e.Name + ") was retired on " +
				e.ValidUntil.Format(time.DateOnly) + "; its successor is " + e.Successor + ": declare the merged commune with the new code"}
		}
	}
	if c.Spec.Population != nil {
		f.population = *c.Spec.Population
	} else if policy.NISRegistry == v1alpha1.NISRegistryDisabled {
		return f, stalled("", v1alpha1.ReasonPopulationMissing, "the TenancyPolicy disables the NIS registry, so spec.population is required to choose the tier: set it")
	}
	tier, err := tenant.SelectTier(policy, f.population, c.Spec.Tier)
	if err != nil {
		return f, stalled("", v1alpha1.ReasonUnknownTier, "%v", err)
	}
	f.tier = tier
	return f, nil
}

func identifyCommune(ctx context.Context, view View, c *v1alpha1.Commune, policy v1alpha1.TenancyPolicySpec) (*Identity, *Verdict, error) {
	f, v := registryFacts(c, policy)
	if v != nil {
		return nil, v, nil
	}
	same, err := view.CommunesWithNIS(ctx, c.Spec.NIS)
	if err != nil {
		return nil, nil, err
	}
	if len(same) == 0 {
		// the cache has not seen this Commune yet; it will, and wake it again
		return nil, waiting("", v1alpha1.ReasonProgressing, "waiting for the cache to see Commune %s", c.Name), nil
	}
	if winner := first(same); winner.GetName() != c.Name {
		return nil, stalled("", v1alpha1.ReasonDuplicateNIS,
			"NIS %s is already declared by Commune %s, declared earlier: delete this Commune or correct its code; nothing was created",
			c.Spec.NIS, winner.GetName()), nil
	}
	id := &Identity{NIS: c.Spec.NIS, Tier: f.tier, Quota: f.tier.Quota.DeepCopy(), NISNotice: f.notice}
	// the partner is the commune's CPAS, the first of those that name it
	cpas, err := view.CPASOf(ctx, c.Name)
	if err != nil {
		return nil, nil, err
	}
	if partner := CommunePartner(cpas); partner != nil {
		id.Partner = partner
	}
	return id, nil, nil
}

// CommunePartner is a commune's partner among the CPAS that name it: the one declared first, and
// none while that one is being deleted. The planner and the plugin's audit both pick it this way.
func CommunePartner(cpas []*v1alpha1.CPAS) *v1alpha1.CPAS {
	if len(cpas) == 0 {
		return nil
	}
	if partner := first(cpas); partner.DeletionTimestamp.IsZero() {
		return partner
	}
	return nil
}

// CPASPartner is a CPAS's partner: its commune, none while the commune is being deleted.
func CPASPartner(commune *v1alpha1.Commune) *v1alpha1.Commune {
	if commune == nil || !commune.DeletionTimestamp.IsZero() {
		return nil
	}
	return commune
}

func identifyCPAS(ctx context.Context, view View, c *v1alpha1.CPAS, policy v1alpha1.TenancyPolicySpec) (*Identity, *Verdict, error) {
	siblings, err := view.CPASOf(ctx, c.Spec.CommuneRef)
	if err != nil {
		return nil, nil, err
	}
	if len(siblings) > 0 {
		if winner := first(siblings); winner.GetName() != c.Name {
			return nil, stalled("", v1alpha1.ReasonDuplicateCPAS,
				"commune %s already has CPAS %s, declared earlier: a commune has one CPAS; delete this one; nothing was created",
				c.Spec.CommuneRef, winner.GetName()), nil
		}
	}
	commune, err := view.Commune(ctx, c.Spec.CommuneRef)
	if err != nil {
		return nil, nil, err
	}
	if commune == nil {
		return nil, waiting("", v1alpha1.ReasonCommuneNotFound,
			"Commune %s does not exist: create it, or correct spec.communeRef (immutable: re-create the CPAS); the CPAS waits and creates nothing",
			c.Spec.CommuneRef), nil
	}
	f, v := registryFacts(commune, policy)
	if v != nil {
		return nil, waiting("", v1alpha1.ReasonCommuneNotReady, "Commune %s cannot be served yet: %s", commune.Name, v.Message), nil
	}
	tier := f.tier
	if c.Spec.Tier != "" {
		if tier, err = tenant.SelectTier(policy, f.population, c.Spec.Tier); err != nil {
			return nil, stalled("", v1alpha1.ReasonUnknownTier, "%v", err), nil
		}
	}
	id := &Identity{NIS: commune.Spec.NIS, Tier: tier, Quota: tenant.ScaleQuota(tier.Quota, policy.CPASQuotaPercent)}
	if partner := CPASPartner(commune); partner != nil {
		id.Partner = partner
	}
	return id, nil, nil
}

// identifyProvince picks a Province's tier from its population, the sum of its communes in the
// registry unless its spec gives one, and stalls the later of two Provinces with the same code.
// A Province has no partner.
func identifyProvince(ctx context.Context, view View, p *v1alpha1.Province, policy v1alpha1.TenancyPolicySpec) (*Identity, *Verdict, error) {
	same, err := view.ProvincesWithNIS(ctx, p.Spec.NIS)
	if err != nil {
		return nil, nil, err
	}
	if len(same) == 0 {
		return nil, waiting("", v1alpha1.ReasonProgressing, "waiting for the cache to see Province %s", p.Name), nil
	}
	if winner := first(same); winner.GetName() != p.Name {
		return nil, stalled("", v1alpha1.ReasonDuplicateNIS,
			"NIS %s is already declared by Province %s, declared earlier: delete this Province or correct its code; nothing was created",
			p.Spec.NIS, winner.GetName()), nil
	}
	var population int32
	if e, ok := registry.LookupProvince(p.Spec.NIS); ok && policy.NISRegistry != v1alpha1.NISRegistryDisabled {
		population = e.Population
	}
	if p.Spec.Population != nil {
		population = *p.Spec.Population
	} else if population == 0 {
		return nil, stalled("", v1alpha1.ReasonPopulationMissing, "the TenancyPolicy disables the NIS registry, so spec.population is required to choose the tier: set it"), nil
	}
	tier, err := tenant.SelectTier(policy, population, p.Spec.Tier)
	if err != nil {
		return nil, stalled("", v1alpha1.ReasonUnknownTier, "%v", err), nil
	}
	return &Identity{NIS: p.Spec.NIS, Tier: tier, Quota: tier.Quota.DeepCopy()}, nil, nil
}

// domains works out the domains a tenant may publish, and stalls it when one of them lies under
// the cell's base domain or overlaps one that a tenant declared earlier.
func domains(ctx context.Context, view View, t v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec) ([]string, *Verdict, error) {
	for _, d := range t.TenantSpec().Domains {
		if err := validation.DeclaredDomain(string(d), policy.BaseDomain); err != nil {
			return nil, stalled("", v1alpha1.ReasonDomainNotAllowed, "%v", err), nil
		}
	}
	out := declaredDomains(t, policy)
	sort.Strings(out)
	for _, d := range out {
		rival, theirs, err := olderHolder(ctx, view, t, d)
		if err != nil {
			return nil, nil, err
		}
		if rival != nil {
			return nil, stalled("", v1alpha1.ReasonDuplicateDomain,
				"domain %s overlaps %s of %s %s, declared earlier: a host belongs to one tenant; remove it from spec.domains; its Ingresses for %s are withdrawn, nothing else was changed",
				d, theirs, rival.TenantKind().Kind(), rival.GetName(), d), nil
		}
	}
	return out, nil, nil
}

// declaredDomains are the domains a tenant asks for: its spec's, or without any its default under
// the policy's base domain.
func declaredDomains(t v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec) []string {
	var out []string
	for _, d := range t.TenantSpec().Domains {
		out = append(out, string(d))
	}
	if len(out) == 0 {
		if d := validation.DefaultDomain(defaultDomainPrefix(t.TenantKind()), t.GetName(), policy.BaseDomain); d != "" {
			out = []string{d}
		}
	}
	return out
}

// defaultDomainPrefix keeps the default domains of the kinds apart: liege, cpas-liege and
// province-liege under the base domain. A Commune's name may start with neither prefix (its schema).
func defaultDomainPrefix(k v1alpha1.TenantKind) string {
	switch k {
	case v1alpha1.KindCPAS:
		return "cpas-"
	case v1alpha1.KindProvince:
		return "province-"
	}
	return ""
}

// olderHolder is the tenant declared before t whose domains overlap d, with its overlapping domain.
func olderHolder(ctx context.Context, view View, t v1alpha1.Tenant, d string) (v1alpha1.Tenant, string, error) {
	rivals, err := tenantsWithDomainsNear(ctx, view, d)
	if err != nil {
		return nil, "", err
	}
	for _, rival := range rivals {
		if tenantID(rival) == tenantID(t) || !declaredBefore(rival, t) {
			continue
		}
		for _, theirs := range rival.TenantSpec().Domains {
			if validation.DomainsOverlap(d, string(theirs)) {
				return rival, string(theirs), nil
			}
		}
	}
	return nil, "", nil
}

// HeldDomains narrows the domains a tenant publishes to those it may still hold when it cannot be
// served (a stalled tenant publishes nothing new): the ones its spec (or its default) still names
// and no tenant declared before it overlaps. A domain given to an older tenant is withdrawn at once.
func HeldDomains(ctx context.Context, view View, t v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec, published []string) ([]string, error) {
	declared := declaredDomains(t, policy)
	var held []string
	for _, d := range published {
		if !slices.Contains(declared, d) {
			continue
		}
		if len(t.TenantSpec().Domains) > 0 && validation.DeclaredDomain(d, policy.BaseDomain) != nil {
			continue // under the cell's base domain: never the tenant's to hold
		}
		rival, _, err := olderHolder(ctx, view, t, d)
		if err != nil {
			return nil, err
		}
		if rival == nil {
			held = append(held, d)
		}
	}
	return held, nil
}

// SubscriberDomains are the domains a tenant holds for a shared instance's subscribers list: those
// of its spec (or its default) that no tenant declared before it, whether or not the tenant is
// stalled, so that a contested domain never reaches the instance for the later tenant.
func SubscriberDomains(ctx context.Context, view View, t v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec) ([]string, error) {
	return HeldDomains(ctx, view, t, policy, declaredDomains(t, policy))
}

// tenantsWithDomainsNear are the tenants whose declared domains may overlap d, each once.
func tenantsWithDomainsNear(ctx context.Context, view View, d string) ([]v1alpha1.Tenant, error) {
	var out []v1alpha1.Tenant
	seen := map[string]bool{}
	for _, key := range validation.DomainLookupKeys(d) {
		found, err := view.TenantsWithDomainKey(ctx, key)
		if err != nil {
			return nil, err
		}
		for _, t := range found {
			if id := tenantID(t); !seen[id] {
				seen[id] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}
