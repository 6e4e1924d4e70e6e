package plan

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/render"
)

func entry(name string, model v1alpha1.LicenceModel) *v1alpha1.SharedApplication {
	a := &v1alpha1.SharedApplication{Spec: v1alpha1.SharedApplicationSpec{Licence: v1alpha1.LicenceSpec{Model: model}}}
	a.Name = name
	return a
}

func sub(name string, seats *int32, shared bool) Subscription {
	return Subscription{ApplicationSubscription: v1alpha1.ApplicationSubscription{Name: name, Seats: seats}, Shared: shared}
}

// The one seat rule, with the cases where the pool controller's copy and the planner's disagreed:
// an OpenSource entry with seats, and a CPAS on a per-seat application through synergy.
func TestLicenceRequest(t *testing.T) {
	five := ptr.To[int32](5)
	tests := []struct {
		name       string
		model      v1alpha1.LicenceModel
		sub        Subscription
		seats      int32
		pooled     bool
		problemHas string
	}{
		{"open source", v1alpha1.LicenceOpenSource, sub("a", nil, false), 0, false, ""},
		{"no model is open source", "", sub("a", nil, false), 0, false, ""},
		{"open source with seats is refused, and asks the pool for nothing", v1alpha1.LicenceOpenSource, sub("a", five, false), 0, false, "OpenSource application"},
		{"per seat", v1alpha1.LicencePerSeat, sub("a", five, false), 5, true, ""},
		{"per seat without seats", v1alpha1.LicencePerSeat, sub("a", nil, false), 0, false, "set spec.applications[a].seats"},
		{"per seat through synergy with seats: the CPAS's staff take seats", v1alpha1.LicencePerSeat, sub("a", five, true), 5, true, ""},
		{"per seat through synergy without seats", v1alpha1.LicencePerSeat, sub("a", nil, true), 0, false, "list it in spec.applications"},
		{"per instance: one copy, one seat", v1alpha1.LicencePerInstance, sub("a", nil, false), 1, true, ""},
		{"per instance through synergy: the commune's copy holds the seat", v1alpha1.LicencePerInstance, sub("a", nil, true), 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seats, pooled, problem := LicenceRequest(entry("a", tt.model), tt.sub)
			if seats != tt.seats || pooled != tt.pooled || (tt.problemHas == "") != (problem == "") || !strings.Contains(problem, tt.problemHas) {
				t.Fatalf("LicenceRequest = %d, %v, %q; want %d, %v, a problem with %q", seats, pooled, problem, tt.seats, tt.pooled, tt.problemHas)
			}
			// the pool's side of the same rule
			c := &v1alpha1.CPAS{Spec: v1alpha1.CPASSpec{CommuneRef: "x"}}
			c.Name = "x"
			if tt.sub.Shared {
				c.Spec.Synergy.SharedApplications = []string{"a"}
				if tt.sub.Seats != nil {
					c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "a", Seats: tt.sub.Seats}}
				}
			} else {
				c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "a", Seats: tt.sub.Seats}}
			}
			got := SeatRequests(c, map[string]*v1alpha1.SharedApplication{"a": entry("a", tt.model)})["a"]
			want := tt.seats
			if tt.problemHas != "" {
				want = 0
			}
			if got != want {
				t.Fatalf("SeatRequests = %d; want %d, as LicenceRequest decides", got, want)
			}
		})
	}
}

func deployment(name, cpu string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"replicas": int64(1), "template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "c", "resources": map[string]any{
				"requests": map[string]any{"cpu": cpu, "memory": "64Mi"},
				"limits":   map[string]any{"cpu": cpu, "memory": "64Mi"},
			}},
		}}}},
	}}
}

// input is a commune of a tier with a quota of two CPUs, and a render that gives each application
// one Deployment asking for what cpu says (a render.Error for "invalid", missing kinds for "crd").
func input(subs []v1alpha1.ApplicationSubscription, entries map[string]*v1alpha1.SharedApplication, cpu map[string]string) ApplicationsInput {
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "hotton"}, Spec: v1alpha1.CommuneSpec{NIS: "83028"}}
	c.Spec.Applications = subs
	quota := corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("2"), corev1.ResourceLimitsCPU: resource.MustParse("2"),
		corev1.ResourceRequestsMemory: resource.MustParse("1Gi"), corev1.ResourceLimitsMemory: resource.MustParse("1Gi")}
	return ApplicationsInput{
		Tenant: c, Entries: entries,
		Identity: &Identity{NIS: "83028", Tier: v1alpha1.Tier{Name: "S", Quota: quota}, Quota: quota},
		Render: func(app *v1alpha1.SharedApplication, _ render.Tenant) ([]*unstructured.Unstructured, error) {
			switch cpu[app.Name] {
			case "invalid":
				return nil, &render.Error{Application: app.Name, Problems: []string{"a bad base"}}
			case "crd":
				return nil, &render.MissingKindsError{Application: app.Name, Kinds: []string{"example.org/v1/Widget"}}
			case "discovery":
				return nil, errors.New("the server is currently unable to handle the request")
			}
			return []*unstructured.Unstructured{deployment(app.Name, cpu[app.Name])}, nil
		},
	}
}

