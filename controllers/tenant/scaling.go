package tenant

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// ReplicasFor is the replicas a workload of a shared instance gets for that many subscribers: the
// subscribers over subscribersPerReplica rounded up, within minReplicas and maxReplicas. Capped
// says that the subscribers would need more than maxReplicas.
func ReplicasFor(s v1alpha1.InstanceScaling, subscribers int) (replicas int32, capped bool) {
	per := int(max(s.SubscribersPerReplica, 1))
	want := (subscribers + per - 1) / per
	want = max(want, int(s.MinReplicas))
	if want > int(s.MaxReplicas) {
		return s.MaxReplicas, true
	}
	return int32(want), false
}

// ScaleBySubscribers sets the replicas of the rendered workloads that spec.sharedInstance.scaling
// names, from the number of subscribers, and says what it set. A name the render has no
// Deployment or StatefulSet of is returned in missing, for the instance's condition.
func ScaleBySubscribers(objs []*unstructured.Unstructured, scaling []v1alpha1.InstanceScaling, subscribers int) (scaled []v1alpha1.ScaledWorkload, missing []string, err error) {
	for _, s := range scaling {
		i := slices.IndexFunc(objs, func(o *unstructured.Unstructured) bool {
			kind := o.GroupVersionKind()
			return kind.Group == "apps" && (kind.Kind == "Deployment" || kind.Kind == "StatefulSet") && o.GetName() == s.Workload
		})
		if i < 0 {
			missing = append(missing, s.Workload)
			continue
		}
		replicas, capped := ReplicasFor(s, subscribers)
		if err := unstructured.SetNestedField(objs[i].Object, int64(replicas), "spec", "replicas"); err != nil {
			return nil, nil, fmt.Errorf("scaling %s: %w", s.Workload, err)
		}
		scaled = append(scaled, v1alpha1.ScaledWorkload{Workload: s.Workload, Replicas: replicas, Capped: capped})
	}
	return scaled, missing, nil
}
