package tenant

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares v, as YAML, with testdata/<name>.yaml.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./controllers/tenant -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func resolved(mutate ...func(*Resolved)) *Resolved {
	policy := EffectivePolicy(nil)
	tier, _ := SelectTier(policy, 197217, "")
	r := &Resolved{
		Kind: v1alpha1.KindCommune, Name: "liege", UID: "0b5e-uid", Namespace: "commune-liege", NIS: "62063",
		Tier: tier, Quota: tier.Quota,
		Spec: &v1alpha1.TenantSpec{
			Admins:         []rbacv1.Subject{{Kind: "Group", Name: "liege-it"}},
			Viewers:        []rbacv1.Subject{{Kind: "User", Name: "echevin@liege.be"}, {Kind: "Group", Name: "liege-it"}},
			Network:        v1alpha1.NetworkSpec{EgressCIDRs: []v1alpha1.CIDR{"192.0.2.0/24", "2001:db8::/32"}},
			DeletionPolicy: v1alpha1.DeletionPolicyRetain,
		},
		Partner:      "cpas-liege",
		Applications: []string{"iadelib", "nextcloud"},
		Domains:      []string{"liege.be", "*.liege.be"},
		ExposedPorts: []v1alpha1.ExposedPort{
			{Service: "nextcloud", Port: 80, TargetPort: ptr.To(intstr.FromInt32(8080))},
			{Service: "nextcloud-alias", Port: 8080}, // the same pod port: one rule
			{Service: "jitsi", Port: 443, TargetPort: ptr.To(intstr.FromString("https"))},
		},
		PartnerExposedPorts: []v1alpha1.ExposedPort{{Service: "files", Port: 80}},
		ExternalEndpoints: []ExternalAccess{{Application: "nextcloud",
			Endpoint: v1alpha1.Endpoint{Host: "apps.nextcloud.com", Port: 443}, CIDRs: []v1alpha1.CIDR{"203.0.113.0/24"}}},
	}
	for _, m := range mutate {
		m(r)
	}
	return r
}

func TestNetworkPoliciesGolden(t *testing.T) {
	golden(t, "networkpolicies-commune", NetworkPolicies(resolved(), EffectivePolicy(nil)))
}

func TestNetworkPoliciesNeverOpenAllPorts(t *testing.T) {
	// without exposed ports and without partner, the ingress and partner policies carry no rule at
	// all: a rule without ports would open every port
	r := resolved(func(r *Resolved) {
		r.ExposedPorts, r.PartnerExposedPorts, r.Partner = nil, nil, ""
		r.Spec.Network.EgressCIDRs, r.ExternalEndpoints = nil, nil
	})
	for _, np := range NetworkPolicies(r, EffectivePolicy(nil)) {
		switch *np.Name {
		case NetpolIngress, NetpolPartner, NetpolEgressCIDRs, NetpolDefaultDeny, NetpolExternalEndpoints:
			if len(np.Spec.Ingress) != 0 || len(np.Spec.Egress) != 0 {
				t.Errorf("%s has rules though nothing is exposed: %+v %+v", *np.Name, np.Spec.Ingress, np.Spec.Egress)
			}
		}
		if len(np.Spec.PolicyTypes) == 0 {
			t.Errorf("%s has no policy types", *np.Name)
		}
	}
	// with a partner that exposes nothing, the partner may not reach in
	r.Partner = "cpas-liege"
	for _, np := range NetworkPolicies(r, EffectivePolicy(nil)) {
		if *np.Name == NetpolPartner && (len(np.Spec.Ingress) != 0 || len(np.Spec.Egress) != 0) {
			t.Errorf("partner policy opened without ports: %+v", np.Spec)
		}
	}
}

