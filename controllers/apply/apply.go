// Package apply writes desired objects with server-side apply under the single field owner
// mutualis, and only when something differs, and says what it did: every object, typed (the
// tenant contract) or rendered (an application), is compared with the live one in one way (the
// hash of what mutualis last applied, and whether the live object still contains every desired
// field), so a reconcile that finds the world as desired makes no request that writes, and each
// call returns a Change: created, configured, unchanged or pruned.
package apply

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Options of every apply: the one field owner, forcing ownership so that a field edited by hand
// (drift) is taken back.
var Options = []client.ApplyOption{client.FieldOwner(v1alpha1.FieldOwner), client.ForceOwnership}

// Typed applies a typed apply configuration of the tenant contract (a namespace, its quota,
// limits, bindings and network policies) unless the live object, read into live from the cache,
// is already as desired. The contract's objects are mutualis's by name: unlike Object, Typed takes
// back an object of that name that someone else wrote, which is what drift repair means for them.
func Typed(ctx context.Context, c client.Client, desired runtime.ApplyConfiguration, live client.Object) (Change, error) {
	obj, err := unstructuredOf(desired)
	if err != nil {
		return Change{}, err
	}
	switch err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return Change{}, err
	}
	return typedAgainst(ctx, c, obj, live)
}

// TypedOn is Typed for a live object the caller already read (nil: there is none).
func TypedOn(ctx context.Context, c client.Client, desired runtime.ApplyConfiguration, live client.Object) (Change, error) {
	obj, err := unstructuredOf(desired)
	if err != nil {
		return Change{}, err
	}
	return typedAgainst(ctx, c, obj, live)
}

// typedAgainst compares and applies the unstructured form of a typed desired object against the
// typed live one (nil: there is none), turned into the same form.
func typedAgainst(ctx context.Context, c client.Client, obj *unstructured.Unstructured, live client.Object) (Change, error) {
	var have map[string]any
	if live != nil {
		var err error
		if have, err = runtime.DefaultUnstructuredConverter.ToUnstructured(live); err != nil {
			return Change{}, err
		}
	}
	return applyIfDiffers(ctx, c, obj, have)
}

// applyIfDiffers stamps obj with its hash and applies it unless have, the live object (nil when
// there is none), carries the same hash and contains every field of obj: the one comparison of
// desired and live state.
func applyIfDiffers(ctx context.Context, c client.Client, obj *unstructured.Unstructured, have map[string]any) (Change, error) {
	action, err := Decide(obj, have)
	change := Change{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), Action: action}
	if err != nil || action == Unchanged {
		return change, err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), Options...); err != nil {
		return Change{}, err
	}
	changesTotal.WithLabelValues(obj.GetKind(), string(change.Action)).Inc()
	return change, nil
}

// Decide stamps obj with the hash of what it holds and says what applying it to have, the live
// object (nil when there is none), comes to: Created, Unchanged when have carries the same hash
// and contains every field of obj, Configured otherwise. It is the applier's one comparison of
// desired and live state.
func Decide(obj *unstructured.Unstructured, have map[string]any) (Action, error) {
	hash, err := stamp(obj)
	if err != nil {
		return "", err
	}
	if have == nil {
		return Created, nil
	}
	// a typed object read from the cache carries no apiVersion and kind
	have["apiVersion"], have["kind"] = obj.GetAPIVersion(), obj.GetKind()
	annotations, _, _ := unstructured.NestedStringMap(have, "metadata", "annotations")
	if annotations[AnnotationAppliedHash] == hash && Contains(have, obj.Object) {
		return Unchanged, nil
	}
	return Configured, nil
}

// unstructuredOf is a typed apply configuration as the unstructured object it serialises to.
func unstructuredOf(ac runtime.ApplyConfiguration) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(ac)
	if err != nil {
		return nil, fmt.Errorf("serialising apply configuration: %w", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	return u, nil
}
