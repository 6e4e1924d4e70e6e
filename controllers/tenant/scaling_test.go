package tenant

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// A video bridge for every so many councils: replicas follow the subscribers, within the bounds
// the catalogue entry gives, and say when the subscribers outgrow the largest.
func TestReplicasFollowTheSubscribers(t *testing.T) {
	bridge := v1alpha1.InstanceScaling{Workload: "jitsi-jvb", SubscribersPerReplica: 40, MinReplicas: 1, MaxReplicas: 12}
	for _, c := range []struct {
		subscribers int
		want        int32
		capped      bool
	}{
		{0, 1, false},    // the instance runs before its first subscriber
		{1, 1, false},    // one council
		{40, 1, false},   // exactly one bridge's worth
		{41, 2, false},   // one more council: a second bridge
		{480, 12, false}, // twelve bridges' worth
		{481, 12, true},  // beyond twelve bridges: capped, and said
		{522, 12, true},  // every commune and CPAS
	} {
		got, capped := ReplicasFor(bridge, c.subscribers)
		if got != c.want || capped != c.capped {
			t.Errorf("%d subscribers: %d replicas (capped %v), want %d (capped %v)", c.subscribers, got, capped, c.want, c.capped)
		}
	}
	if got, _ := ReplicasFor(v1alpha1.InstanceScaling{SubscribersPerReplica: 10, MinReplicas: 0, MaxReplicas: 3}, 0); got != 0 {
		t.Errorf("minReplicas 0 and no subscriber: %d replicas, want none", got)
	}
}

func TestScaleBySubscribersSetsTheNamedWorkloadOnly(t *testing.T) {
	deployment := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"replicas": int64(1)}}}
		return u
	}
	service := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "jitsi-jvb"}}}
	objs := []*unstructured.Unstructured{service, deployment("jitsi-web"), deployment("jitsi-jvb")}
	scaled, missing, err := ScaleBySubscribers(objs, []v1alpha1.InstanceScaling{
		{Workload: "jitsi-jvb", SubscribersPerReplica: 40, MinReplicas: 1, MaxReplicas: 12},
		{Workload: "jitsi-jibri", SubscribersPerReplica: 100, MinReplicas: 1, MaxReplicas: 2},
	}, 90)
	if err != nil {
		t.Fatal(err)
	}
	if len(scaled) != 1 || scaled[0] != (v1alpha1.ScaledWorkload{Workload: "jitsi-jvb", Replicas: 3}) {
		t.Errorf("scaled %+v; want jitsi-jvb at 3 replicas for 90 subscribers", scaled)
	}
	if len(missing) != 1 || missing[0] != "jitsi-jibri" {
		t.Errorf("missing %v; want the workload the base does not have", missing)
	}
	for _, o := range objs[1:] {
		got, _, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
		want := map[string]int64{"jitsi-web": 1, "jitsi-jvb": 3}[o.GetName()]
		if got != want {
			t.Errorf("%s: %d replicas, want %d", o.GetName(), got, want)
		}
	}
	if _, found := service.Object["spec"]; found {
		t.Error("the Service of the same name as the workload was given replicas")
	}
}
