package audit

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Prefetched serves Gather for many tenants at once: the first list of a kind in any namespace
// lists that kind once in every namespace, and later lists of it, in any namespace, are served from
// that one answer; each tenant's namespace comes from one list of the namespaces. Auditing the 522 tenants of the registry then costs one list per kind, not one
// per kind and tenant. A reader that may not list a kind across namespaces (a tenant admin's
// rights) lists it namespace by namespace, as Gather alone does.
func Prefetched(live client.Reader) client.Reader {
	return &prefetched{live: live, kinds: map[reflect.Type]*kindCache{}}
}

type prefetched struct {
	live  client.Reader
	mu    sync.Mutex
	kinds map[reflect.Type]*kindCache
}

// kindCache is one kind listed across namespaces: its items by namespace, or why it could not be.
type kindCache struct {
	once        sync.Once
	byNamespace map[string][]runtime.Object
	err         error
	// namespaced is set when the reader may not list the kind across namespaces
	namespaced bool
}

// Get serves a namespace from one list of them all (each tenant's Gather reads its own), and
// anything else from the live reader.
func (p *prefetched) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	ns, isNamespace := obj.(*corev1.Namespace)
	if !isNamespace || len(opts) > 0 {
		return p.live.Get(ctx, key, obj, opts...)
	}
	var list corev1.NamespaceList
	if err := p.List(ctx, &list, client.InNamespace("")); apierrors.IsForbidden(err) {
		return p.live.Get(ctx, key, obj) // may read its own namespace, not list them all
	} else if err != nil {
		return err
	}
	for i := range list.Items {
		if list.Items[i].Name == key.Name {
			list.Items[i].DeepCopyInto(ns)
			return nil
		}
	}
	return apierrors.NewNotFound(corev1.Resource("namespaces"), key.Name)
}

func (p *prefetched) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := &client.ListOptions{}
	o.ApplyOptions(opts)
	_, namespaces := list.(*corev1.NamespaceList)
	if (o.Namespace == "" && !namespaces) || o.LabelSelector != nil || o.FieldSelector != nil {
		return p.live.List(ctx, list, opts...)
	}
	t := reflect.TypeOf(list)
	p.mu.Lock()
	k := p.kinds[t]
	if k == nil {
		k = &kindCache{}
		p.kinds[t] = k
	}
	p.mu.Unlock()
	k.once.Do(func() {
		all := reflect.New(t.Elem()).Interface().(client.ObjectList)
		if err := p.live.List(ctx, all); err != nil {
			if apierrors.IsForbidden(err) {
				k.namespaced = true
				return
			}
			k.err = err
			return
		}
		items, err := meta.ExtractList(all)
		if err != nil {
			k.err = err
			return
		}
		k.byNamespace = map[string][]runtime.Object{}
		for _, item := range items {
			obj, err := meta.Accessor(item)
			if err != nil {
				k.err = err
				return
			}
			k.byNamespace[obj.GetNamespace()] = append(k.byNamespace[obj.GetNamespace()], item)
		}
	})
	switch {
	case k.namespaced:
		return p.live.List(ctx, list, opts...)
	case k.err != nil:
		return fmt.Errorf("listing %T in every namespace: %w", list, k.err)
	}
	// the items are shared by every tenant's Inputs, which Evaluate only reads
	return meta.SetList(list, k.byNamespace[o.Namespace])
}
