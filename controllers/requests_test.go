package controllers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

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

// Every request is counted; all but watches are timed, so that the time summed is the time the
// operator waited on the API server.
func TestRequestsAreCountedAndTimedButWatches(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	c := &http.Client{Transport: CountRequests(http.DefaultTransport)}
	value := func(m prometheus.Metric) *dto.Metric {
		out := &dto.Metric{}
		if err := m.Write(out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	counted := func(method string) float64 {
		return value(apiRequests.WithLabelValues(method, "configmaps")).GetCounter().GetValue()
	}
	timed := func(method string) uint64 {
		return value(apiRequestSeconds.WithLabelValues(method).(prometheus.Metric)).GetHistogram().GetSampleCount()
	}
	patches, gets, patchesTimed, getsTimed := counted("PATCH"), counted("GET"), timed("PATCH"), timed("GET")
	send := func(method, url string) {
		req, err := http.NewRequest(method, srv.URL+url, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	send(http.MethodPatch, "/api/v1/namespaces/commune-timed/configmaps/x")
	send(http.MethodGet, "/api/v1/namespaces/commune-timed/configmaps?watch=true")
	if counted("PATCH")-patches != 1 || counted("GET")-gets != 1 {
		t.Errorf("counted %v PATCH and %v GET, want one each", counted("PATCH")-patches, counted("GET")-gets)
	}
	if timed("PATCH")-patchesTimed != 1 || timed("GET")-getsTimed != 0 {
		t.Errorf("timed %d PATCH and %d GET (a watch), want 1 and 0", timed("PATCH")-patchesTimed, timed("GET")-getsTimed)
	}
}