func subs(names ...string) []v1alpha1.ApplicationSubscription {
	var out []v1alpha1.ApplicationSubscription
	for _, n := range names {
		out = append(out, v1alpha1.ApplicationSubscription{Name: n})
	}
	return out
}

func entries(names ...string) map[string]*v1alpha1.SharedApplication {
	out := map[string]*v1alpha1.SharedApplication{}
	for _, n := range names {
		out[n] = entry(n, v1alpha1.LicenceOpenSource)
	}
	return out
}

// The verdict names the problem the reader must fix first: the quota, then an invalid
// subscription, then a missing application, then a kind the cluster does not serve yet.
func TestApplicationsVerdictOrder(t *testing.T) {
	tests := []struct {
		name    string
		subs    []string
		entries []string
		cpu     map[string]string
		reason  string
		wait    bool
	}{
		// a Deployment counts twice: its pods and those of a rollout's surge
		{"an exact fit of the quota is no shortfall", []string{"a", "b"}, []string{"a", "b"}, map[string]string{"a": "500m", "b": "500m"}, "", false},
		{"a millicore over is", []string{"a", "b"}, []string{"a", "b"}, map[string]string{"a": "500m", "b": "501m"}, v1alpha1.ReasonQuotaTooSmall, false},
		{"quota before an invalid subscription", []string{"a", "b", "c"}, []string{"a", "b", "c"}, map[string]string{"a": "2", "b": "1", "c": "invalid"}, v1alpha1.ReasonQuotaTooSmall, false},
		{"invalid before missing", []string{"a", "b"}, []string{"a"}, map[string]string{"a": "invalid"}, v1alpha1.ReasonApplicationInvalid, false},
		{"missing before a kind not served", []string{"a", "b"}, []string{"a"}, map[string]string{"a": "crd"}, v1alpha1.ReasonApplicationMissing, true},
		{"a kind not served waits", []string{"a"}, []string{"a"}, map[string]string{"a": "crd"}, v1alpha1.ReasonKindNotInstalled, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Applications(input(subs(tt.subs...), entries(tt.entries...), tt.cpu))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.reason == "" && p.Verdict != nil:
				t.Fatalf("verdict %v; want none", p.Verdict)
			case tt.reason != "" && (p.Verdict == nil || p.Verdict.Reason != tt.reason || p.Verdict.Wait != tt.wait):
				t.Fatalf("verdict %+v; want %s (wait %v)", p.Verdict, tt.reason, tt.wait)
			}
		})
	}
}

// A render the cluster's discovery could not decide is an error to retry, never ApplicationInvalid.
func TestTransientRenderErrorIsNoVerdict(t *testing.T) {
	p, err := Applications(input(subs("a"), entries("a"), map[string]string{"a": "discovery"}))
	if err == nil || p != nil {
		t.Fatalf("plan %+v, err %v; want the error, no plan", p, err)
	}
}