func TestNamespace(t *testing.T) {
	tests := []struct {
		name       string
		mutate     func(*Resolved)
		policy     v1alpha1.TenancyPolicySpec
		wantLevel  string
		wantOrphan bool
		// wantOrphanedAt is the orphaned-at annotation, the only one a kept namespace has
		wantOrphanedAt string
		wantKind       string
	}{
		{name: "retain commune", wantLevel: "restricted", wantKind: "commune"},
		{name: "not even a delete commune is owned", mutate: func(r *Resolved) { r.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete },
			wantLevel: "restricted", wantKind: "commune"},
		{name: "orphaned delete tenant loses its owner", mutate: func(r *Resolved) {
			r.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete
			r.Orphaned = true
		}, wantOrphan: true, wantLevel: "restricted", wantKind: "commune"},
		{name: "orphaned tenant says when", mutate: func(r *Resolved) {
			r.Orphaned, r.OrphanedAt = true, time.Date(2026, 12, 5, 9, 30, 0, 0, time.FixedZone("CET", 3600))
		}, wantOrphan: true, wantOrphanedAt: "2026-12-05T08:30:00Z", wantLevel: "restricted", wantKind: "commune"},
		{name: "baseline cpas", mutate: func(r *Resolved) { r.Kind = v1alpha1.KindCPAS; r.Namespace = "cpas-liege" },
			policy: v1alpha1.TenancyPolicySpec{PodSecurity: "baseline"}, wantLevel: "baseline", wantKind: "cpas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resolved()
			if tt.mutate != nil {
				tt.mutate(r)
			}
			ns := Namespace(r, EffectivePolicy(&v1alpha1.TenancyPolicy{Spec: tt.policy}))
			// the garbage collector must never reach a tenant namespace
			if len(ns.OwnerReferences) != 0 {
				t.Errorf("owner references %+v, want none", ns.OwnerReferences)
			}
			// what the admission policy reads, unless the namespace is orphaned
			if tt.wantOrphan {
				want := map[string]string{}
				if tt.wantOrphanedAt != "" {
					want[v1alpha1.AnnotationOrphanedAt] = tt.wantOrphanedAt
				}
				if len(ns.Annotations) != len(want) || ns.Annotations[v1alpha1.AnnotationOrphanedAt] != tt.wantOrphanedAt {
					t.Errorf("an orphaned namespace keeps no admission data, only when it was orphaned: %v", ns.Annotations)
				}
			} else if ns.Annotations[v1alpha1.AnnotationDomains] != "liege.be,*.liege.be" || ns.Annotations[v1alpha1.AnnotationServiceTypes] != "ClusterIP" {
				t.Errorf("admission annotations %v", ns.Annotations)
			}
			for _, mode := range []string{"enforce", "audit", "warn"} {
				if got := ns.Labels["pod-security.kubernetes.io/"+mode]; got != tt.wantLevel {
					t.Errorf("pod security %s = %q, want %q", mode, got, tt.wantLevel)
				}
			}
			if _, orphan := ns.Labels[v1alpha1.LabelOrphaned]; orphan != tt.wantOrphan {
				t.Errorf("orphaned label = %v, want %v", orphan, tt.wantOrphan)
			}
			if ns.Labels[v1alpha1.LabelKind] != tt.wantKind || ns.Labels[v1alpha1.LabelNIS] != "62063" || ns.Labels[v1alpha1.LabelTier] != "XXL" {
				t.Errorf("identity labels %v", ns.Labels)
			}
		})
	}
}

func TestSelectTier(t *testing.T) {
	policy := EffectivePolicy(nil)
	tests := []struct {
		population int32
		override   string
		want       string
		wantErr    string
	}{
		{population: 1382, want: "S"},
		{population: 10000, want: "S"},
		{population: 10001, want: "M"},
		{population: 20000, want: "M"},
		{population: 35000, want: "L"},
		{population: 80000, want: "XL"},
		{population: 80001, want: "XXL"},
		{population: 202746, want: "XXL"},
		{population: 1382, override: "XL", want: "XL"},
		{population: 1382, override: "XXXL", wantErr: `tier "XXXL" is not defined`},
	}
	for _, tt := range tests {
		got, err := SelectTier(policy, tt.population, tt.override)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SelectTier(%d, %q) error %v, want %q", tt.population, tt.override, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Name != tt.want {
			t.Errorf("SelectTier(%d, %q) = %s, %v; want %s", tt.population, tt.override, got.Name, err, tt.want)
		}
	}
	// a policy whose tiers all have an upper bound gives the largest tier above them
	bounded := v1alpha1.TenancyPolicySpec{Tiers: []v1alpha1.Tier{{Name: "small", MaxPopulation: ptr.To[int32](10)}, {Name: "big", MaxPopulation: ptr.To[int32](100)}}}
	if got, _ := SelectTier(bounded, 1000, ""); got.Name != "big" {
		t.Errorf("above every bound: %s, want big", got.Name)
	}
}

