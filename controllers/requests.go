package controllers

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// apiRequests counts the operator's requests by method and resource: client-go's own metric has the
// method only, and a write seen while idle is worth naming (an Event's series, a status, drift).
var apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mutualis_api_requests_total",
	Help: "Requests of the operator to the API server, by HTTP method and resource (resource.group, with /subresource).",
}, []string{"method", "resource"})

func init() { metrics.Registry.MustRegister(apiRequests) }

// CountRequests wraps the transport of the operator's REST config (rest.Config.Wrap).
func CountRequests(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		apiRequests.WithLabelValues(req.Method, resourceOf(req.URL.Path)).Inc()
		return next.RoundTrip(req)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// resourceOf reads the resource of an API path: /api/v1/namespaces/x/events is "events",
// /apis/mutualis.crtpl.be/v1alpha1/communes/liege/status "communes.mutualis.crtpl.be/status".
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var group string
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		group, rest = parts[1], parts[3:]
	default:
		return "other"
	}
	if len(rest) >= 3 && rest[0] == "namespaces" {
		rest = rest[2:] // a namespaced resource: namespaces/<ns>/<resource>...
	}
	if len(rest) == 0 {
		return "other"
	}
	res := rest[0]
	if group != "" {
		res += "." + group
	}
	if len(rest) >= 3 {
		res += "/" + rest[2]
	}
	return res
}
