package plan

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// Subscription is one application a tenant takes: its own subscription, or one a CPAS shares
// from its commune through synergy (Shared), or both.
type Subscription struct {
	v1alpha1.ApplicationSubscription
	// Shared marks an application of the commune that a CPAS uses through synergy.
	Shared bool
}

// Subscriptions are the applications a tenant takes, by name.
func Subscriptions(t v1alpha1.Tenant) []Subscription {
	byName := map[string]*Subscription{}
	for _, sub := range t.TenantSpec().Applications {
		byName[sub.Name] = &Subscription{ApplicationSubscription: sub}
	}
	if cpas, ok := t.(*v1alpha1.CPAS); ok {
		for _, name := range cpas.Spec.Synergy.SharedApplications {
			if byName[name] == nil {
				byName[name] = &Subscription{ApplicationSubscription: v1alpha1.ApplicationSubscription{Name: name}}
			}
			byName[name].Shared = true
		}
	}
	out := make([]Subscription, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// MissingApplication says what a subscription to an application absent from the catalogue comes
// to; deployed says whether something of it runs already.
func MissingApplication(name string, deployed bool) string {
	if deployed {
		return fmt.Sprintf("SharedApplication %s does not exist: what was deployed is left running untouched (a shared instance too, in %s); restore it in the catalogue or unsubscribe",
			name, tenant.InstanceNamespaceName(name))
	}
	return fmt.Sprintf("SharedApplication %s does not exist: check the name against kubectl get sharedapplications", name)
}

// UndeclaredParameters checks a subscription to a Shared application: its values reach the
// instance through the subscribers list, and must be parameters the application declares.
func UndeclaredParameters(app *v1alpha1.SharedApplication, sub v1alpha1.ApplicationSubscription) string {
	undeclared, declared := render.Undeclared(app, sub.Parameters)
	if len(undeclared) == 0 {
		return ""
	}
	quoted := make([]string, 0, len(undeclared))
	for _, k := range undeclared {
		quoted = append(quoted, fmt.Sprintf("%q", k))
	}
	return fmt.Sprintf("application %s: parameters %s are not declared by the application (%s): remove them from spec.applications[%s].parameters",
		app.Name, strings.Join(quoted, ", "), render.DeclaredList(declared), app.Name)
}

// SynergyProblem checks an application a CPAS shares from its commune: the commune must subscribe
// to it. partner is the CPAS's commune, nil when it has none.
func SynergyProblem(t v1alpha1.Tenant, partner v1alpha1.Tenant, app string) string {
	if partner != nil && Subscribes(partner, app) {
		return ""
	}
	commune := "its commune"
	if cpas, ok := t.(*v1alpha1.CPAS); ok {
		commune = "commune " + cpas.Spec.CommuneRef
	}
	return fmt.Sprintf("application %s is shared in spec.synergy but %s does not subscribe to it: subscribe the commune, or remove it from synergy.sharedApplications", app, commune)
}

// Subscribes says whether a tenant subscribes to an application itself.
func Subscribes(t v1alpha1.Tenant, app string) bool {
	for _, a := range t.TenantSpec().Applications {
		if a.Name == app {
			return true
		}
	}
	return false
}

// DisplayName is the name a tenant's applications show: its spec's, else the name its people use
// by the registry for the commune's NIS code ("Liège", "Amel"; "CPAS d'Ans", "ÖSHZ Amel"), else
// the object's name (a code the registry does not hold).
func DisplayName(t v1alpha1.Tenant, nis string) string {
	if n := t.TenantSpec().DisplayName; n != "" {
		return n
	}
	if p, ok := registry.LookupProvince(nis); ok && t.TenantKind() == v1alpha1.KindProvince {
		return p.LocalName
	}
	if e, ok := registry.Lookup(nis); ok {
		if t.TenantKind() == v1alpha1.KindCPAS {
			return e.CPASName()
		}
		return e.LocalName()
	}
	return t.GetName()
}

// RenderTenant is what the render of an application for a tenant knows of it.
func RenderTenant(t v1alpha1.Tenant, nis, tier string, sub v1alpha1.ApplicationSubscription, seats int32) render.Tenant {
	return render.Tenant{
		Kind: t.TenantKind(), Name: t.GetName(), Namespace: t.TenantNamespace(), NIS: nis,
		DisplayName: DisplayName(t, nis), Tier: tier, Parameters: sub.Parameters, Seats: seats,
	}
}

// Rendered is one subscription's rendered objects.
type Rendered struct {
	Application string
	Objects     []*unstructured.Unstructured
}

// QuotaShortfalls sums what the rendered subscriptions take of the tenant's quota, with the tier's
// default requests and limits for containers that set none, and says what exceeds it.
func QuotaShortfalls(tier v1alpha1.Tier, quota corev1.ResourceList, renders []Rendered) ([]string, error) {
	defaults := render.Defaults{Request: tier.DefaultRequest, Limit: tier.DefaultLimit}
	needs := make([]corev1.ResourceList, 0, len(renders))
	for _, r := range renders {
		need, err := render.Requirements(r.Objects, defaults)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Application, err)
		}
		needs = append(needs, need)
	}
	return render.Shortfalls(render.AddAll(needs...), quota), nil
}