func TestScaleQuota(t *testing.T) {
	in := corev1.ResourceList{
		corev1.ResourceRequestsCPU:       resource.MustParse("5"),
		corev1.ResourceRequestsMemory:    resource.MustParse("8Gi"),
		corev1.ResourcePods:              resource.MustParse("3"),
		corev1.ResourceServicesNodePorts: resource.MustParse("0"),
	}
	got := ScaleQuota(in, 50)
	want := map[corev1.ResourceName]string{
		corev1.ResourceRequestsCPU:       "2500m",
		corev1.ResourceRequestsMemory:    "4Gi",
		corev1.ResourcePods:              "2", // rounded up: never fewer than needed
		corev1.ResourceServicesNodePorts: "0",
	}
	for name, w := range want {
		q := got[name]
		if q.String() != w {
			t.Errorf("%s scaled to %s, want %s", name, q.String(), w)
		}
	}
	if q := in[corev1.ResourceRequestsCPU]; q.String() != "5" {
		t.Errorf("ScaleQuota changed its input: %s", q.String())
	}
}

func TestDefaultTiersMatchTheRegistryBands(t *testing.T) {
	tiers := DefaultTiers()
	names := []string{"S", "M", "L", "XL", "XXL"}
	bounds := []int32{10000, 20000, 35000, 80000, 0}
	for i, tier := range tiers {
		if tier.Name != names[i] {
			t.Errorf("tier %d is %s, want %s", i, tier.Name, names[i])
		}
		if (tier.MaxPopulation == nil) != (bounds[i] == 0) || (tier.MaxPopulation != nil && *tier.MaxPopulation != bounds[i]) {
			t.Errorf("tier %s bound %v, want %d", tier.Name, tier.MaxPopulation, bounds[i])
		}
		if lb := tier.Quota[corev1.ResourceServicesLoadBalancers]; !lb.IsZero() {
			t.Errorf("tier %s allows LoadBalancer services", tier.Name)
		}
	}
}

func TestAccessObjects(t *testing.T) {
	r := resolved()
	golden(t, "access-commune", []any{RoleBindings(r), AccessClusterRole(r), AccessClusterRoleBinding(r)})
	binding := AccessClusterRoleBinding(r)
	if len(binding.Subjects) != 2 {
		t.Errorf("a subject that is both admin and viewer is bound once: %d subjects", len(binding.Subjects))
	}
	cpas := resolved(func(r *Resolved) { r.Kind = v1alpha1.KindCPAS; r.Namespace = "cpas-liege" })
	role := AccessClusterRole(cpas)
	if role.Rules[0].Resources[0] != "cpas" || *role.Name != "mutualis-tenant-cpas-liege" {
		t.Errorf("CPAS access role: %s %v", *role.Name, role.Rules[0].Resources)
	}
	// a rule on SharedApplications without names would grant the whole catalogue
	bare := AccessClusterRole(resolved(func(r *Resolved) { r.Applications = nil }))
	for _, rule := range bare.Rules {
		if len(rule.ResourceNames) == 0 {
			t.Errorf("a tenant without applications gets a rule without names: %v", rule.Resources)
		}
	}
}

func TestQuotaAndLimits(t *testing.T) {
	r := resolved()
	golden(t, "quota-commune-xxl", []any{ResourceQuota(r), LimitRange(r)})
}

