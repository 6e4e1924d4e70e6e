package plan

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// tenants is a View over a few tenants, for the decisions that only a cluster's creation times
// can show (a tree has none).
type tenants []v1alpha1.Tenant

func (ts tenants) CommunesWithNIS(_ context.Context, nis string) ([]*v1alpha1.Commune, error) {
	var out []*v1alpha1.Commune
	for _, t := range ts {
		if c, ok := t.(*v1alpha1.Commune); ok && c.Spec.NIS == nis {
			out = append(out, c)
		}
	}
	return out, nil
}

func (ts tenants) ProvincesWithNIS(_ context.Context, nis string) ([]*v1alpha1.Province, error) {
	var out []*v1alpha1.Province
	for _, t := range ts {
		if p, ok := t.(*v1alpha1.Province); ok && p.Spec.NIS == nis {
			out = append(out, p)
		}
	}
	return out, nil
}

func (ts tenants) CPASOf(_ context.Context, commune string) ([]*v1alpha1.CPAS, error) {
	var out []*v1alpha1.CPAS
	for _, t := range ts {
		if c, ok := t.(*v1alpha1.CPAS); ok && c.Spec.CommuneRef == commune {
			out = append(out, c)
		}
	}
	return out, nil
}

func (ts tenants) Commune(_ context.Context, name string) (*v1alpha1.Commune, error) {
	for _, t := range ts {
		if c, ok := t.(*v1alpha1.Commune); ok && c.Name == name {
			return c, nil
		}
	}
	return nil, nil
}

func (ts tenants) TenantsWithDomainKey(context.Context, string) ([]v1alpha1.Tenant, error) {
	return nil, nil
}

func commune(name, nis string, created time.Time) *v1alpha1.Commune {
	return &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}, Spec: v1alpha1.CommuneSpec{NIS: nis}}
}

// On a cluster, the Commune created first keeps its NIS code whatever the names; with equal
// creation times (a tree, or one second), the name decides.
func TestTheTenantDeclaredFirstWins(t *testing.T) {
	ctx := context.Background()
	policy := tenant.EffectivePolicy(nil)
	early, late := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	zulu, alpha := commune("zulu", "92094", early), commune("alpha", "92094", late)
	view := tenants{alpha, zulu}
	if _, v, _ := Identify(ctx, view, zulu, policy); v != nil {
		t.Errorf("the older Commune is refused: %v", v)
	}
	_, v, _ := Identify(ctx, view, alpha, policy)
	if v == nil || v.Reason != v1alpha1.ReasonDuplicateNIS || v.Wait || !strings.Contains(v.Message, "declared by Commune zulu") {
		t.Errorf("the younger Commune: %+v", v)
	}
	alpha.CreationTimestamp = zulu.CreationTimestamp
	if _, v, _ := Identify(ctx, view, zulu, policy); v == nil || v.Reason != v1alpha1.ReasonDuplicateNIS {
		t.Errorf("with equal times the name decides: %+v", v)
	}
}

// A commune's partner is its first CPAS, none while that CPAS is being deleted; a CPAS whose
// commune is absent waits rather than stalls.
func TestPartnersAndWaiting(t *testing.T) {
	ctx := context.Background()
	policy := tenant.EffectivePolicy(nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	namur := commune("namur", "92094", now)
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "namur", CreationTimestamp: metav1.NewTime(now)}, Spec: v1alpha1.CPASSpec{CommuneRef: "namur"}}
	id, v, _ := Identify(ctx, tenants{namur, cpas}, namur, policy)
	if v != nil || id.Partner != cpas || id.Tier.Name != "XXL" {
		t.Fatalf("identity %+v, verdict %v", id, v)
	}
	cpasID, v, _ := Identify(ctx, tenants{namur, cpas}, cpas, policy)
	cpasCPU, communeCPU := cpasID.Quota[corev1.ResourceLimitsCPU], id.Quota[corev1.ResourceLimitsCPU]
	if v != nil || cpasID.NIS != "92094" || cpasID.Partner != namur || communeCPU.IsZero() || cpasCPU.Cmp(communeCPU) >= 0 {
		t.Fatalf("CPAS identity %+v, verdict %v", cpasID, v)
	}
	gone := metav1.NewTime(now)
	cpas.DeletionTimestamp = &gone
	if id, _, _ := Identify(ctx, tenants{namur, cpas}, namur, policy); id.Partner != nil {
		t.Errorf("a CPAS being deleted is still the partner")
	}
	_, v, _ = Identify(ctx, tenants{cpas}, cpas, policy)
	if v == nil || !v.Wait || v.Reason != v1alpha1.ReasonCommuneNotFound {
		t.Errorf("CPAS without its commune: %+v", v)
	}
}
