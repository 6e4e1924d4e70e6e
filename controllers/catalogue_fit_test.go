package controllers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
)

func sampleApplication(t *testing.T, name string) *v1alpha1.SharedApplication {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "config", "samples", "catalog", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	app := &v1alpha1.SharedApplication{}
	if err := yaml.UnmarshalStrict(data, app); err != nil {
		t.Fatal(err)
	}
	return app
}

// The standard bundle of the shipped catalogue fits every tier of the shipped defaults, for a
// commune (files and council meetings) and its CPAS (council meetings, sharing the commune's files
// through synergy), rolling updates included: the typical small commune becomes Ready.
func TestStandardBundleFitsEveryTier(t *testing.T) {
	policy := tenant.EffectivePolicy(nil)
	need := func(tier v1alpha1.Tier, names ...string) corev1.ResourceList {
		var needs []corev1.ResourceList
		for _, name := range names {
			app := sampleApplication(t, name)
			sample := plan.SampleTenant(app)
			sample.Tier = tier.Name
			objs, err := render.Render(app, sample, render.Options{AllowedServiceTypes: policy.AllowedServiceTypes})
			if err != nil {
				t.Fatalf("%s for tier %s: %v", name, tier.Name, err)
			}
			n, err := render.Requirements(objs, render.Defaults{Request: tier.DefaultRequest, Limit: tier.DefaultLimit})
			if err != nil {
				t.Fatal(err)
			}
			needs = append(needs, n)
		}
		return render.AddAll(needs...)
	}
	for _, tier := range policy.Tiers {
		commune := need(tier, "nextcloud", "iadelib")
		if short := render.Shortfalls(commune, tier.Quota); len(short) > 0 {
			t.Errorf("tier %s: a commune with files and council meetings needs %s", tier.Name, strings.Join(short, ", "))
		}
		cpas := need(tier, "iadelib")
		if short := render.Shortfalls(cpas, tenant.ScaleQuota(tier.Quota, policy.CPASQuotaPercent)); len(short) > 0 {
			t.Errorf("tier %s: a CPAS with council meetings needs %s", tier.Name, strings.Join(short, ", "))
		}
		cpu, mem := commune[corev1.ResourceLimitsCPU], commune[corev1.ResourceLimitsMemory]
		hardCPU, hardMem := tier.Quota[corev1.ResourceLimitsCPU], tier.Quota[corev1.ResourceLimitsMemory]
		t.Logf("tier %s: the commune's bundle takes limits.cpu %s of %s, limits.memory %s of %s", tier.Name, cpu.String(), hardCPU.String(), mem.String(), hardMem.String())
	}
}
