package tenant

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// DefaultTiers are the tiers in force when the TenancyPolicy names none. The bands follow the
// population of the Walloon communes: 148 in S, 74 in M, 27 in L, 7 in XL and 5 in XXL. Besides
// compute and storage, every tier caps the number of objects a tenant may create (pods, services,
// secrets, config maps, volumes claims, its own roles and network policies...) and the node disk
// its containers may use, so that one tenant cannot fill etcd, a node's disk or the operator's
// memory; NodePorts and LoadBalancers are zero.
func DefaultTiers() []v1alpha1.Tier {
	tier := func(name string, maxPop int32, cpu, mem, storage, ephemeral string, objects int64) v1alpha1.Tier {
		count := func(scale int64) resource.Quantity { return *resource.NewQuantity(objects*scale, resource.DecimalSI) }
		t := v1alpha1.Tier{
			Name: name,
			Quota: corev1.ResourceList{
				corev1.ResourceRequestsCPU:                     resource.MustParse(cpu),
				corev1.ResourceRequestsMemory:                  resource.MustParse(mem),
				corev1.ResourceLimitsCPU:                       doubled(cpu),
				corev1.ResourceLimitsMemory:                    doubled(mem),
				corev1.ResourceRequestsStorage:                 resource.MustParse(storage),
				corev1.ResourceRequestsEphemeralStorage:        resource.MustParse(ephemeral),
				corev1.ResourceLimitsEphemeralStorage:          doubled(ephemeral),
				corev1.ResourcePods:                            count(1),
				corev1.ResourcePersistentVolumeClaims:          count(1),
				corev1.ResourceServices:                        count(1),
				corev1.ResourceSecrets:                         count(2),
				corev1.ResourceConfigMaps:                      count(2),
				corev1.ResourceReplicationControllers:          resource.MustParse("0"),
				corev1.ResourceQuotas:                          resource.MustParse("1"),
				corev1.ResourceServicesLoadBalancers:           resource.MustParse("0"),
				corev1.ResourceServicesNodePorts:               resource.MustParse("0"),
				"count/ingresses.networking.k8s.io":            count(1),
				"count/networkpolicies.networking.k8s.io":      *resource.NewQuantity(32, resource.DecimalSI),
				"count/roles.rbac.authorization.k8s.io":        *resource.NewQuantity(32, resource.DecimalSI),
				"count/rolebindings.rbac.authorization.k8s.io": *resource.NewQuantity(32, resource.DecimalSI),
				"count/deployments.apps":                       count(1),
				"count/statefulsets.apps":                      count(1),
				"count/jobs.batch":                             count(1),
				"count/cronjobs.batch":                         count(1),
				// every other kind the tenant admin role may create (TestEveryKindTenantsCreateIsCounted):
				// a Deployment keeps up to ten old ReplicaSets, a DaemonSet runs on every node
				"count/serviceaccounts":                      count(1),
				"count/replicasets.apps":                     count(11),
				"count/daemonsets.apps":                      *resource.NewQuantity(4, resource.DecimalSI),
				"count/horizontalpodautoscalers.autoscaling": count(1),
			},
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU:              resource.MustParse("100m"),
				corev1.ResourceMemory:           resource.MustParse("128Mi"),
				corev1.ResourceEphemeralStorage: resource.MustParse("256Mi"),
			},
			DefaultLimit: corev1.ResourceList{
				corev1.ResourceCPU:              resource.MustParse("1"),
				corev1.ResourceMemory:           resource.MustParse("1Gi"),
				corev1.ResourceEphemeralStorage: resource.MustParse("2Gi"),
			},
		}
		if maxPop > 0 {
			t.MaxPopulation = ptr.To(maxPop)
		}
		return t
	}
	return []v1alpha1.Tier{
		tier("S", 10000, "4", "8Gi", "100Gi", "20Gi", 50),
		tier("M", 20000, "8", "16Gi", "250Gi", "40Gi", 100),
		tier("L", 35000, "16", "32Gi", "500Gi", "80Gi", 150),
		tier("XL", 80000, "32", "64Gi", "1Ti", "160Gi", 250),
		tier("XXL", 0, "64", "128Gi", "2Ti", "320Gi", 400),
	}
}

// guardedResources are the quota entries every tier carries, whatever the policy says: the object
// counts and the node disk. A tier of the policy that leaves one out gets the built-in value of the
// tier of the same name, or of the largest built-in tier.
func guardedResources(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourcePods, corev1.ResourcePersistentVolumeClaims, corev1.ResourceServices,
		corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourceReplicationControllers,
		corev1.ResourceQuotas, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage:
		return true
	}
	return strings.HasPrefix(string(name), "count/")
}

