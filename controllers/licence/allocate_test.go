package licence

import (
	"reflect"
	"testing"
	"time"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func req(tenant string, day int, seats int32) Request {
	return Request{Tenant: tenant, Created: t0.AddDate(0, 0, day), Seats: seats}
}

func alloc(pairs ...any) []v1alpha1.LicenceAllocation {
	var out []v1alpha1.LicenceAllocation
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, v1alpha1.LicenceAllocation{Tenant: pairs[i].(string), Seats: int32(pairs[i+1].(int))})
	}
	return out
}

func TestAllocate(t *testing.T) {
	tests := []struct {
		name      string
		seats     int32
		expired   bool
		previous  []v1alpha1.LicenceAllocation
		requests  []Request
		want      []v1alpha1.LicenceAllocation
		available int32
		unmet     []string
	}{
		{name: "oldest first, the third is refused whole",
			seats: 100, requests: []Request{req("c", 3, 30), req("a", 1, 50), req("b", 2, 40)},
			want: alloc("a", 50, "b", 40), available: 10, unmet: []string{"c"}},
		{name: "same age: by name",
			seats: 10, requests: []Request{req("zeta", 1, 10), req("alpha", 1, 10)},
			want: alloc("alpha", 10), available: 0, unmet: []string{"zeta"}},
		{name: "a newer, larger tenant never takes an existing grant",
			seats: 100, previous: alloc("new-but-granted", 60), requests: []Request{req("old", 1, 50), req("new-but-granted", 5, 60)},
			want: alloc("new-but-granted", 60), available: 40, unmet: []string{"old"}},
		{name: "an increase beyond the pool keeps the previous grant",
			seats: 100, previous: alloc("a", 50, "b", 40), requests: []Request{req("a", 1, 70), req("b", 2, 40)},
			want: alloc("a", 50, "b", 40), available: 10, unmet: []string{"a"}},
		{name: "a lower request frees seats for others",
			seats: 100, previous: alloc("a", 80), requests: []Request{req("a", 1, 30), req("b", 2, 60)},
			want: alloc("a", 30, "b", 60), available: 10},
		{name: "a tenant that left frees its seats",
			seats: 100, previous: alloc("gone", 100), requests: []Request{req("b", 2, 60)},
			want: alloc("b", 60), available: 40},
		{name: "an expired pool keeps grants and grants nothing new",
			seats: 100, expired: true, previous: alloc("a", 10), requests: []Request{req("a", 1, 20), req("b", 2, 5)},
			want: alloc("a", 10), available: 90, unmet: []string{"a", "b"}},
		{name: "a shrunk pool takes nothing back",
			seats: 10, previous: alloc("a", 30), requests: []Request{req("a", 1, 30), req("b", 2, 1)},
			want: alloc("a", 30), available: 0, unmet: []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Allocate(Pool{Seats: tt.seats, Expired: tt.expired}, tt.previous, tt.requests)
			if !reflect.DeepEqual(got.Allocations, tt.want) {
				t.Errorf("allocations %v, want %v", got.Allocations, tt.want)
			}
			if got.Available != tt.available {
				t.Errorf("available %d, want %d", got.Available, tt.available)
			}
			if !reflect.DeepEqual(got.Unmet, tt.unmet) {
				t.Errorf("unmet %v, want %v", got.Unmet, tt.unmet)
			}
			var sum int32
			for _, a := range got.Allocations {
				sum += a.Seats
			}
			if sum != got.Allocated {
				t.Errorf("allocated %d, sum of allocations %d", got.Allocated, sum)
			}
		})
	}
}

func TestAllocateIsDeterministic(t *testing.T) {
	requests := []Request{req("a", 1, 5), req("b", 1, 5), req("c", 2, 5), req("d", 0, 5)}
	first := Allocate(Pool{Seats: 12}, nil, requests)
	for i := 0; i < 20; i++ {
		shuffled := []Request{requests[(i)%4], requests[(i+1)%4], requests[(i+2)%4], requests[(i+3)%4]}
		if got := Allocate(Pool{Seats: 12}, nil, shuffled); !reflect.DeepEqual(got, first) {
			t.Fatalf("order of requests changed the result: %v vs %v", got, first)
		}
	}
}

func tiered(tenant, tier string, day int, seats int32) Request {
	r := req(tenant, day, seats)
	r.Tier = tier
	return r
}

