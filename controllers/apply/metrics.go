package apply

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// What the applier changed, by kind and action, on controller-runtime's metrics endpoint. Applies
// that found the object as desired made no request and are not counted: the idle operator's
// counters stay still, which is what an alert on a write loop looks for.
var changesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mutualis_changes_total",
	Help: "Objects the applier created, configured (changed back or forward) or pruned, by kind and action.",
}, []string{"kind", "action"})

func init() {
	metrics.Registry.MustRegister(changesTotal)
}