// completeTier gives a tier of the policy the guards it lacks. NodePorts and LoadBalancers are
// capped at zero unless the policy allows their Service type; without a default request and limit
// of node disk, a container that declares none would be refused by the quota.
func completeTier(t v1alpha1.Tier, allowed []v1alpha1.ServiceType) v1alpha1.Tier {
	builtin := DefaultTiers()
	ref := builtin[len(builtin)-1]
	for _, b := range builtin {
		if b.Name == t.Name {
			ref = b
		}
	}
	t = *t.DeepCopy()
	if t.Quota == nil {
		t.Quota = corev1.ResourceList{}
	}
	for name, q := range ref.Quota {
		if _, set := t.Quota[name]; !set && guardedResources(name) {
			t.Quota[name] = q.DeepCopy()
		}
	}
	allows := map[v1alpha1.ServiceType]bool{}
	for _, st := range allowed {
		allows[st] = true
	}
	// a LoadBalancer Service takes a NodePort too
	for name, allowedType := range map[corev1.ResourceName]bool{
		corev1.ResourceServicesNodePorts:     allows["NodePort"] || allows["LoadBalancer"],
		corev1.ResourceServicesLoadBalancers: allows["LoadBalancer"],
	} {
		q, set := t.Quota[name]
		switch {
		case !allowedType:
			t.Quota[name] = resource.MustParse("0")
		case set && q.IsZero():
			delete(t.Quota, name) // the built-in zero cap of a type the policy allows
		}
	}
	if t.DefaultRequest == nil {
		t.DefaultRequest = corev1.ResourceList{}
	}
	if t.DefaultLimit == nil {
		t.DefaultLimit = corev1.ResourceList{}
	}
	if _, set := t.DefaultRequest[corev1.ResourceEphemeralStorage]; !set {
		t.DefaultRequest[corev1.ResourceEphemeralStorage] = ref.DefaultRequest[corev1.ResourceEphemeralStorage]
	}
	if _, set := t.DefaultLimit[corev1.ResourceEphemeralStorage]; !set {
		t.DefaultLimit[corev1.ResourceEphemeralStorage] = ref.DefaultLimit[corev1.ResourceEphemeralStorage]
	}
	return t
}

func doubled(s string) resource.Quantity {
	q := resource.MustParse(s)
	q.Add(q)
	return q
}

// EffectivePolicy is the policy in force: the TenancyPolicy named default with every field it
// leaves empty taken from the built-in defaults. A nil policy gives the defaults.
func EffectivePolicy(p *v1alpha1.TenancyPolicy) v1alpha1.TenancyPolicySpec {
	var spec v1alpha1.TenancyPolicySpec
	if p != nil {
		spec = *p.Spec.DeepCopy()
	}
	if len(spec.Tiers) == 0 {
		spec.Tiers = DefaultTiers()
	}
	if spec.CPASQuotaPercent == 0 {
		spec.CPASQuotaPercent = 50
	}
	if spec.Network.IngressNamespace == "" {
		spec.Network.IngressNamespace = "ingress-nginx"
	}
	if spec.Network.DNSNamespace == "" {
		spec.Network.DNSNamespace = "kube-system"
	}
	if spec.Network.SharedServicesNamespace == "" {
		spec.Network.SharedServicesNamespace = "mutualis-shared"
	}
	if spec.PodSecurity == "" {
		spec.PodSecurity = "restricted"
	}
	if spec.Backup.VeleroNamespace == "" {
		spec.Backup.VeleroNamespace = "velero"
	}
	if spec.Backup.Schedule == "" {
		spec.Backup.Schedule = "0 2 * * *"
	}
	if spec.Backup.Retention == nil {
		spec.Backup.Retention = &metav1.Duration{Duration: 30 * 24 * time.Hour}
	}
	if spec.RetainedNamespaces.ReviewAfter == nil {
		spec.RetainedNamespaces.ReviewAfter = &metav1.Duration{Duration: 90 * 24 * time.Hour}
	}
	if spec.NISRegistry == "" {
		spec.NISRegistry = v1alpha1.NISRegistryEmbedded
	}
	if len(spec.AllowedServiceTypes) == 0 {
		spec.AllowedServiceTypes = []v1alpha1.ServiceType{"ClusterIP"}
	}
	if len(spec.Network.ClusterCIDRs) == 0 {
		spec.Network.ClusterCIDRs = DefaultClusterCIDRs
	}
	if len(spec.AllowedIngressAnnotations) == 0 {
		spec.AllowedIngressAnnotations = DefaultIngressAnnotations
	}
	for i := range spec.Tiers {
		spec.Tiers[i] = completeTier(spec.Tiers[i], spec.AllowedServiceTypes)
	}
	return spec
}

// UnknownTierError says that a tenant names a tier the policy does not have.
type UnknownTierError struct {
	Tier  string
	Known []string
}

func (e *UnknownTierError) Error() string {
	return fmt.Sprintf("tier %q is not defined in the TenancyPolicy (tiers: %v): fix spec.tier or add the tier to the policy", e.Tier, e.Known)
}

// SelectTier picks the tier of a population, or the override when one is given.
func SelectTier(policy v1alpha1.TenancyPolicySpec, population int32, override string) (v1alpha1.Tier, error) {
	var names []string
	for _, t := range policy.Tiers {
		names = append(names, t.Name)
	}
	if override != "" {
		for _, t := range policy.Tiers {
			if t.Name == override {
				return t, nil
			}
		}
		return v1alpha1.Tier{}, &UnknownTierError{Tier: override, Known: names}
	}
	for _, t := range policy.Tiers {
		if t.MaxPopulation == nil || population <= *t.MaxPopulation {
			return t, nil
		}
	}
	if n := len(policy.Tiers); n > 0 {
		// every tier has an upper bound and the population is above them all: the largest fits best
		return policy.Tiers[n-1], nil
	}
	return v1alpha1.Tier{}, fmt.Errorf("the TenancyPolicy defines no tier")
}

