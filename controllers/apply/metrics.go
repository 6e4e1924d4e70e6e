package apply

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// What the applier changed, by kind, on controller-runtime's metrics endpoint. Applies that found
// the object as desired made no request and are not counted: the idle operator's counters stay
// still, which is what an alert on a write loop looks for.
var (
	appliesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mutualis_applies_total",
		Help: "Server-side applies that changed (or created) an object, by kind.",
	}, []string{"kind"})
	prunesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mutualis_prunes_total",
		Help: "Objects deleted because they left an application's render or its subscription, by kind.",
	}, []string{"kind"})
)

func init() {
	metrics.Registry.MustRegister(appliesTotal, prunesTotal)
}

type kinded interface{ GetKind() *string }

// kindOf is the kind of an apply configuration, as its TypeMeta says.
func kindOf(ac runtime.ApplyConfiguration) string {
	if k, ok := ac.(kinded); ok && k.GetKind() != nil {
		return *k.GetKind()
	}
	return "unknown"
}
