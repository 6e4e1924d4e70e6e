package tenant

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// InstanceServices give a tenant the shared instance of an application: one ExternalName Service
// per exposed Service of the instance, of the same name, in the tenant's namespace.
func InstanceServices(namespace string, app *v1alpha1.SharedApplication) []*unstructured.Unstructured {
	return ExternalNames(namespace, app, InstanceNamespaceName(app.Name))
}

// ExternalNames are ExternalName Services in namespace, one per exposed Service of app, leading
// to the Services of the same name in target.
func ExternalNames(namespace string, app *v1alpha1.SharedApplication, target string) []*unstructured.Unstructured {
	seen := map[string]bool{}
	var objs []*unstructured.Unstructured
	for _, e := range app.Spec.Exposes {
		if seen[e.Service] {
			continue
		}
		seen[e.Service] = true
		objs = append(objs, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{
				"name": e.Service, "namespace": namespace,
				"labels": map[string]any{
					v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelTenant: namespace,
					v1alpha1.LabelPartOf: app.Name,
				},
			},
			"spec": map[string]any{
				"type":         "ExternalName",
				"externalName": fmt.Sprintf("%s.%s.svc.cluster.local", e.Service, target),
			},
		}})
	}
	return objs
}
