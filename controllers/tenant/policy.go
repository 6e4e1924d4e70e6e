package tenant

import (
	"fmt"
	"math/big"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// DefaultTiers are the tiers in force when the TenancyPolicy names none. The bands follow the
// population of the Walloon communes: 148 in S, 74 in M, 27 in L, 7 in XL and 5 in XXL.
func DefaultTiers() []v1alpha1.Tier {
	tier := func(name string, maxPop int32, cpu, mem, storage string, pods, pvcs string) v1alpha1.Tier {
		t := v1alpha1.Tier{
			Name: name,
			Quota: corev1.ResourceList{
				corev1.ResourceRequestsCPU:            resource.MustParse(cpu),
				corev1.ResourceRequestsMemory:         resource.MustParse(mem),
				corev1.ResourceLimitsCPU:              doubled(cpu),
				corev1.ResourceLimitsMemory:           doubled(mem),
				corev1.ResourceRequestsStorage:        resource.MustParse(storage),
				corev1.ResourcePods:                   resource.MustParse(pods),
				corev1.ResourcePersistentVolumeClaims: resource.MustParse(pvcs),
				corev1.ResourceServicesLoadBalancers:  resource.MustParse("0"),
				corev1.ResourceServicesNodePorts:      resource.MustParse("0"),
			},
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			},
			DefaultLimit: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("1"),
				corev1.ResourceMemory: resource.MustParse("1Gi"),
			},
		}
		if maxPop > 0 {
			t.MaxPopulation = ptr.To(maxPop)
		}
		return t
	}
	return []v1alpha1.Tier{
		tier("S", 10000, "4", "8Gi", "100Gi", "50", "20"),
		tier("M", 20000, "8", "16Gi", "250Gi", "100", "30"),
		tier("L", 35000, "16", "32Gi", "500Gi", "150", "40"),
		tier("XL", 80000, "32", "64Gi", "1Ti", "250", "60"),
		tier("XXL", 0, "64", "128Gi", "2Ti", "400", "100"),
	}
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
	if spec.NISRegistry == "" {
		spec.NISRegistry = v1alpha1.NISRegistryEmbedded
	}
	if len(spec.AllowedServiceTypes) == 0 {
		spec.AllowedServiceTypes = []v1alpha1.ServiceType{"ClusterIP"}
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
