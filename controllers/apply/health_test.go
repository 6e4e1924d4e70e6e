package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func workload(kind string, generation int64, spec, status map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": kind, "metadata": map[string]any{"name": "w", "generation": generation}}}
	if spec != nil {
		u.Object["spec"] = spec
	}
	if status != nil {
		u.Object["status"] = status
	}
	return u
}

// A workload is available as kubectl rollout status reads it.
func TestWorkloadAvailable(t *testing.T) {
	two := map[string]any{"replicas": int64(2)}
	tests := []struct {
		name string
		w    *unstructured.Unstructured
		ok   bool
		why  string
	}{
		{"available", workload("Deployment", 2, two, map[string]any{"observedGeneration": int64(2), "updatedReplicas": int64(2), "availableReplicas": int64(2)}), true, ""},
		{"replicas default to one", workload("Deployment", 1, nil, map[string]any{"observedGeneration": int64(1), "updatedReplicas": int64(1), "availableReplicas": int64(1)}), true, ""},
		{"scaled to zero", workload("Deployment", 1, map[string]any{"replicas": int64(0)}, map[string]any{"observedGeneration": int64(1)}), true, ""},
		{"not observed yet", workload("Deployment", 3, two, map[string]any{"observedGeneration": int64(2), "updatedReplicas": int64(2), "availableReplicas": int64(2)}), false, "not yet observed"},
		{"rolling out", workload("Deployment", 2, two, map[string]any{"observedGeneration": int64(2), "updatedReplicas": int64(1), "availableReplicas": int64(2)}), false, "1 of 2 replicas updated"},
		{"not available", workload("Deployment", 2, two, map[string]any{"observedGeneration": int64(2), "updatedReplicas": int64(2), "availableReplicas": int64(1)}), false, "1 of 2 replicas available"},
		{"a StatefulSet counts ready replicas", workload("StatefulSet", 1, two, map[string]any{"observedGeneration": int64(1), "updatedReplicas": int64(2), "availableReplicas": int64(2), "readyReplicas": int64(1)}), false, "1 of 2 replicas available"},
		{"the quota refuses its pods", workload("Deployment", 1, two, map[string]any{"observedGeneration": int64(1), "conditions": []any{
			map[string]any{"type": "ReplicaFailure", "status": "True", "message": "exceeded quota: mutualis-quota"}}}), false, "cannot create pods: exceeded quota"},
		{"stuck", workload("Deployment", 1, two, map[string]any{"observedGeneration": int64(1), "conditions": []any{
			map[string]any{"type": "Progressing", "status": "False", "message": "ProgressDeadlineExceeded"}}}), false, "is not progressing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := WorkloadAvailable(tt.w)
			if ok != tt.ok || !strings.Contains(why, tt.why) {
				t.Fatalf("WorkloadAvailable = %v, %q; want %v with %q", ok, why, tt.ok, tt.why)
			}
		})
	}
}

// What the live object must contain of the desired one for an apply to be skipped.
func TestContains(t *testing.T) {
	tests := []struct {
		name       string
		have, want any
		contains   bool
	}{
		{"equal", map[string]any{"a": "x"}, map[string]any{"a": "x"}, true},
		{"more in the live object", map[string]any{"a": "x", "b": "y"}, map[string]any{"a": "x"}, true},
		{"a field missing", map[string]any{"b": "y"}, map[string]any{"a": "x"}, false},
		{"an empty desired list the server drops", map[string]any{}, map[string]any{"ingress": []any{}}, true},
		{"an empty desired map the server drops", map[string]any{}, map[string]any{"podSelector": map[string]any{}}, true},
		{"a desired null the server has a value for", map[string]any{"a": "x"}, map[string]any{"a": nil}, false},
		{"quantities by value", map[string]any{"cpu": "500m"}, map[string]any{"cpu": "0.5"}, true},
		{"different quantities", map[string]any{"cpu": "1"}, map[string]any{"cpu": "2"}, false},
		{"a number read as a quantity", map[string]any{"cpu": int64(1)}, map[string]any{"cpu": "1"}, true},
		{"numbers of any type", map[string]any{"port": int64(80)}, map[string]any{"port": float64(80)}, true},
		{"lists element-wise", []any{map[string]any{"a": "x", "b": "y"}}, []any{map[string]any{"a": "x"}}, true},
		{"a list of another length", []any{"x", "y"}, []any{"x"}, false},
		{"a list in another order", []any{"y", "x"}, []any{"x", "y"}, false},
		{"a string changed", map[string]any{"image": "nginx:1.27"}, map[string]any{"image": "nginx:1.26"}, false},
		{"a bool changed", map[string]any{"readOnly": false}, map[string]any{"readOnly": true}, false},
	}
	for _, tt := range tests {
		if got := Contains(tt.have, tt.want); got != tt.contains {
			t.Errorf("%s: Contains = %v; want %v", tt.name, got, tt.contains)
		}
	}
}
