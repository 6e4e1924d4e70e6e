package render

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// application reads a SharedApplication from testdata.
func application(t *testing.T, file string) *v1alpha1.SharedApplication {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	app := &v1alpha1.SharedApplication{}
	if err := yaml.UnmarshalStrict(data, app); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return app
}

func liege() Tenant {
	return Tenant{Kind: v1alpha1.KindCommune, Name: "liege", Namespace: "commune-liege", NIS: "62063",
		DisplayName: "Liège", Tier: "XXL", Seats: 0, Parameters: map[string]string{"domain": "files.liege.be"}}
}

func TestRenderGolden(t *testing.T) {
	objs, err := Render(application(t, "files-app.yaml"), liege(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := yaml.Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "files-commune-liege.golden.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./controllers/render -update creates it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("render differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}

func TestRenderIsDeterministicAndTenantSpecific(t *testing.T) {
	app := application(t, "files-app.yaml")
	a, err := Render(app, liege(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Render(app, liege(), Options{})
	ya, _ := yaml.Marshal(a)
	yb, _ := yaml.Marshal(b)
	if string(ya) != string(yb) {
		t.Fatal("two renders of the same input differ")
	}
	cpas := liege()
	cpas.Kind, cpas.Namespace = v1alpha1.KindCPAS, "cpas-liege"
	c, err := Render(app, cpas, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range c {
		if o.GetNamespace() != "cpas-liege" || o.GetLabels()[v1alpha1.LabelTenant] != "cpas-liege" || o.GetLabels()[v1alpha1.LabelPartOf] != "files" {
			t.Errorf("%s/%s: namespace %s labels %v", o.GetKind(), o.GetName(), o.GetNamespace(), o.GetLabels())
		}
	}
	// the selector is not touched: a Deployment's selector cannot change after creation
	for _, o := range c {
		if o.GetKind() == "Deployment" {
			sel, _, _ := unstructuredString(o.Object, "spec", "selector", "matchLabels", v1alpha1.LabelPartOf)
			if sel != "" {
				t.Errorf("the common labels leaked into the Deployment's selector")
			}
		}
	}
}

func TestRenderRefusesBadBasesAndSubscriptions(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		tenant   func(*Tenant)
		opts     Options
		want     string
		byTenant bool
	}{
		{name: "cluster role binding", file: "bad-clusterrolebinding.yaml", want: "ClusterRoleBinding everything is cluster-scoped"},
		{name: "namespace", file: "bad-namespace.yaml", want: "Namespace sneaky is not allowed in an application"},
		{name: "object in kube-system", file: "bad-kube-system.yaml", want: "sets namespace kube-system"},
		{name: "network policy", file: "bad-networkpolicy.yaml", want: "NetworkPolicy allow-all is not allowed in an application"},
		{name: "load balancer", file: "bad-loadbalancer.yaml", want: "Service public has type LoadBalancer: the policy allows ClusterIP"},
		{name: "load balancer allowed by the policy", file: "bad-loadbalancer.yaml", opts: Options{AllowedServiceTypes: []v1alpha1.ServiceType{"ClusterIP", "LoadBalancer"}}},
		{name: "role binding to a user", file: "bad-rolebinding.yaml", want: "binds User /mayor"},
		{name: "role with wildcards", file: "bad-role-wildcard.yaml", want: `Role wildcard rules[0] grants the verb "*"`},
		{name: "role that escalates", file: "bad-role-escalate.yaml", want: `grants the verb "escalate": escalate lets it raise its own rights`},
		{name: "role over RBAC", file: "bad-role-rbac.yaml", want: "grants rights on RBAC"},
		{name: "role over the tenant contract", file: "bad-role-isolation.yaml", want: `grants rights on "networkpolicies"`},
		{name: "role that mints tokens", file: "bad-role-token.yaml", want: `grants rights on "serviceaccounts/token"`},
		{name: "role for the application's own objects", file: "good-role.yaml"},
		{name: "patch that does not apply", file: "bad-patch.yaml", want: "kustomize build failed"},
		{name: "replacement from a missing field", file: "bad-replacement.yaml", want: "kustomize build failed"},
		{name: "undeclared parameter", file: "files-app.yaml", tenant: func(t *Tenant) { t.Parameters["colour"] = "blue" },
			want: `parameter "colour" is not declared by the application (declared: domain, quota)`, byTenant: true},
		{name: "missing required parameter", file: "files-app.yaml", tenant: func(t *Tenant) { delete(t.Parameters, "domain") },
			want: `parameter "domain" is required`, byTenant: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := liege()
			if tt.file != "files-app.yaml" {
				tenant.Parameters = nil
			}
			if tt.tenant != nil {
				tt.tenant(&tenant)
			}
			_, err := Render(application(t, tt.file), tenant, tt.opts)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var rerr *Error
			if !errors.As(err, &rerr) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if rerr.Tenant != tt.byTenant {
				t.Errorf("error attributed to the tenant = %v, want %v", rerr.Tenant, tt.byTenant)
			}
			t.Logf("the catalogue author sees: %v", err)
		})
	}
}

func TestIsNamespacedFromTheAPIServer(t *testing.T) {
	// a kind unknown to the built-in list, cluster-scoped according to the API server
	opts := Options{IsNamespaced: func(apiVersion, kind string) (bool, error) { return kind != "Deployment", nil }}
	_, err := Render(application(t, "files-app.yaml"), liege(), opts)
	if err == nil || !strings.Contains(err.Error(), "Deployment files is cluster-scoped") {
		t.Fatalf("got %v", err)
	}
}

// Discovery that fails for a while says nothing of the base: the render returns the error to be
// retried, never a render.Error that would stall the tenant as ApplicationInvalid.
func TestDiscoveryErrorIsNoProblemOfTheBase(t *testing.T) {
	unavailable := errors.New("the server is currently unable to handle the request")
	opts := Options{IsNamespaced: func(apiVersion, kind string) (bool, error) { return false, unavailable }}
	_, err := Render(application(t, "files-app.yaml"), liege(), opts)
	var rerr *Error
	if !errors.Is(err, unavailable) || errors.As(err, &rerr) {
		t.Fatalf("got %v; want the discovery error itself, not a problem of the base", err)
	}
}

func TestRenderedObjectsAreDeepCopyable(t *testing.T) {
	objs, err := Render(application(t, "files-app.yaml"), liege(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		_ = o.DeepCopy() // panics on numbers that are not int64 or float64
	}
}

// Every application of the shipped catalogue renders for a tenant and follows the contract.
func TestCatalogueSamplesRender(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "catalog", "*.yaml"))
	if err != nil || len(files) < 6 {
		t.Fatalf("catalogue samples: %v %v", files, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			app := &v1alpha1.SharedApplication{}
			if err := yaml.Unmarshal([]byte(doc), app); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if app.Kind != "SharedApplication" || app.Spec.Instance == v1alpha1.InstanceExternal {
				continue // an External entry has nothing to render
			}
			tenant := liege()
			tenant.Parameters = map[string]string{}
			for _, p := range app.Spec.Parameters {
				if p.Required {
					tenant.Parameters[p.Name] = "example.liege.be"
				}
			}
			objs, err := Render(app, tenant, Options{})
			if err != nil {
				t.Errorf("%s: %v", file, err)
				continue
			}
			for _, o := range objs {
				// every container declares its resources: the quota refuses pods that do not
				containers, _, _ := unstructuredSlice(o.Object, "spec", "template", "spec", "containers")
				for _, c := range containers {
					m := c.(map[string]any)
					if _, ok := m["resources"]; !ok {
						t.Errorf("%s: %s %s container %v has no resources", file, o.GetKind(), o.GetName(), m["name"])
					}
					if img, _ := m["image"].(string); !strings.Contains(img, ":") || strings.HasSuffix(img, ":latest") {
						t.Errorf("%s: image %q is not pinned", file, img)
					}
				}
			}
		}
	}
}

// Each right that would let an application's ServiceAccount leave its tenant's contract is refused
// by name: the list is written out here, so that a right dropped from the checker fails this test.
func TestRoleRightsThatAreRefused(t *testing.T) {
	role := func(verbs, resources []any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": map[string]any{"name": "app"},
			"rules": []any{map[string]any{"apiGroups": []any{""}, "verbs": verbs, "resources": resources}},
		}}
	}
	for _, verb := range []string{"*", "bind", "escalate", "impersonate"} {
		if problems := checkRole(role([]any{verb}, []any{"configmaps"})); len(problems) == 0 {
			t.Errorf("a Role granting the verb %q on configmaps is accepted", verb)
		}
	}
	for _, res := range []string{"*", "namespaces", "resourcequotas", "limitranges", "networkpolicies", "serviceaccounts/token"} {
		if problems := checkRole(role([]any{"get", "update"}, []any{res})); len(problems) == 0 {
			t.Errorf("a Role granting rights on %q is accepted", res)
		}
	}
	if problems := checkRole(role([]any{"get", "list", "create"}, []any{"configmaps", "secrets"})); len(problems) != 0 {
		t.Errorf("a plain Role on the application's own objects is refused: %v", problems)
	}
}
