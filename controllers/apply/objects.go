package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// AnnotationAppliedHash carries the hash of the configuration mutualis last applied to an object.
// With it, a field that mutualis stopped setting is noticed (the hash differs), and a field that
// someone else changed is noticed too (the live object no longer contains the desired one).
const AnnotationAppliedHash = "mutualis.crtpl.be/applied-hash"

// Ref names one applied object in an inventory: Kind.group/name, or Kind/name for the core group.
// The version is left out on purpose: an object keeps its identity across API versions.
type Ref string

// RefOf is the inventory entry of an object.
func RefOf(u *unstructured.Unstructured) Ref {
	gk := u.GroupVersionKind().GroupKind()
	return Ref(gk.String() + "/" + u.GetName())
}

// Parse splits a Ref into its group, kind and name.
func (r Ref) Parse() (schema.GroupKind, string, error) {
	gk, name, ok := strings.Cut(string(r), "/")
	if !ok || name == "" {
		return schema.GroupKind{}, "", fmt.Errorf("malformed inventory entry %q", r)
	}
	return schema.ParseGroupKind(gk), name, nil
}

// ConflictError says that an object of a render already exists and mutualis did not apply it:
// apply never adopts an object someone else made, and never changes or deletes it.
type ConflictError struct{ Ref Ref }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s already exists and mutualis did not make it: it is left as it is; rename or delete it, or unsubscribe", e.Ref)
}

// Object applies a rendered object unless the live one already carries its hash and every field
// of it. The reader is the cache, which keeps whole only what mutualis applied; uncached, when not
// nil, is read when the cache has no such object, so that an object someone else made under that
// name is found and refused (a ConflictError) rather than taken over.
func Object(ctx context.Context, c client.Client, uncached client.Reader, desired *unstructured.Unstructured) (Change, error) {
	obj := desired.DeepCopy()
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	switch err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); {
	case apierrors.IsNotFound(err):
		live = nil
		if uncached != nil {
			found := &unstructured.Unstructured{}
			found.SetGroupVersionKind(obj.GroupVersionKind())
			switch err := uncached.Get(ctx, client.ObjectKeyFromObject(obj), found); {
			case err == nil:
				if !AppliedByMutualis(found) {
					return Change{}, &ConflictError{Ref: RefOf(obj)}
				}
				live = found
			case !apierrors.IsNotFound(err):
				return Change{}, err
			}
		}
	case err != nil:
		return Change{}, err
	default:
		// the cache keeps a stub, without managed fields, of a labelled object mutualis did not apply
		if !AppliedByMutualis(live) {
			return Change{}, &ConflictError{Ref: RefOf(obj)}
		}
	}
	var have map[string]any
	if live != nil {
		have = live.Object
	}
	return applyIfDiffers(ctx, c, obj, have)
}

// stamp sets on obj the annotation of the hash of what it holds, and returns the hash.
func stamp(obj *unstructured.Unstructured) (string, error) {
	hash, err := hashOf(obj)
	if err != nil {
		return "", err
	}
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[AnnotationAppliedHash] = hash
	obj.SetAnnotations(annotations)
	return hash, nil
}

func hashOf(u *unstructured.Unstructured) (string, error) {
	raw, err := json.Marshal(u.Object) // encoding/json sorts map keys: the hash is stable
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8]), nil
}

// Contains reports whether every field of want is in have with the same value. Lists must have
// the same length and contain each other element-wise; numbers and quantities compare by value,
// so a defaulted or normalised live object still contains what was applied.
func Contains(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, present := h[k]
			if !present {
				if isEmpty(wv) {
					continue
				}
				return false
			}
			if !Contains(hv, wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !Contains(h[i], w[i]) {
				return false
			}
		}
		return true
	case string:
		switch h := have.(type) {
		case string:
			if h == w {
				return true
			}
			return sameQuantity(h, w)
		default:
			return sameQuantity(fmt.Sprint(have), w)
		}
	case nil:
		return have == nil
	default:
		if hn, ok := number(have); ok {
			if wn, ok := number(want); ok {
				return hn == wn
			}
		}
		return fmt.Sprint(have) == fmt.Sprint(want)
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func sameQuantity(a, b string) bool {
	qa, err := resource.ParseQuantity(a)
	if err != nil {
		return false
	}
	qb, err := resource.ParseQuantity(b)
	if err != nil {
		return false
	}
	return qa.Cmp(qb) == 0
}

// AppliedByMutualis says whether mutualis applied the object itself: its managed fields hold an
// Apply entry of the field owner mutualis. Labels say nothing of the kind: anyone who can write an
// object can copy them.
func AppliedByMutualis(obj metav1.Object) bool {
	for _, f := range obj.GetManagedFields() {
		if f.Manager == v1alpha1.FieldOwner && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// Prune deletes the objects of an old inventory that the new one no longer lists. It deletes only
// what the inventory names, what still carries the labels of this tenant and application, and what
// mutualis applied itself, as the live object's managed fields show: nothing else, whatever the
// cache or the inventory says.
func Prune(ctx context.Context, c client.Client, mapper meta.RESTMapper, namespace, application string, old, current []Ref) ([]Ref, []Change, error) {
	keep := map[Ref]bool{}
	for _, r := range current {
		keep[r] = true
	}
	var failed []Ref
	var pruned []Change
	var errs []string
	for _, r := range old {
		if keep[r] {
			continue
		}
		deleted, err := deleteOne(ctx, c, mapper, namespace, application, r)
		if err != nil {
			failed = append(failed, r)
			errs = append(errs, err.Error())
		}
		if deleted {
			gk, name, _ := r.Parse()
			pruned = append(pruned, Change{Kind: gk.Kind, Namespace: namespace, Name: name, Action: Pruned})
		}
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i] < failed[j] })
	if len(errs) > 0 {
		return failed, pruned, fmt.Errorf("pruning: %s", strings.Join(errs, "; "))
	}
	return nil, pruned, nil
}

func deleteOne(ctx context.Context, c client.Client, mapper meta.RESTMapper, namespace, application string, r Ref) (bool, error) {
	gk, name, err := r.Parse()
	if err != nil {
		return false, err
	}
	mapping, err := mapper.RESTMapping(gk)
	if meta.IsNoMatchError(err) {
		return false, nil // the kind is gone from the cluster, and the object with it
	}
	if err != nil {
		return false, err
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(mapping.GroupVersionKind)
	switch err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, live); {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	l := live.GetLabels()
	if l[v1alpha1.LabelManagedBy] != v1alpha1.ManagedByValue || l[v1alpha1.LabelTenant] != namespace || l[v1alpha1.LabelPartOf] != application {
		return false, nil // not ours any more: left alone
	}
	// the inventory lives in the tenant's status, which more people can write than mutualis, and
	// labels are copied onto objects that other controllers create (a StatefulSet's data volumes):
	// only the live object's own record that mutualis applied it proves that it is ours to delete
	if !AppliedByMutualis(live) {
		return false, nil
	}
	uid := live.GetUID()
	switch err := c.Delete(ctx, live, client.Preconditions{UID: &uid}); {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	changesTotal.WithLabelValues(gk.Kind, string(Pruned)).Inc()
	return true, nil
}
