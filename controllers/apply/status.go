package apply

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Status writes the whole status of obj by server-side apply under the one field owner, as the
// status's only writer: no resourceVersion, so a cache a moment behind never makes it conflict,
// and every field, zero counts included, is set, while a field the status no longer has is
// removed because mutualis owned it. obj carries its kind (a typed object of the scheme).
func Status(ctx context.Context, c client.Client, obj client.Object, status any) error {
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	st, err := runtime.DefaultUnstructuredConverter.ToUnstructured(status)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": st}}
	u.SetGroupVersionKind(gvk)
	u.SetName(obj.GetName())
	u.SetNamespace(obj.GetNamespace())
	return c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(v1alpha1.FieldOwner), client.ForceOwnership)
}
