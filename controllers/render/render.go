// Package render turns a SharedApplication of the catalogue into the objects of one tenant, with
// kustomize (krusty) on an in-memory file system: a kustomization generated from the application's
// structured fields and the tenant, never a path or a URL, built-in plugins only. The result is
// checked against the rules of the tenant contract before anything is applied. Render is a pure
// function: the same application and tenant always give the same objects.
package render

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// ParametersConfigMap is the name of the generated ConfigMap that holds the tenant's parameter
// values, which the application's replacements read. kustomize appends a hash of its content, so a
// changed value rolls the workloads that use it.
const ParametersConfigMap = "mutualis-parameters"

// Tenant is what rendering needs to know of a tenant.
type Tenant struct {
	Kind        v1alpha1.TenantKind
	Name        string
	Namespace   string
	NIS         string
	DisplayName string
	Tier        string
	// Seats are the licence seats granted for this application, 0 when none.
	Seats int32
	// Parameters are the values of the tenant's subscription.
	Parameters map[string]string
}

// Options are the rules of the policy that a render must follow.
type Options struct {
	// AllowedServiceTypes are the Service types applications may use; empty means ClusterIP only.
	AllowedServiceTypes []v1alpha1.ServiceType
	// IsNamespaced tells whether a kind is namespaced; nil uses the list of well-known
	// cluster-scoped kinds only. The operator passes the API server's REST mapping.
	IsNamespaced func(apiVersion, kind string) (bool, error)
}

// Error lists every problem of a render, so that a catalogue author fixes them in one go.
type Error struct {
	// Application is the SharedApplication's name.
	Application string
	// Problems say what is wrong, one per entry.
	Problems []string
	// Tenant marks problems of the tenant's subscription (its parameters) rather than of the base.
	Tenant bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("application %s: %s", e.Application, strings.Join(e.Problems, "; "))
}

// MissingKindsError says that a render is valid but names kinds the cluster does not serve yet (a
// CRD not installed): a dependency to wait for, not an error of the catalogue entry.
type MissingKindsError struct {
	Application string
	// Kinds are apiVersion/kind pairs.
	Kinds []string
}

func (e *MissingKindsError) Error() string {
	return fmt.Sprintf("application %s uses %s, which the cluster does not serve yet: install the CRD; the application is applied once it is there",
		e.Application, strings.Join(e.Kinds, ", "))
}

// UnknownKindError is what Options.IsNamespaced returns for a kind the cluster does not know.
type UnknownKindError struct {
	APIVersion, Kind string
}

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("the cluster does not serve %s %s", e.APIVersion, e.Kind)
}

// krusty is not safe for concurrent use: one build at a time.
var buildMu sync.Mutex

// runKustomize builds a kustomization of the in-memory file system; tests replace it to make a
// build panic.
var runKustomize = func(fs filesys.FileSystem, dir string) (resmap.ResMap, error) {
	return krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
}

// build runs one kustomize build under the lock. The lock is released however the build ends: a
// build that panics must not block every later render of the operator.
func build(fs filesys.FileSystem, dir string) (resmap.ResMap, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	return runKustomize(fs, dir)
}

// Render builds the objects of app for tenant t.
func Render(app *v1alpha1.SharedApplication, t Tenant, opts Options) ([]*unstructured.Unstructured, error) {
	params, err := parameters(app, t)
	if err != nil {
		return nil, err
	}
	if problems := checkBase(app); len(problems) > 0 {
		return nil, &Error{Application: app.Name, Problems: problems}
	}
	fs := filesys.MakeFsInMemory()
	var files []string
	for i, r := range app.Spec.Resources {
		name := fmt.Sprintf("resource-%03d.yaml", i)
		if err := fs.WriteFile("/app/"+name, r.Raw); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	kustomization, err := json.Marshal(kustomizationFor(app, t, files, params))
	if err != nil {
		return nil, err
	}
	if err := fs.WriteFile("/app/kustomization.yaml", kustomization); err != nil {
		return nil, err
	}

	resources, err := build(fs, "/app")
	if err != nil {
		return nil, &Error{Application: app.Name, Problems: []string{"kustomize build failed: " + err.Error()}}
	}
	var objs []*unstructured.Unstructured
	for _, r := range resources.Resources() {
		// through JSON, so that numbers are int64 as everywhere else in unstructured objects
		raw, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, err
		}
		objs = append(objs, u)
	}
	problems, missing, err := checkRendered(objs, t.Namespace, opts)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &Error{Application: app.Name, Problems: problems}
	}
	if len(missing) > 0 {
		return nil, &MissingKindsError{Application: app.Name, Kinds: missing}
	}
	return objs, nil
}

