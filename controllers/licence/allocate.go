// Package licence allocates the seats of a LicencePool to the tenants that request them. The
// allocation is a pure function of the pool, its previous allocations and the requests, so that
// every rule is tested with tables: oldest tenant first, then by name; a tenant keeps what it was
// granted; a new request is met whole or not at all; the seats a tier's reservation still holds
// back go to that tier's tenants only; an expired pool grants nothing new.
package licence

import (
	"sort"
	"time"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Request is one tenant's demand for seats of the pool's application.
type Request struct {
	// Tenant is the tenant namespace, the key of an allocation.
	Tenant string
	// Tier is the tenant's tier, which reservations are for ("" while it is not known yet).
	Tier string
	// Created orders tenants: the oldest is served first.
	Created time.Time
	Seats   int32
}

// Result is the pool's new allocation.
type Result struct {
	// Allocations are the grants, sorted by tenant.
	Allocations []v1alpha1.LicenceAllocation
	Allocated   int32
	// Available is what remains; zero when the pool was shrunk below what it already granted.
	Available int32
	// Unmet lists the tenants whose request, or its increase, could not be met.
	Unmet []string
	// HeldBack lists those of Unmet that the free seats would have served, had reservations for
	// other tiers not held them back.
	HeldBack []string
	// Reservations says how much of each tier's reservation its tenants hold.
	Reservations []v1alpha1.SeatReservationStatus
}

// Pool is what the allocation reads of a LicencePool.
type Pool struct {
	Seats        int32
	Reservations []v1alpha1.SeatReservation
	// Expired stops every new grant; existing grants are kept.
	Expired bool
}

// Allocate computes the allocation of a pool of seats.
func Allocate(pool Pool, previous []v1alpha1.LicenceAllocation, requests []Request) Result {
	granted := map[string]int32{}
	for _, a := range previous {
		granted[a.Tenant] = a.Seats
	}
	ordered := append([]Request(nil), requests...)
	sort.Slice(ordered, func(i, j int) bool {
		if !ordered[i].Created.Equal(ordered[j].Created) {
			return ordered[i].Created.Before(ordered[j].Created)
		}
		return ordered[i].Tenant < ordered[j].Tenant
	})

	// first what every tenant keeps: its grant, capped by what it still asks for; a tenant that
	// asks for nothing any more frees its seats
	kept := map[string]int32{}
	usedByTier := map[string]int32{}
	var used int32
	for _, r := range ordered {
		k := min(granted[r.Tenant], r.Seats)
		if k > 0 {
			kept[r.Tenant] = k
			used += k
			usedByTier[r.Tier] += k
		}
	}
	// heldBack is what the reservations of tiers other than tier still hold back
	heldBack := func(tier string) int32 {
		var held int32
		for _, res := range pool.Reservations {
			if res.Tier != tier && res.Seats > usedByTier[res.Tier] {
				held += res.Seats - usedByTier[res.Tier]
			}
		}
		return held
	}
	// then new demand, in order, whole or not at all
	res := Result{}
	for _, r := range ordered {
		want := r.Seats - kept[r.Tenant]
		if want <= 0 {
			continue
		}
		switch {
		case pool.Expired || used+want > pool.Seats:
			res.Unmet = append(res.Unmet, r.Tenant)
			continue
		case used+want+heldBack(r.Tier) > pool.Seats:
			res.Unmet = append(res.Unmet, r.Tenant)
			res.HeldBack = append(res.HeldBack, r.Tenant)
			continue
		}
		kept[r.Tenant] += want
		used += want
		usedByTier[r.Tier] += want
	}

	res.Allocated = used
	if pool.Seats > used {
		res.Available = pool.Seats - used
	}
	for tenant, n := range kept {
		res.Allocations = append(res.Allocations, v1alpha1.LicenceAllocation{Tenant: tenant, Seats: n})
	}
	sort.Slice(res.Allocations, func(i, j int) bool { return res.Allocations[i].Tenant < res.Allocations[j].Tenant })
	for _, r := range pool.Reservations {
		res.Reservations = append(res.Reservations, v1alpha1.SeatReservationStatus{Tier: r.Tier, Seats: r.Seats, Used: usedByTier[r.Tier]})
	}
	sort.Slice(res.Reservations, func(i, j int) bool { return res.Reservations[i].Tier < res.Reservations[j].Tier })
	return res
}

// AvailableTo is what a pool has left for a tenant of tier: its available seats less what the
// reservations of other tiers still hold back.
func AvailableTo(available int32, reservations []v1alpha1.SeatReservationStatus, tier string) int32 {
	for _, r := range reservations {
		if r.Tier != tier && r.Seats > r.Used {
			available -= r.Seats - r.Used
		}
	}
	return max(available, 0)
}

// Active is the pool that holds an application's seats: the oldest of those not being deleted,
// then by name; nil when there is none. A second pool for the same application grants nothing.
func Active(pools []v1alpha1.LicencePool, application string) *v1alpha1.LicencePool {
	var best *v1alpha1.LicencePool
	for i := range pools {
		p := &pools[i]
		if p.Spec.Application != application || !p.DeletionTimestamp.IsZero() {
			continue
		}
		if best == nil || declaredBefore(p, best) {
			best = p
		}
	}
	return best
}

func declaredBefore(a, b *v1alpha1.LicencePool) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// ExpiryNotice is how long before its end a pool warns (its ExpiringSoon condition, and the
// audit's LicenceExpiringSoon).
const ExpiryNotice = 30 * 24 * time.Hour

// Expired says whether a pool's licence has ended at now.
func Expired(p *v1alpha1.LicencePool, now time.Time) bool {
	return p.Spec.ValidUntil != nil && !now.Before(p.Spec.ValidUntil.Time)
}
