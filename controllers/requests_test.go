package controllers

import "testing"

func TestResourceOfAPIPaths(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v1/namespaces/commune-liege/configmaps/mutualis-parameters-abc": "configmaps",
		"/api/v1/namespaces/commune-liege":                                    "namespaces",
		"/api/v1/namespaces":                                                  "namespaces",
		"/apis/events.k8s.io/v1/namespaces/default/events/liege.1a2b":         "events.events.k8s.io",
		"/apis/mutualis.crtpl.be/v1alpha1/communes/liege/status":              "communes.mutualis.crtpl.be/status",
		"/apis/apps/v1/namespaces/commune-liege/deployments":                  "deployments.apps",
		"/apis/rbac.authorization.k8s.io/v1/clusterroles/mutualis-tenant-x":   "clusterroles.rbac.authorization.k8s.io",
		"/healthz": "other",
	} {
		if got := resourceOf(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}
