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
			got := Allocate(tt.seats, tt.expired, tt.previous, tt.requests)
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
	first := Allocate(12, false, nil, requests)
	for i := 0; i < 20; i++ {
		shuffled := []Request{requests[(i)%4], requests[(i+1)%4], requests[(i+2)%4], requests[(i+3)%4]}
		if got := Allocate(12, false, nil, shuffled); !reflect.DeepEqual(got, first) {
			t.Fatalf("order of requests changed the result: %v vs %v", got, first)
		}
	}
}
