package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// forbiddenKinds belong to the cell, never to an application: they would let a tenant's
// application change its own isolation, quota or namespace.
var forbiddenKinds = map[string]string{
	"Namespace":     "the namespace belongs to the tenant contract",
	"ResourceQuota": "the quota comes from the tier",
	"LimitRange":    "the limits come from the tier",
	"NetworkPolicy": "network isolation belongs to the tenant contract; declare exposed ports in spec.exposes",
}

// clusterScopedKinds are the well-known cluster-scoped kinds, refused even without an API server to
// ask (unit tests, the offline validator).
var clusterScopedKinds = map[string]bool{
	"ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true,
	"PersistentVolume": true, "StorageClass": true, "Node": true, "PriorityClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"APIService": true, "IngressClass": true, "CSIDriver": true, "RuntimeClass": true,
	"VolumeAttachment": true, "CertificateSigningRequest": true,
	"Commune": true, "CPAS": true, "SharedApplication": true, "LicencePool": true, "TenancyPolicy": true,
}

func describe(u *unstructured.Unstructured) string {
	return fmt.Sprintf("%s %s", u.GetKind(), u.GetName())
}

// checkBase looks at the resources as the catalogue author wrote them.
func checkBase(app *v1alpha1.SharedApplication) []string {
	var problems []string
	for i, r := range app.Spec.Resources {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(r.Raw, &u.Object); err != nil {
			problems = append(problems, fmt.Sprintf("resources[%d] is not an object: %v", i, err))
			continue
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			problems = append(problems, fmt.Sprintf("resources[%d] needs apiVersion, kind and metadata.name", i))
			continue
		}
		// before kustomize runs: its namespace transformer would rename a Namespace object to the
		// tenant's own namespace
		if why, forbidden := forbiddenKinds[u.GetKind()]; forbidden {
			problems = append(problems, fmt.Sprintf("%s is not allowed in an application: %s", describe(u), why))
			continue
		}
		if ns := u.GetNamespace(); ns != "" {
			problems = append(problems, fmt.Sprintf("%s sets namespace %s: a base is namespace-free, mutualis places it in each tenant's namespace", describe(u), ns))
		}
	}
	return problems
}

// checkRendered enforces the rules of the tenant contract on the built objects. It returns the
// problems, and apart from them the kinds that the cluster does not serve yet. The error is one
// of IsNamespaced that says nothing of the base (discovery that failed for a while): the caller
// retries rather than blame the application.
func checkRendered(objs []*unstructured.Unstructured, namespace string, opts Options) (problems, missing []string, err error) {
	allowed := map[string]bool{}
	for _, t := range opts.AllowedServiceTypes {
		allowed[string(t)] = true
	}
	if len(allowed) == 0 {
		allowed["ClusterIP"] = true
	}
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, u := range objs {
		kind := u.GetKind()
		if why, forbidden := forbiddenKinds[kind]; forbidden {
			add("%s is not allowed in an application: %s", describe(u), why)
			continue
		}
		namespaced := !clusterScopedKinds[kind]
		if namespaced && opts.IsNamespaced != nil {
			var err error
			if namespaced, err = opts.IsNamespaced(u.GetAPIVersion(), kind); err != nil {
				var unknown *UnknownKindError
				if errors.As(err, &unknown) {
					missing = append(missing, u.GetAPIVersion()+"/"+kind)
					continue
				}
				return nil, nil, fmt.Errorf("%s: asking the cluster whether %s is namespaced: %w", describe(u), kind, err)
			}
		}
		if !namespaced {
			add("%s is cluster-scoped: an application may only contain namespaced objects", describe(u))
			continue
		}
		if u.GetNamespace() != namespace {
			add("%s is placed in namespace %s: an application stays in its tenant's namespace", describe(u), u.GetNamespace())
		}
		gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
		switch {
		case kind == "Service" && gv.Group == "":
			t, _, _ := unstructured.NestedString(u.Object, "spec", "type")
			if t == "" {
				t = "ClusterIP"
			}
			if !allowed[t] {
				add("Service %s has type %s: the policy allows %s", u.GetName(), t, strings.Join(keys(allowed), ", "))
			}
		case kind == "RoleBinding" && gv.Group == "rbac.authorization.k8s.io":
			problems = append(problems, checkRoleBinding(u, namespace)...)
		case kind == "Role" && gv.Group == "rbac.authorization.k8s.io":
			problems = append(problems, checkRole(u)...)
		}
	}
	sort.Strings(missing)
	return problems, slicesCompact(missing), nil
}