// Reservations keep seats for the tiers the cell names: large communes that joined early cannot
// take them, a small commune that joins late finds them.
func TestReservationsKeepSeatsForLateSmallCommunes(t *testing.T) {
	reserveS := []v1alpha1.SeatReservation{{Tier: "S", Seats: 30}}
	tests := []struct {
		name         string
		pool         Pool
		previous     []v1alpha1.LicenceAllocation
		requests     []Request
		want         []v1alpha1.LicenceAllocation
		unmet        []string
		heldBack     []string
		reservations []v1alpha1.SeatReservationStatus
	}{
		{name: "without a reservation, the cities that came first fill the pool and the late village waits",
			pool:     Pool{Seats: 100},
			requests: []Request{tiered("commune-liege", "XXL", 1, 60), tiered("commune-namur", "XXL", 2, 40), tiered("commune-daverdisse", "S", 30, 5)},
			want:     alloc("commune-liege", 60, "commune-namur", 40), unmet: []string{"commune-daverdisse"}},
		{name: "with 30 seats for S, the second city is held back and the late village is served",
			pool:     Pool{Seats: 100, Reservations: reserveS},
			requests: []Request{tiered("commune-liege", "XXL", 1, 60), tiered("commune-namur", "XXL", 2, 40), tiered("commune-daverdisse", "S", 30, 5)},
			want:     alloc("commune-daverdisse", 5, "commune-liege", 60), unmet: []string{"commune-namur"}, heldBack: []string{"commune-namur"},
			reservations: []v1alpha1.SeatReservationStatus{{Tier: "S", Seats: 30, Used: 5}}},
		{name: "a city may take what is free beyond the reservations",
			pool:         Pool{Seats: 100, Reservations: reserveS},
			requests:     []Request{tiered("commune-liege", "XXL", 1, 60), tiered("commune-namur", "XXL", 2, 10)},
			want:         alloc("commune-liege", 60, "commune-namur", 10),
			reservations: []v1alpha1.SeatReservationStatus{{Tier: "S", Seats: 30, Used: 0}}},
		{name: "a tier's own tenants use its reservation and then the free seats",
			pool:         Pool{Seats: 100, Reservations: reserveS},
			requests:     []Request{tiered("commune-liege", "XXL", 1, 60), tiered("commune-a", "S", 2, 25), tiered("commune-b", "S", 3, 15)},
			want:         alloc("commune-a", 25, "commune-b", 15, "commune-liege", 60),
			reservations: []v1alpha1.SeatReservationStatus{{Tier: "S", Seats: 30, Used: 40}}},
		{name: "a reservation added later takes back nothing already granted",
			pool: Pool{Seats: 100, Reservations: reserveS}, previous: alloc("commune-liege", 60, "commune-namur", 40),
			requests: []Request{tiered("commune-liege", "XXL", 1, 60), tiered("commune-namur", "XXL", 2, 40), tiered("commune-daverdisse", "S", 30, 5)},
			want:     alloc("commune-liege", 60, "commune-namur", 40), unmet: []string{"commune-daverdisse"},
			reservations: []v1alpha1.SeatReservationStatus{{Tier: "S", Seats: 30, Used: 0}}},
		{name: "a tenant whose tier is not known yet is held back like any other tier",
			pool:     Pool{Seats: 40, Reservations: reserveS},
			requests: []Request{tiered("commune-new", "", 1, 20)},
			unmet:    []string{"commune-new"}, heldBack: []string{"commune-new"},
			reservations: []v1alpha1.SeatReservationStatus{{Tier: "S", Seats: 30, Used: 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Allocate(tt.pool, tt.previous, tt.requests)
			if !reflect.DeepEqual(got.Allocations, tt.want) {
				t.Errorf("allocations %v, want %v", got.Allocations, tt.want)
			}
			if !reflect.DeepEqual(got.Unmet, tt.unmet) || !reflect.DeepEqual(got.HeldBack, tt.heldBack) {
				t.Errorf("unmet %v held back %v, want %v and %v", got.Unmet, got.HeldBack, tt.unmet, tt.heldBack)
			}
			if !reflect.DeepEqual(got.Reservations, tt.reservations) {
				t.Errorf("reservations %v, want %v", got.Reservations, tt.reservations)
			}
		})
	}
}

// What a pool has left is told to each tenant as its tier may take it.
func TestAvailableToATier(t *testing.T) {
	reservations := []v1alpha1.SeatReservationStatus{{Tier: "S", Seats: 30, Used: 5}, {Tier: "M", Seats: 10, Used: 12}}
	for tier, want := range map[string]int32{"S": 40, "M": 15, "XXL": 15, "": 15} {
		if got := AvailableTo(40, reservations, tier); got != want {
			t.Errorf("tier %q: %d available, want %d", tier, got, want)
		}
	}
	if got := AvailableTo(10, reservations, "XXL"); got != 0 {
		t.Errorf("more held back than available: %d", got)
	}
}
