package audit

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// Many tenants' audits list each kind once, across namespaces (their namespaces too), and each
// tenant still sees only its own namespace's objects; a reader without the right to list across
// namespaces lists namespace by namespace.
func TestPrefetchedListsEachKindOnce(t *testing.T) {
	ctx := context.Background()
	var objs []client.Object
	for _, ns := range []string{"commune-liege", "cpas-liege", "commune-namur"} {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns}})
	}
	for _, denied := range []bool{false, true} {
		calls := map[string]int{}
		c := fake.NewClientBuilder().WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
			List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				o := &client.ListOptions{}
				o.ApplyOptions(opts)
				calls[o.Namespace]++
				if denied && o.Namespace == "" {
					return apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "", nil)
				}
				return c.List(ctx, list, opts...)
			}}).Build()
		r := Prefetched(c)
		for _, ns := range []string{"commune-liege", "commune-namur", "cpas-liege", "commune-liege"} {
			var list corev1.ServiceList
			if err := r.List(ctx, &list, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 2 || list.Items[0].Namespace != ns || list.Items[1].Namespace != ns {
				t.Fatalf("denied=%v: %s sees %+v", denied, ns, list.Items)
			}
		}
		for _, name := range []string{"commune-liege", "cpas-liege", "commune-namur"} {
			ns := &corev1.Namespace{}
			if err := r.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil || ns.Name != name {
				t.Fatalf("denied=%v: namespace %s: %v %q", denied, name, err, ns.Name)
			}
		}
		if err := r.Get(ctx, client.ObjectKey{Name: "elsewhere"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			t.Errorf("a namespace that does not exist: %v", err)
		}
		if !denied && (calls[""] != 2 || len(calls) != 1) {
			t.Errorf("lists made: %v; want one across namespaces", calls)
		}
		if denied && (calls["commune-liege"] != 2 || calls["commune-namur"] != 1) {
			t.Errorf("lists made without the cluster-wide right: %v", calls)
		}
	}
}
