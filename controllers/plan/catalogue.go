package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// CatalogueVerdict checks a catalogue entry the way every tenant will render it, with a sample
// tenant, and renders it for each tier of the policy to say whether it fits a commune and a CPAS
// of that tier. The problem is nil when the entry is valid; it waits (Wait) when the render uses
// a kind the cluster does not serve, which isNamespaced says (nil: the well-known kinds only).
func CatalogueVerdict(app *v1alpha1.SharedApplication, policy v1alpha1.TenancyPolicySpec, isNamespaced func(string, string) (bool, error)) (*Verdict, []v1alpha1.TierFit, error) {
	const part = v1alpha1.ConditionBaseValid
	if app.Spec.Instance == v1alpha1.InstanceExternal {
		// nothing is rendered: every tier holds what the cell does not run
		return nil, nil, nil
	}
	_, err := render.Render(app, SampleTenant(app), render.Options{AllowedServiceTypes: policy.AllowedServiceTypes, IsNamespaced: isNamespaced})
	var rerr *render.Error
	var missing *render.MissingKindsError
	switch {
	case errors.As(err, &rerr):
		return stalled(part, v1alpha1.ReasonInvalidBase, "%s: no tenant gets this version; fix the catalogue entry", rerr.Error()), nil, nil
	case errors.As(err, &missing):
		return waiting(part, v1alpha1.ReasonKindNotInstalled, "%s", missing.Error()), nil, nil
	case err != nil:
		return nil, nil, err
	}
	fits, reason, problem, err := catalogueFits(app, policy, isNamespaced)
	if err != nil || problem == "" {
		return nil, fits, err
	}
	return stalled(part, reason, "%s", problem), fits, nil
}

// catalogueFits renders an application for a commune of each tier of the policy and says whether
// it fits the quota of a commune and of a CPAS of that tier. A size for a tier the policy does not
// define, or a render of one tier that fails, is a problem of the catalogue entry, with its reason.
func catalogueFits(app *v1alpha1.SharedApplication, policy v1alpha1.TenancyPolicySpec, isNamespaced func(string, string) (bool, error)) (fits []v1alpha1.TierFit, reason, problem string, err error) {
	known := map[string]bool{}
	var names []string
	for _, t := range policy.Tiers {
		known[t.Name] = true
		names = append(names, t.Name)
	}
	for _, size := range app.Spec.Sizes {
		if !known[size.Tier] {
			return nil, v1alpha1.ReasonUnknownTier, fmt.Sprintf("spec.sizes names tier %q, which the TenancyPolicy does not define (tiers: %s): rename it or add the tier to the policy", size.Tier, strings.Join(names, ", ")), nil
		}
	}
	for _, tier := range policy.Tiers {
		sample := SampleTenant(app)
		sample.Tier = tier.Name
		objs, err := render.Render(app, sample, render.Options{AllowedServiceTypes: policy.AllowedServiceTypes, IsNamespaced: isNamespaced})
		if err != nil {
			var rerr *render.Error
			if errors.As(err, &rerr) {
				return nil, v1alpha1.ReasonInvalidBase, fmt.Sprintf("the render for tier %s fails: %v: no tenant gets this version; fix spec.sizes", tier.Name, rerr), nil
			}
			return nil, "", "", err
		}
		need, err := render.Requirements(objs, render.Defaults{Request: tier.DefaultRequest, Limit: tier.DefaultLimit})
		if err != nil {
			return nil, "", "", err
		}
		commune := render.Shortfalls(need, tier.Quota)
		cpas := render.Shortfalls(need, tenant.ScaleQuota(tier.Quota, policy.CPASQuotaPercent))
		fit := v1alpha1.TierFit{Tier: tier.Name, Commune: len(commune) == 0, CPAS: len(cpas) == 0}
		var msgs []string
		if len(commune) > 0 {
			msgs = append(msgs, "a commune needs "+strings.Join(commune, ", "))
		}
		if len(cpas) > 0 {
			msgs = append(msgs, "a CPAS needs "+strings.Join(cpas, ", "))
		}
		fit.Message = strings.Join(msgs, "; ")
		fits = append(fits, fit)
	}
	return fits, "", "", nil
}

// SampleTenant fills every parameter, so that the check covers the base and not a subscription.
func SampleTenant(app *v1alpha1.SharedApplication) render.Tenant {
	params := map[string]string{}
	for _, p := range app.Spec.Parameters {
		if p.Required {
			params[p.Name] = "example"
		}
	}
	return render.Tenant{Kind: v1alpha1.KindCommune, Name: "sample", Namespace: "commune-sample", NIS: "62063",
		DisplayName: "Sample", Tier: "S", Seats: 1, Parameters: params}
}
