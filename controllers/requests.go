package controllers

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// apiRequests counts the operator's requests by method and resource: client-go's own metric has the
// method only, and a write seen while idle is worth naming (an Event's series, a status, drift).
var apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mutualis_api_requests_total",
	Help: "Requests of the operator to the API server, by HTTP method and resource (resource.group, with /subresource).",
}, []string{"method", "resource"})

// apiRequestSeconds times the operator's requests but watches, by method: its sum over an interval,
// divided by the interval, is how many requests the operator had in flight on average, which is
// what bounds its pace when each request waits on a busy API server.
var apiRequestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "mutualis_api_request_duration_seconds",
	Help:    "Time of the operator's requests to the API server, watches excepted, by HTTP method.",
	Buckets: prometheus.DefBuckets,
}, []string{"method"})

func init() { metrics.Registry.MustRegister(apiRequests, apiRequestSeconds) }

// CountRequests wraps the transport of the operator's REST config (rest.Config.Wrap).
func CountRequests(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		apiRequests.WithLabelValues(req.Method, resourceOf(req.URL.Path)).Inc()
		if req.URL.Query().Get("watch") == "true" {
			return next.RoundTrip(req)
		}
		began := time.Now()
		resp, err := next.RoundTrip(req)
		apiRequestSeconds.WithLabelValues(req.Method).Observe(time.Since(began).Seconds())
		return resp, err
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