// Seats: a tenant with no grant waits and applies nothing; with a partial grant it runs on its
// grant, its render gets the granted seats, and LicencesReady says why it has fewer.
func TestApplicationsSeats(t *testing.T) {
	es := map[string]*v1alpha1.SharedApplication{"sign": entry("sign", v1alpha1.LicencePerSeat)}
	request := []v1alpha1.ApplicationSubscription{{Name: "sign", Seats: ptr.To[int32](5)}}
	var rendered int32
	in := input(request, es, map[string]string{"sign": "100m"})
	inner := in.Render
	in.Render = func(app *v1alpha1.SharedApplication, t render.Tenant) ([]*unstructured.Unstructured, error) {
		rendered = t.Seats
		return inner(app, t)
	}

	p, err := Applications(in)
	if err != nil || p.Subscriptions[0].Outcome != OutcomeAwaitingSeats || len(p.LicenceShort) != 1 || !strings.Contains(p.LicenceShort[0], "no LicencePool") {
		t.Fatalf("no pool: %+v, %v; want the subscription awaiting seats and a short licence", p, err)
	}
	in.Grants = map[string]Grant{"sign": {Pool: "sign-2026", Granted: 3, Available: 0}}
	p, err = Applications(in)
	if err != nil || p.Subscriptions[0].Outcome != OutcomeApply || rendered != 3 {
		t.Fatalf("partial grant: %+v, %v, rendered with %d seats; want applied with 3", p, err, rendered)
	}
	if len(p.Licences) != 1 || p.Licences[0].Requested != 5 || p.Licences[0].Granted != 3 || !strings.Contains(p.LicenceShort[0], "5 seats requested, 3 granted") {
		t.Fatalf("licences %+v, short %v", p.Licences, p.LicenceShort)
	}
	in.Grants = map[string]Grant{"sign": {Pool: "sign-2026", Granted: 5, Ended: "2026-01-01"}}
	if p, _ = Applications(in); len(p.LicenceShort) != 0 {
		t.Fatalf("a tenant holding all its seats of an ended pool is not short: %v", p.LicenceShort)
	}
}

// A tenant that lost a domain to an older one does not give it to a shared instance either.
func TestSubscriberDomainsLeaveOutAContestedDomain(t *testing.T) {
	older := commune("namur", "92094", time.Unix(100, 0))
	older.Spec.Domains = []v1alpha1.Domain{"namur.be"}
	later := commune("other", "92095", time.Unix(200, 0))
	later.Spec.Domains = []v1alpha1.Domain{"namur.be", "other.be"}
	view := domainView{older, later}
	got, err := SubscriberDomains(context.Background(), view, later, v1alpha1.TenancyPolicySpec{BaseDomain: "wallonie.example"})
	if err != nil || len(got) != 1 || got[0] != "other.be" {
		t.Fatalf("SubscriberDomains = %v, %v; want only other.be", got, err)
	}
	got, _ = SubscriberDomains(context.Background(), view, older, v1alpha1.TenancyPolicySpec{})
	if len(got) != 1 || got[0] != "namur.be" {
		t.Fatalf("the older tenant keeps its domain: %v", got)
	}
}

// domainView is a View that finds every tenant for any domain key.
type domainView tenants

func (v domainView) CommunesWithNIS(ctx context.Context, nis string) ([]*v1alpha1.Commune, error) {
	return tenants(v).CommunesWithNIS(ctx, nis)
}
func (v domainView) ProvincesWithNIS(ctx context.Context, nis string) ([]*v1alpha1.Province, error) {
	return tenants(v).ProvincesWithNIS(ctx, nis)
}
func (v domainView) CPASOf(ctx context.Context, c string) ([]*v1alpha1.CPAS, error) {
	return tenants(v).CPASOf(ctx, c)
}
func (v domainView) Commune(ctx context.Context, n string) (*v1alpha1.Commune, error) {
	return tenants(v).Commune(ctx, n)
}
func (v domainView) TenantsWithDomainKey(context.Context, string) ([]v1alpha1.Tenant, error) {
	return v, nil
}

// A tenant without spec.displayName shows the name its people use, by the registry.
func TestDisplayNameIsTheNamePeopleUse(t *testing.T) {
	commune := func(name string) *v1alpha1.Commune {
		return &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	cpas := func(name string) *v1alpha1.CPAS {
		return &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	named := commune("liege")
	named.Spec.DisplayName = "Ville de Liège"
	for _, tt := range []struct {
		tenant v1alpha1.Tenant
		nis    string
		want   string
	}{
		{commune("liege"), "62063", "Liège"},
		{commune("ambleve"), "63001", "Amel"},
		{cpas("ans"), "62003", "CPAS d'Ans"},
		{cpas("ambleve"), "63001", "ÖSHZ Amel"},
		{cpas("namur"), "92094", "CPAS de Namur"},
		{named, "62063", "Ville de Liège"},
		{cpas("nowhere"), "", "nowhere"},
	} {
		if got := DisplayName(tt.tenant, tt.nis); got != tt.want {
			t.Errorf("%s %s (%s): %q, want %q", tt.tenant.TenantKind(), tt.tenant.GetName(), tt.nis, got, tt.want)
		}
	}
}
