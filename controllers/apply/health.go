package apply

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WorkloadsWaiting says, for each Deployment and StatefulSet of a render that is not available
// at its current generation, why.
func WorkloadsWaiting(ctx context.Context, c client.Reader, objs []*unstructured.Unstructured) []string {
	var waiting []string
	for _, obj := range objs {
		if !IsWorkload(obj) {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(obj.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			waiting = append(waiting, fmt.Sprintf("%s %s: %v", obj.GetKind(), obj.GetName(), err))
			continue
		}
		if ok, why := WorkloadAvailable(live); !ok {
			waiting = append(waiting, fmt.Sprintf("%s %s %s", obj.GetKind(), obj.GetName(), why))
		}
	}
	return waiting
}

// WorkloadAvailable reads a Deployment's or StatefulSet's status the way kubectl rollout status
// does.
func WorkloadAvailable(u *unstructured.Unstructured) (bool, string) {
	generation := u.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	replicas, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	updated, _, _ := unstructured.NestedInt64(u.Object, "status", "updatedReplicas")
	available, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
	if u.GetKind() == "StatefulSet" {
		available, _, _ = unstructured.NestedInt64(u.Object, "status", "readyReplicas")
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] == "ReplicaFailure" && m["status"] == "True" {
			return false, fmt.Sprintf("cannot create pods: %v", m["message"])
		}
		if m["type"] == "Progressing" && m["status"] == "False" {
			return false, fmt.Sprintf("is not progressing: %v", m["message"])
		}
	}
	switch {
	case observed < generation:
		return false, "is not yet observed by its controller"
	case updated < replicas:
		return false, fmt.Sprintf("has %d of %d replicas updated", updated, replicas)
	case available < replicas:
		return false, fmt.Sprintf("has %d of %d replicas available", available, replicas)
	}
	return true, ""
}