// DeclaredList says which parameters an application declares, for a message.
func DeclaredList(names []string) string {
	if len(names) == 0 {
		return "it declares none"
	}
	return "declared: " + strings.Join(names, ", ")
}

// Undeclared lists, sorted, the names of given that the application does not declare, and the
// names it declares.
func Undeclared(app *v1alpha1.SharedApplication, given map[string]string) (undeclared, declared []string) {
	known := map[string]bool{}
	for _, p := range app.Spec.Parameters {
		known[p.Name] = true
		declared = append(declared, p.Name)
	}
	for k := range given {
		if !known[k] {
			undeclared = append(undeclared, k)
		}
	}
	sort.Strings(undeclared)
	return undeclared, declared
}

// parameters merges the tenant's values over the declared defaults and adds the built-in ones. A
// value for a parameter the application does not declare, or a required one missing, is an error
// of the tenant's subscription.
func parameters(app *v1alpha1.SharedApplication, t Tenant) (map[string]string, error) {
	undeclared, names := Undeclared(app, t.Parameters)
	var problems []string
	for _, k := range undeclared {
		problems = append(problems, fmt.Sprintf("parameter %q is not declared by the application (%s)", k, DeclaredList(names)))
	}
	values := map[string]string{}
	for _, p := range app.Spec.Parameters {
		v, given := t.Parameters[p.Name]
		switch {
		case given && !utf8.ValidString(v):
			// kustomize would replace the bytes silently: the application would get another value
			problems = append(problems, fmt.Sprintf("parameter %q is not valid UTF-8 text", p.Name))
		case given:
			values[p.Name] = v
		case p.Required:
			problems = append(problems, fmt.Sprintf("parameter %q is required: set it in the subscription's parameters", p.Name))
		default:
			values[p.Name] = p.Default
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &Error{Application: app.Name, Problems: problems, Tenant: true}
	}
	values["tenant.name"] = t.Name
	values["tenant.kind"] = string(t.Kind)
	values["tenant.namespace"] = t.Namespace
	values["tenant.nis"] = t.NIS
	values["tenant.displayName"] = t.DisplayName
	values["tenant.tier"] = t.Tier
	values["licence.seats"] = strconv.Itoa(int(t.Seats))
	values["application.name"] = app.Name
	return values, nil
}

// kustomizationFor writes the kustomization of one application and tenant. The application's
// images, patches and replacements have kustomize's own field names, so they go in as they are.
func kustomizationFor(app *v1alpha1.SharedApplication, t Tenant, files []string, params map[string]string) map[string]any {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	literals := make([]string, 0, len(keys))
	for _, k := range keys {
		// kustomize strips one pair of matching quotes around a literal's value, so every value is
		// wrapped in one: a value that is itself quoted reaches the application with its quotes.
		literals = append(literals, k+"=\""+params[k]+"\"")
	}
	k := map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"namespace":  t.Namespace,
		"resources":  files,
		// labels, not commonLabels: a Deployment's selector cannot change after creation
		"labels": []map[string]any{{
			"pairs": map[string]string{
				v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue,
				v1alpha1.LabelTenant:    t.Namespace,
				v1alpha1.LabelPartOf:    app.Name,
			},
			"includeSelectors": false,
			"includeTemplates": true,
		}},
		"configMapGenerator": []map[string]any{{"name": ParametersConfigMap, "literals": literals}},
	}
	if len(app.Spec.Images) > 0 {
		k["images"] = app.Spec.Images
	}
	patches := append([]v1alpha1.Patch(nil), app.Spec.Patches...)
	for _, size := range app.Spec.Sizes {
		if size.Tier == t.Tier {
			patches = append(patches, size.Patches...)
		}
	}
	if len(patches) > 0 {
		k["patches"] = patches
	}
	if len(app.Spec.Replacements) > 0 {
		k["replacements"] = app.Spec.Replacements
	}
	return k
}