// A tier of the policy that does not repeat the built-in guards still gets them: object counts,
// node disk, and zero NodePorts and LoadBalancers unless the policy allows their Service type.
func TestCustomTiersKeepTheGuards(t *testing.T) {
	custom := v1alpha1.Tier{Name: "village", Quota: corev1.ResourceList{
		corev1.ResourceRequestsCPU: resource.MustParse("2"), corev1.ResourcePods: resource.MustParse("10"),
	}}
	policy := EffectivePolicy(&v1alpha1.TenancyPolicy{Spec: v1alpha1.TenancyPolicySpec{Tiers: []v1alpha1.Tier{custom}}})
	got := policy.Tiers[0]
	for name, want := range map[corev1.ResourceName]string{
		corev1.ResourcePods: "10", corev1.ResourceRequestsCPU: "2",
		corev1.ResourceServicesNodePorts: "0", corev1.ResourceServicesLoadBalancers: "0",
		corev1.ResourceSecrets: "800", corev1.ResourceConfigMaps: "800", corev1.ResourceServices: "400",
		corev1.ResourceReplicationControllers: "0", corev1.ResourceRequestsEphemeralStorage: "320Gi",
		"count/networkpolicies.networking.k8s.io": "32",
	} {
		q, ok := got.Quota[name]
		if !ok || q.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("%s = %v (set %v), want %s", name, q.String(), ok, want)
		}
	}
	// the guards a custom tier without a built-in namesake takes from the largest built-in tier
	largest := DefaultTiers()[len(DefaultTiers())-1]
	for _, name := range []corev1.ResourceName{corev1.ResourcePersistentVolumeClaims, corev1.ResourceLimitsEphemeralStorage, corev1.ResourceRequestsEphemeralStorage} {
		want := largest.Quota[name]
		if q, ok := got.Quota[name]; !ok || q.Cmp(want) != 0 {
			t.Errorf("%s = %v (set %v), want the largest built-in tier's %s", name, q.String(), ok, want.String())
		}
	}
	if _, ok := got.DefaultRequest[corev1.ResourceEphemeralStorage]; !ok {
		t.Error("without a default ephemeral-storage request, containers that declare none are refused by the quota")
	}
	if _, ok := got.DefaultLimit[corev1.ResourceEphemeralStorage]; !ok {
		t.Error("without a default ephemeral-storage limit, containers that declare none are refused by the quota")
	}
	// a policy that allows LoadBalancers lifts that cap only
	policy = EffectivePolicy(&v1alpha1.TenancyPolicy{Spec: v1alpha1.TenancyPolicySpec{
		Tiers: []v1alpha1.Tier{custom}, AllowedServiceTypes: []v1alpha1.ServiceType{"ClusterIP", "LoadBalancer"}}})
	if _, capped := policy.Tiers[0].Quota[corev1.ResourceServicesLoadBalancers]; capped {
		t.Error("LoadBalancers are allowed by the policy: the tier should not cap them at zero")
	}
}

// Every kind that the tenant roles let a tenant create is counted by the quota of every tier,
// built-in or the policy's: otherwise one tenant could fill etcd with it. The kinds are read from
// the shipped roles, so that a kind added to the role without a count fails here.
func TestEveryKindTenantsCreateIsCounted(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "tenant-roles.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// the quota's own names for the core kinds it counts without count/
	named := map[string]corev1.ResourceName{
		"pods": corev1.ResourcePods, "services": corev1.ResourceServices, "secrets": corev1.ResourceSecrets,
		"configmaps": corev1.ResourceConfigMaps, "persistentvolumeclaims": corev1.ResourcePersistentVolumeClaims,
	}
	custom := EffectivePolicy(&v1alpha1.TenancyPolicy{Spec: v1alpha1.TenancyPolicySpec{Tiers: []v1alpha1.Tier{{Name: "village"}}}}).Tiers
	tiers := append(DefaultTiers(), custom...)
	checked := 0
	for _, doc := range strings.Split(string(data), "\n---\n") {
		role := &rbacv1.ClusterRole{}
		if err := yaml.Unmarshal([]byte(doc), role); err != nil {
			t.Fatal(err)
		}
		for _, rule := range role.Rules {
			creates := false
			for _, v := range rule.Verbs {
				creates = creates || v == "create" || v == "*"
			}
			if !creates {
				continue
			}
			for _, group := range rule.APIGroups {
				for _, res := range rule.Resources {
					if strings.Contains(res, "/") {
						continue // pods/exec and the like create no object
					}
					name := corev1.ResourceName("count/" + res)
					if group != "" {
						name += corev1.ResourceName("." + group)
					} else if n, ok := named[res]; ok {
						name = n
					}
					for _, tier := range tiers {
						q, ok := tier.Quota[name]
						if !ok || q.IsZero() && name != corev1.ResourceReplicationControllers {
							t.Errorf("role %s lets tenants create %s, but tier %s does not count it (%s)", role.Name, res, tier.Name, name)
						}
					}
					checked++
				}
			}
		}
	}
	if checked < 15 {
		t.Fatalf("only %d kinds found in the tenant roles: the file was not read as expected", checked)
	}
}