// ScaleQuota scales every quantity of a quota by percent, rounding up so that a count never drops
// to zero; CPU keeps millicore precision.
func ScaleQuota(list corev1.ResourceList, percent int32) corev1.ResourceList {
	if percent == 100 {
		return list.DeepCopy()
	}
	out := corev1.ResourceList{}
	for name, q := range list {
		milli := new(big.Int).Mul(big.NewInt(q.MilliValue()), big.NewInt(int64(percent)))
		milli.Add(milli, big.NewInt(99)).Div(milli, big.NewInt(100)) // round up
		if isCPU(name) {
			out[name] = *resource.NewMilliQuantity(milli.Int64(), q.Format)
			continue
		}
		units := new(big.Int).Add(milli, big.NewInt(999))
		units.Div(units, big.NewInt(1000))
		out[name] = *resource.NewQuantity(units.Int64(), q.Format)
	}
	return out
}

func isCPU(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU:
		return true
	}
	return false
}

// DefaultIngressAnnotations are the annotations a tenant's Ingress may carry when the policy names
// none: what a commune's site needs of ingress-nginx (rewrites, redirects, timeouts, body size,
// CORS, rate limits, source ranges, sticky sessions), and the annotations of cert-manager,
// kubectl, Helm and Argo CD, which configure no controller of the cell. Left out on
// purpose: server-alias (publishes another host), auth-url, auth-signin, mirror-target,
// mirror-host, default-backend and custom-http-errors (the controller calls or serves another
// Service for the tenant, past its network policies), auth-tls-secret, proxy-ssl-secret and
// fastcgi-params-configmap (they read objects of another namespace), and every snippet (arbitrary
// controller configuration, the family of CVE-2025-1974), which admission refuses in any case.
var DefaultIngressAnnotations = []string{
	"argocd.argoproj.io/*",
	"cert-manager.io/*",
	"kubectl.kubernetes.io/*",
	"meta.helm.sh/*",
	"nginx.ingress.kubernetes.io/affinity",
	"nginx.ingress.kubernetes.io/affinity-mode",
	"nginx.ingress.kubernetes.io/app-root",
	"nginx.ingress.kubernetes.io/backend-protocol",
	"nginx.ingress.kubernetes.io/client-body-buffer-size",
	"nginx.ingress.kubernetes.io/cors-allow-credentials",
	"nginx.ingress.kubernetes.io/cors-allow-headers",
	"nginx.ingress.kubernetes.io/cors-allow-methods",
	"nginx.ingress.kubernetes.io/cors-allow-origin",
	"nginx.ingress.kubernetes.io/cors-expose-headers",
	"nginx.ingress.kubernetes.io/cors-max-age",
	"nginx.ingress.kubernetes.io/denylist-source-range",
	"nginx.ingress.kubernetes.io/enable-cors",
	"nginx.ingress.kubernetes.io/force-ssl-redirect",
	"nginx.ingress.kubernetes.io/limit-connections",
	"nginx.ingress.kubernetes.io/limit-rpm",
	"nginx.ingress.kubernetes.io/limit-rps",
	"nginx.ingress.kubernetes.io/permanent-redirect",
	"nginx.ingress.kubernetes.io/permanent-redirect-code",
	"nginx.ingress.kubernetes.io/proxy-body-size",
	"nginx.ingress.kubernetes.io/proxy-buffer-size",
	"nginx.ingress.kubernetes.io/proxy-buffering",
	"nginx.ingress.kubernetes.io/proxy-connect-timeout",
	"nginx.ingress.kubernetes.io/proxy-read-timeout",
	"nginx.ingress.kubernetes.io/proxy-request-buffering",
	"nginx.ingress.kubernetes.io/proxy-send-timeout",
	"nginx.ingress.kubernetes.io/rewrite-target",
	"nginx.ingress.kubernetes.io/session-cookie-max-age",
	"nginx.ingress.kubernetes.io/session-cookie-name",
	"nginx.ingress.kubernetes.io/session-cookie-path",
	"nginx.ingress.kubernetes.io/ssl-redirect",
	"nginx.ingress.kubernetes.io/temporal-redirect",
	"nginx.ingress.kubernetes.io/use-regex",
	"nginx.ingress.kubernetes.io/whitelist-source-range",
	"nginx.ingress.kubernetes.io/x-forwarded-prefix",
}

// DefaultClusterCIDRs are the networks no tenant's egressCIDRs may touch when the policy names
// none: where the pod, Service and node networks of nearly every cluster lie, with cloud metadata
// and loopback.
var DefaultClusterCIDRs = []v1alpha1.CIDR{
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8",
	"fc00::/7", "fe80::/10", "::1/128",
}
