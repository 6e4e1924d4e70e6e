package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// typedApplicationKinds are the kinds that nearly every application renders, and that the cache
// keeps as typed objects although the applications step reads them as unstructured ones: a typed
// Deployment takes a fraction of the memory of the same object as nested maps, and a cell has
// thousands of them. The watches of applicationObjects use the same informers.
func typedApplicationKinds() []client.Object {
	return []client.Object{
		&appsv1.Deployment{}, &appsv1.StatefulSet{}, &corev1.Service{}, &corev1.ConfigMap{},
		&corev1.PersistentVolumeClaim{}, &corev1.ServiceAccount{},
		// the subscriber tokens the operator issues (package token), and the Secrets of renders
		&corev1.Secret{},
	}
}

// typedReads is the reconcilers' client: a Get of an unstructured object of one of the
// typedApplicationKinds is served by the typed cache and converted, any other read and every write
// goes to the manager's client as it is. Nothing lists those kinds as unstructured objects; a List
// that did would start a second informer beside the typed one, so it would belong here too.
type typedReads struct {
	client.Client
	typed map[schema.GroupVersionKind]bool
}

func newTypedReads(c client.Client) (client.Client, error) {
	typed := map[schema.GroupVersionKind]bool{}
	for _, obj := range typedApplicationKinds() {
		gvk, err := c.GroupVersionKindFor(obj)
		if err != nil {
			return nil, err
		}
		typed[gvk] = true
	}
	return typedReads{Client: c, typed: typed}, nil
}

func (c typedReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	u, isUnstructured := obj.(*unstructured.Unstructured)
	if !isUnstructured || !c.typed[u.GroupVersionKind()] {
		return c.Client.Get(ctx, key, obj, opts...)
	}
	gvk := u.GroupVersionKind()
	typed, err := c.Scheme().New(gvk)
	if err != nil {
		return err
	}
	if err := c.Client.Get(ctx, key, typed.(client.Object), opts...); err != nil {
		return err
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
	if err != nil {
		return err
	}
	u.SetUnstructuredContent(content)
	u.SetGroupVersionKind(gvk) // objects read from the cache carry no type meta
	return nil
}
