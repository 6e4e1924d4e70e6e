package render

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// checkOutcome fails the test when a render that succeeded breaks the tenant contract, or when it
// failed otherwise than with one of render's own errors.
func checkOutcome(t *testing.T, objs []*unstructured.Unstructured, err error, namespace string) {
	t.Helper()
	var rerr *Error
	var missing *MissingKindsError
	if err != nil {
		if !errors.As(err, &rerr) && !errors.As(err, &missing) {
			t.Fatalf("render failed with an error that is not a verdict: %v", err)
		}
		return
	}
	for _, u := range objs {
		if _, forbidden := forbiddenKinds[u.GetKind()]; forbidden || clusterScopedKinds[u.GetKind()] {
			t.Fatalf("render let a %s through", u.GetKind())
		}
		if u.GetNamespace() != namespace {
			t.Fatalf("render placed %s %s in namespace %q", u.GetKind(), u.GetName(), u.GetNamespace())
		}
	}
}

// The base checks never panic, whatever a catalogue author writes as a resource, and what passes
// them stays in the tenant's namespace and out of the forbidden kinds.
func FuzzBaseChecks(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-system"}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"commune-herstal"}}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r"},"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}`,
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"type":"NodePort"}}`,
		`[]`, `{}`, `null`, `{"kind":7}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		app := &v1alpha1.SharedApplication{Spec: v1alpha1.SharedApplicationSpec{Version: "1",
			Resources: []v1alpha1.Resource{{RawExtension: runtime.RawExtension{Raw: []byte(raw)}}}}}
		app.Name = "fuzz"
		objs, err := Render(app, liege(), Options{})
		checkOutcome(t, objs, err, "commune-liege")
	})
}

// The renderer's input from the tenant (parameter names and values) never breaks out of the
// parameters ConfigMap: a value reaches the application exactly as given, or the subscription is
// refused.
func FuzzRenderParameters(f *testing.F) {
	f.Add("domain", "files.liege.be")
	f.Add("domain", "a=b\nc: d")
	f.Add("quota", "---\nkind: Namespace")
	f.Add("colour", "blue")
	f.Add("", "")
	f.Add("domain", `""`)
	f.Add("motto", `'Liège'`)
	f.Fuzz(func(t *testing.T, key, value string) {
		tenant := liege()
		tenant.Parameters = map[string]string{"domain": "files.liege.be", key: value}
		objs, err := Render(application(t, "files-app.yaml"), tenant, Options{})
		checkOutcome(t, objs, err, "commune-liege")
		if err != nil {
			return
		}
		for _, u := range objs {
			if u.GetKind() == "ConfigMap" && strings.HasPrefix(u.GetName(), ParametersConfigMap+"-") {
				data, _, _ := unstructured.NestedStringMap(u.Object, "data")
				if data[key] != value {
					t.Fatalf("parameter %q = %q reached the application as %q", key, value, data[key])
				}
			}
		}
	})
}
