package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A run that misses any target of DESIGN.md section 8 fails the bench.
func TestCheckFailsEachMissedTarget(t *testing.T) {
	good := result{Tenants: 522, Ratio: 1.4, PeakBytes: 140 << 20, ChangeP95Seconds: 0.3}
	for _, v := range good.check(nil) {
		if !v.met {
			t.Errorf("a run within every target missed %q (%s)", v.target, v.measured)
		}
	}
	misses := map[string]func(*result){
		"ratio":          func(r *result) { r.Ratio = 1.51 },
		"idle writes":    func(r *result) { r.IdleWrites = 1 },
		"restart writes": func(r *result) { r.RestartWrites = 3 },
		"change p95":     func(r *result) { r.ChangeP95Seconds = 2 },
		"memory":         func(r *result) { r.PeakBytes = 151 << 20 },
	}
	for name, miss := range misses {
		r := good
		miss(&r)
		failed := 0
		for _, v := range r.check(nil) {
			if !v.met {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("%s missed: %d targets failed, want 1", name, failed)
		}
	}
	// the memory per tenant of a larger run is held against the baseline's
	large := result{Tenants: 5000, Ratio: 1.2, PeakBytes: 2 << 30, ChangeP95Seconds: 0.5}
	verdicts := large.check(&good)
	if last := verdicts[len(verdicts)-1]; last.met {
		t.Errorf("%.0f KiB a tenant against %.0f passed the 1.2 times target", large.bytesPerTenant()/1024, good.bytesPerTenant()/1024)
	}
}

func TestPercentile(t *testing.T) {
	values := make([]float64, 0, 50)
	for i := 50; i >= 1; i-- {
		values = append(values, float64(i))
	}
	if p := percentile(values, 50); p != 25 {
		t.Errorf("median of 1..50 = %v, want 25", p)
	}
	if p := percentile(values, 95); p != 48 {
		t.Errorf("95th percentile of 1..50 = %v, want 48", p)
	}
	if p := percentile(nil, 95); p != 0 {
		t.Errorf("percentile of nothing = %v", p)
	}
}

// What the floor creates is the object without what the API server and the controllers filled in.
func TestPortableStripsWhatTheClusterFilledIn(t *testing.T) {
	svc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "web", "namespace": "commune-x", "uid": "u", "resourceVersion": "7",
			"labels":      map[string]any{"app.kubernetes.io/managed-by": "mutualis"},
			"annotations": map[string]any{"mutualis.crtpl.be/applied-hash": "h", "volume.kubernetes.io/selected-node": "n"}},
		"spec":   map[string]any{"clusterIP": "10.0.0.1", "clusterIPs": []any{"10.0.0.1"}, "ports": []any{map[string]any{"port": int64(80)}}},
		"status": map[string]any{"loadBalancer": map[string]any{}},
	}}
	p := portable(svc)
	if p.GetUID() != "" || p.GetResourceVersion() != "" || p.Object["status"] != nil {
		t.Errorf("identity or status kept: %v", p.Object)
	}
	if _, found, _ := unstructured.NestedString(p.Object, "spec", "clusterIP"); found {
		t.Error("the allocated cluster IP is kept: the fresh cluster would refuse or collide")
	}
	if p.GetAnnotations()["mutualis.crtpl.be/applied-hash"] != "h" || p.GetAnnotations()["volume.kubernetes.io/selected-node"] != "" {
		t.Errorf("annotations %v: mutualis's kept, the controllers' dropped", p.GetAnnotations())
	}
	if ports, _, _ := unstructured.NestedSlice(p.Object, "spec", "ports"); len(ports) != 1 {
		t.Error("the spec was not carried over")
	}
}

// The operator's writes in flight come from its request histogram, watches and reads left out.
func TestScrapeCountsTheTimeOfWritesOnly(t *testing.T) {
	metrics := `# TYPE mutualis_api_request_duration_seconds histogram
mutualis_api_request_duration_seconds_bucket{method="GET",le="+Inf"} 10
mutualis_api_request_duration_seconds_sum{method="GET"} 4
mutualis_api_request_duration_seconds_count{method="GET"} 10
mutualis_api_request_duration_seconds_bucket{method="PATCH",le="+Inf"} 30
mutualis_api_request_duration_seconds_sum{method="PATCH"} 6
mutualis_api_request_duration_seconds_count{method="PATCH"} 30
mutualis_api_request_duration_seconds_bucket{method="PUT",le="+Inf"} 2
mutualis_api_request_duration_seconds_sum{method="PUT"} 1
mutualis_api_request_duration_seconds_count{method="PUT"} 2
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(metrics)) }))
	defer srv.Close()
	got, err := (&operator{metrics: srv.URL}).scrape()
	if err != nil {
		t.Fatal(err)
	}
	if got.writeSeconds != 7 || got.writeCount != 32 {
		t.Errorf("writes took %v s over %v requests, want 7 s over 32", got.writeSeconds, got.writeCount)
	}
	if d := got.minus(counters{writeSeconds: 2, writeCount: 12}); d.writeSeconds != 5 || d.writeCount != 20 {
		t.Errorf("the difference is %v s over %v, want 5 s over 20", d.writeSeconds, d.writeCount)
	}
}
