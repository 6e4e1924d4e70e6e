package render

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

func objects(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

var tierDefaults = Defaults{
	Request: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	Limit:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
}

// What an application takes of a quota: every pod of its workloads with the LimitRange's defaults,
// the extra pods of a rolling update, its volumes (StatefulSet claims per replica) and its objects.
func TestRequirementsCountWhatTheQuotaCounts(t *testing.T) {
	objs := objects(t,
		// 2 replicas, rolling update: 25% of 2 rounded up is one more pod during a rollout
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2, template: {spec: {containers: [
		  {name: web, resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: "2", memory: 1Gi}}},
		  {name: sidecar}]}}}}`,
		// Recreate: no extra pod; a container with a limit only gets it as its request
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: worker}, spec: {strategy: {type: Recreate}, template: {spec: {
		  initContainers: [{name: migrate, resources: {limits: {cpu: "3", memory: 512Mi}}}],
		  containers: [{name: w, resources: {limits: {cpu: 500m, memory: 512Mi}}}]}}}}`,
		`{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db}, spec: {replicas: 2, template: {spec: {containers: [
		  {name: pg, resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}}]}},
		  volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 10Gi}}}}]}}`,
		`{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: files}, spec: {resources: {requests: {storage: 50Gi}}}}`,
		`{apiVersion: v1, kind: Service, metadata: {name: web}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: mutualis-parameters-abc}}`,
		`{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web}}`,
	)
	need, err := Requirements(objs, tierDefaults)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[corev1.ResourceName]string{
		// web: 3 pods × (250m + 100m default); worker: max(init 3, 500m) = 3; db: 2 × 100m
		corev1.ResourceRequestsCPU: "4250m",
		// web: 3 × (2 + 1 default); worker: 3 (its init container); db: 2 × 1
		corev1.ResourceLimitsCPU:              "14",
		corev1.ResourcePods:                   "6",
		corev1.ResourceRequestsStorage:        "70Gi",
		corev1.ResourcePersistentVolumeClaims: "3",
		corev1.ResourceServices:               "1",
		corev1.ResourceConfigMaps:             "1",
		"count/deployments.apps":              "2",
		"count/statefulsets.apps":             "1",
		"count/ingresses.networking.k8s.io":   "1",
	} {
		got := need[name]
		if got.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("%s = %s, want %s", name, got.String(), want)
		}
	}

	short := Shortfalls(need, corev1.ResourceList{corev1.ResourceLimitsCPU: resource.MustParse("8"), corev1.ResourcePods: resource.MustParse("50")})
	if len(short) != 1 || !strings.Contains(short[0], "limits.cpu 14 of 8") {
		t.Errorf("shortfalls %v", short)
	}
}

// Sizes are chosen by the tenant's tier: the XXL patch applies to an XXL tenant only.
func TestSizesFollowTheTier(t *testing.T) {
	app := application(t, "files-app.yaml")
	app.Spec.Sizes = []v1alpha1.TierSize{{Tier: "XXL", Patches: []v1alpha1.Patch{{
		Target: &v1alpha1.Selector{Kind: "Deployment", Name: "files"},
		Patch:  `[{"op": "replace", "path": "/spec/replicas", "value": 3}]`,
	}}}}
	tenant := liege()
	tenant.Tier = "S"
	small, err := Render(app, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tenant.Tier = "XXL"
	large, err := Render(app, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	replicas := func(objs []*unstructured.Unstructured) int64 {
		for _, u := range objs {
			if u.GetKind() == "Deployment" {
				n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
				return n
			}
		}
		return -1
	}
	if replicas(small) != 1 || replicas(large) != 3 {
		t.Errorf("replicas: S %d, XXL %d; the XXL patch should apply to XXL only", replicas(small), replicas(large))
	}
}
