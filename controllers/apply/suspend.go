package apply

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SuspendOwner is the field owner of the replica counts that suspend sets to zero. A separate owner
// keeps the suspension apart from the application's own configuration: releasing it hands the
// replica count back to whatever the application says, or to the default.
const SuspendOwner = "mutualis-suspend"

// IsWorkload tells whether an object is a Deployment or a StatefulSet, the workloads that suspend
// scales to zero.
func IsWorkload(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "apps" && (gvk.Kind == "Deployment" || gvk.Kind == "StatefulSet")
}

func replicasOnly(u *unstructured.Unstructured, replicas *int64) *unstructured.Unstructured {
	out := &unstructured.Unstructured{}
	out.SetGroupVersionKind(u.GroupVersionKind())
	out.SetName(u.GetName())
	out.SetNamespace(u.GetNamespace())
	if replicas != nil {
		_ = unstructured.SetNestedField(out.Object, *replicas, "spec", "replicas")
	}
	return out
}

// Suspend scales a live workload to zero, unless it is already there.
func Suspend(ctx context.Context, c client.Client, workload *unstructured.Unstructured) (bool, error) {
	live := workload.DeepCopy()
	if err := c.Get(ctx, client.ObjectKeyFromObject(workload), live); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if n, found, _ := unstructured.NestedInt64(live.Object, "spec", "replicas"); found && n == 0 {
		return false, nil
	}
	zero := int64(0)
	err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(replicasOnly(live, &zero)), client.FieldOwner(SuspendOwner), client.ForceOwnership)
	return err == nil, err
}

// Resume releases what Suspend took, when it holds anything on the live workload.
func Resume(ctx context.Context, c client.Client, workload *unstructured.Unstructured) (bool, error) {
	live := workload.DeepCopy()
	if err := c.Get(ctx, client.ObjectKeyFromObject(workload), live); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	held := false
	for _, f := range live.GetManagedFields() {
		if f.Manager == SuspendOwner {
			held = true
		}
	}
	if !held {
		return false, nil
	}
	err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(replicasOnly(live, nil)), client.FieldOwner(SuspendOwner), client.ForceOwnership)
	return err == nil, err
}
