// Package plan decides, without writing anything, who a tenant is and what its subscriptions come
// to: its NIS code, tier, quota, partner and domains, and the verdict (condition reason and
// message) of every configuration problem the cell's other objects reveal. The tenant reconciler
// decides through it on the informers' cache, and `kubectl mutualis validate` on a tree of
// manifests, so that a manifest that validates offline never stalls on the cluster for a reason the
// validator could have seen. Its inputs come through a View; it never calls the API server itself.
package plan

import (
	"context"
	"fmt"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// View is the read-only view of the other tenants that the identity decisions need (the
// subscriptions' decisions take the catalogue entry itself). The reconciler serves it from the
// informers' cache, the validator from the files of a tree. Objects it returns are not to be
// modified: the cache shares them.
type View interface {
	// CommunesWithNIS are the Communes that declare a NIS code.
	CommunesWithNIS(ctx context.Context, nis string) ([]*v1alpha1.Commune, error)
	// CPASOf are the CPAS that name a commune in spec.communeRef.
	CPASOf(ctx context.Context, commune string) ([]*v1alpha1.CPAS, error)
	// Commune is the Commune of that name, nil when there is none.
	Commune(ctx context.Context, name string) (*v1alpha1.Commune, error)
	// ProvincesWithNIS are the Provinces that declare a province's code.
	ProvincesWithNIS(ctx context.Context, nis string) ([]*v1alpha1.Province, error)
	// TenantsWithDomainKey are the tenants one of whose declared domains has that index key
	// (validation.DomainIndexKeys).
	TenantsWithDomainKey(ctx context.Context, key string) ([]v1alpha1.Tenant, error)
}

// Verdict is a decision against the tenant: a configuration error that stalls it until an object
// changes, or a missing dependency it waits for.
type Verdict struct {
	// Part is the part condition it concerns (ApplicationsReady...); empty for the tenant as a whole.
	Part string
	// Reason is the condition reason, one of api/v1alpha1's.
	Reason string
	// Message tells the reader what is wrong and what to do.
	Message string
	// Wait marks a missing dependency (Reconciling) rather than a configuration error (Stalled).
	Wait bool
}

func (v *Verdict) Error() string { return v.Reason + ": " + v.Message }

func stalled(part, reason, format string, args ...any) *Verdict {
	return &Verdict{Part: part, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func waiting(part, reason, format string, args ...any) *Verdict {
	return &Verdict{Part: part, Reason: reason, Message: fmt.Sprintf(format, args...), Wait: true}
}

// tenantID names a tenant across both kinds, for ordering and messages.
func tenantID(t v1alpha1.Tenant) string { return string(t.TenantKind()) + "/" + t.GetName() }

// declaredBefore says whether a was declared before b: by creation time, then kind and name, so
// that two tenants always agree on which of them wins. In a tree of files, where nothing has a
// creation time yet, the name decides.
func declaredBefore(a, b v1alpha1.Tenant) bool {
	at, bt := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !at.Equal(&bt) {
		return at.Before(&bt)
	}
	return tenantID(a) < tenantID(b)
}

// first is the tenant declared before all the others.
func first[T v1alpha1.Tenant](ts []T) T {
	best := ts[0]
	for _, t := range ts[1:] {
		if declaredBefore(t, best) {
			best = t
		}
	}
	return best
}