func slicesCompact(in []string) []string {
	var out []string
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// Verbs and resources that a Role of an application may never grant: with them, the application's
// ServiceAccount (and anyone who runs code in its pods) could give itself more rights, act as
// someone else, or take apart the isolation of its tenant.
var (
	forbiddenRoleVerbs = map[string]string{
		"*": "a wildcard grants every verb, present and future", "bind": "bind lets it grant roles it does not hold",
		"escalate": "escalate lets it raise its own rights", "impersonate": "impersonate lets it act as another user",
	}
	forbiddenRoleResources = map[string]string{
		"*": "a wildcard grants every resource, present and future", "namespaces": "the namespace belongs to the tenant contract",
		"resourcequotas": "the quota comes from the tier", "limitranges": "the limits come from the tier",
		"networkpolicies": "network isolation belongs to the tenant contract", "serviceaccounts/token": "it could mint tokens of any ServiceAccount of the namespace",
	}
)

// checkRole lets an application give its ServiceAccounts plain rights on its own objects: no
// wildcard, no right over RBAC, and nothing that touches the tenant contract.
func checkRole(u *unstructured.Unstructured) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("Role %s %s", u.GetName(), fmt.Sprintf(format, args...)))
	}
	rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		strs := func(field string) []string {
			list, _, _ := unstructured.NestedStringSlice(rule, field)
			return list
		}
		for _, v := range strs("verbs") {
			if why, bad := forbiddenRoleVerbs[v]; bad {
				add("rules[%d] grants the verb %q: %s", i, v, why)
			}
		}
		for _, g := range strs("apiGroups") {
			switch g {
			case "*":
				add("rules[%d] names every API group (\"*\"): name the groups of the application's own kinds", i)
			case "rbac.authorization.k8s.io":
				add("rules[%d] grants rights on RBAC: an application may not change who may do what", i)
			}
		}
		for _, res := range strs("resources") {
			if why, bad := forbiddenRoleResources[res]; bad {
				add("rules[%d] grants rights on %q: %s", i, res, why)
			}
		}
		if len(strs("nonResourceURLs")) > 0 {
			add("rules[%d] names nonResourceURLs, which only a ClusterRole can grant", i)
		}
	}
	return problems
}

// checkRoleBinding lets an application give rights to its own ServiceAccounts only, through a Role
// of its namespace: never to people, never a ClusterRole.
func checkRoleBinding(u *unstructured.Unstructured, namespace string) []string {
	var problems []string
	refKind, _, _ := unstructured.NestedString(u.Object, "roleRef", "kind")
	if refKind != "Role" {
		problems = append(problems, fmt.Sprintf("RoleBinding %s refers to a %s: an application may bind only Roles of its namespace", u.GetName(), refKind))
	}
	subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
	for _, s := range subjects {
		m, _ := s.(map[string]any)
		kind, _ := m["kind"].(string)
		ns, _ := m["namespace"].(string)
		name, _ := m["name"].(string)
		if kind != "ServiceAccount" || (ns != "" && ns != namespace) {
			problems = append(problems, fmt.Sprintf("RoleBinding %s binds %s %s/%s: an application may bind only ServiceAccounts of its own namespace", u.GetName(), kind, ns, name))
		}
	}
	return problems
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	// stable messages: the status must not change from one reconcile to the next
	sort.Strings(out)
	return out
}
