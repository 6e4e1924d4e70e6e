package apply

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Application applies the objects of one application in namespace and prunes what the previous
// inventory lists and the objects no longer have. The inventory grows before anything is applied,
// so that an object is never applied without being listed, and shrinks only once the pruning
// succeeded: the inventory it returns keeps what could not be pruned.
func Application(ctx context.Context, c client.Client, uncached client.Reader, mapper meta.RESTMapper, namespace, application string, previous []string, objs []*unstructured.Unstructured) ([]string, []Change, error) {
	current := make([]Ref, 0, len(objs))
	for _, obj := range objs {
		current = append(current, RefOf(obj))
	}
	inventory := Strings(union(Refs(previous), current))
	// one after the other, in the render's order (kustomize puts what workloads read first):
	// applying them at once (two waves, run 15 of docs/benchmarks.md) was slower at 522 tenants;
	// a tenant's applications, on the other hand, go at once (reconcileApplications)
	changes := make([]Change, 0, len(objs))
	for _, obj := range objs {
		change, err := Object(ctx, c, uncached, obj)
		if err != nil {
			return inventory, changes, fmt.Errorf("apply failed: %w", err)
		}
		changes = append(changes, change)
		if IsWorkload(obj) {
			// a tenant back from suspend: hand the replica count back to the application
			if _, err := Resume(ctx, c, obj); err != nil {
				return inventory, changes, err
			}
		}
	}
	left, pruned, err := Prune(ctx, c, mapper, namespace, application, Refs(previous), current)
	return Strings(union(current, left)), append(changes, pruned...), err
}

// Refs are an inventory of a status as Refs.
func Refs(in []string) []Ref {
	out := make([]Ref, 0, len(in))
	for _, s := range in {
		out = append(out, Ref(s))
	}
	return out
}

// Strings turns refs into the sorted inventory of a status; empty is nil, so that an unchanged status
// compares equal to the one read.
func Strings(in []Ref) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, r := range in {
		out = append(out, string(r))
	}
	sort.Strings(out)
	return out
}

func union(a, b []Ref) []Ref {
	seen := map[Ref]bool{}
	var out []Ref
	for _, r := range append(append([]Ref{}, a...), b...) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}
