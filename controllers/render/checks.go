package render

import (
	"encoding/json"
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

// checkRendered enforces the rules of the tenant contract on the built objects.
func checkRendered(objs []*unstructured.Unstructured, namespace string, opts Options) []string {
	allowed := map[string]bool{}
	for _, t := range opts.AllowedServiceTypes {
		allowed[string(t)] = true
	}
	if len(allowed) == 0 {
		allowed["ClusterIP"] = true
	}
	var problems []string
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
				add("%s: %v", describe(u), err)
				continue
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
