package controllers

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/audit"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// reconcileErrors counts the errors of the API server that made a tenant's reconcile retry, by
// the step they came from.
var reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mutualis_reconcile_errors_total",
	Help: "Tenant reconciles that ended in an error (retried with backoff), by tenant kind and step.",
}, []string{"kind", "step"})

func init() { metrics.Registry.MustRegister(reconcileErrors) }

// The cell's state, computed at each scrape from the cache: nothing to keep in step with the
// reconcilers, and a scrape costs lists of the cache only.
var (
	descTenants = prometheus.NewDesc("mutualis_tenants",
		"Tenants by kind and by the status of each of their conditions.", []string{"kind", "condition", "status"}, nil)
	descStalled = prometheus.NewDesc("mutualis_tenant_stalled",
		"1 for each tenant stalled on a configuration error, with the condition's reason.", []string{"kind", "name", "reason"}, nil)
	// a whole and its parts are never series of one metric: sum() over a metric adds like to like
	descSubscriptions = prometheus.NewDesc("mutualis_application_subscriptions",
		"Subscriptions to each application (its own or through synergy).", []string{"application"}, nil)
	descSubscriptionsReady = prometheus.NewDesc("mutualis_application_subscriptions_ready",
		"Subscriptions to each application whose objects are all available.", []string{"application"}, nil)
	descSeats = prometheus.NewDesc("mutualis_licence_pool_seats",
		"Seats each LicencePool holds (spec.seats).", []string{"pool", "application"}, nil)
	descSeatsGranted = prometheus.NewDesc("mutualis_licence_pool_seats_granted",
		"Seats of each LicencePool granted to tenants.", []string{"pool", "application"}, nil)
	descSeatsAvailable = prometheus.NewDesc("mutualis_licence_pool_seats_available",
		"Seats of each LicencePool still free.", []string{"pool", "application"}, nil)
	descPoolValidUntil = prometheus.NewDesc("mutualis_licence_pool_valid_until_timestamp_seconds",
		"When each LicencePool's contract ends (spec.validUntil), as Unix time; absent for a pool without an end.", []string{"pool", "application"}, nil)
	descAudit = prometheus.NewDesc("mutualis_audit_findings",
		"Findings of each tenant's latest security audit, by severity (kubectl mutualis audit lists them).",
		[]string{"kind", "name", "severity"}, nil)
	descLastBackup = prometheus.NewDesc("mutualis_tenant_last_backup_timestamp_seconds",
		"When each tenant's last backup succeeded, as Unix time; time() minus it is the backup's age.", []string{"kind", "name"}, nil)
	descLastVerifiedRestore = prometheus.NewDesc("mutualis_tenant_last_verified_restore_timestamp_seconds",
		"When a restore drill last proved each tenant's backups, as Unix time; time() minus it is how long they have gone unproven.", []string{"kind", "name"}, nil)
	descDrillsRunning = prometheus.NewDesc("mutualis_restore_drills_running",
		"Scratch namespaces of restore drills that exist now (the TenancyPolicy's restoreDrills.concurrency bounds them).", nil, nil)
	descRetainedSince = prometheus.NewDesc("mutualis_retained_namespace_orphaned_timestamp_seconds",
		"When the Retain tenant of each kept namespace was deleted, as Unix time (none when mutualis did not record it).",
		[]string{"namespace", "kind"}, nil)
	descRetainedOverdue = prometheus.NewDesc("mutualis_retained_namespaces_overdue",
		"Kept namespaces of deleted Retain tenants past the TenancyPolicy's retainedNamespaces.reviewAfter (kubectl mutualis audit names them).",
		nil, nil)
)

// stateCollector reads the tenants and pools from the operator's cache at each scrape, on the
// leader only. Every replica fills its caches, so each could export the same cell state; with
// three replicas each alert would fire three times and a cell of 5,000 tenants would cost three
// times its series. A standby replica exports its own process's metrics (and controller-runtime's
// leader_election_master_status, 0), none of the cell's.
type stateCollector struct {
	c       client.Reader
	elected <-chan struct{}
}

// registerStateMetrics adds the collector once per process (the tests start several managers);
// elected is closed once this replica leads (at once without leader election).
func registerStateMetrics(c client.Reader, elected <-chan struct{}) error {
	err := metrics.Registry.Register(&stateCollector{c: c, elected: elected})
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		return nil
	}
	return err
}

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTenants, descStalled, descSubscriptions, descSubscriptionsReady, descSeats, descSeatsGranted, descSeatsAvailable, descPoolValidUntil, descLastBackup, descLastVerifiedRestore, descDrillsRunning, descAudit, descRetainedSince, descRetainedOverdue} {
		ch <- d
	}
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	select {
	case <-s.elected:
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tenants, err := v1alpha1.ListTenants(ctx, s.c, client.UnsafeDisableDeepCopy)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descTenants, err)
		return
	}
	type conditionKey struct{ kind, condition, status string }
	conditions := map[conditionKey]int{}
	subscriptions := map[string][2]int{}
	for _, t := range tenants {
		kind := t.TenantKind().Kind()
		st := t.TenantStatus()
		for _, c := range st.Conditions {
			conditions[conditionKey{kind, c.Type, string(c.Status)}]++
			if c.Type == v1alpha1.ConditionStalled && c.Status == "True" {
				ch <- prometheus.MustNewConstMetric(descStalled, prometheus.GaugeValue, 1, kind, t.GetName(), c.Reason)
			}
		}
		for _, a := range st.Applications {
			n := subscriptions[a.Name]
			n[0]++
			if a.Ready {
				n[1]++
			}
			subscriptions[a.Name] = n
		}
		if a := st.Audit; a != nil {
			// severities without findings export no series: most tenants have few findings, and
			// four series per tenant would be most of the cardinality at 5,000 tenants (an alert on
			// "> 0" sees an absent series as none)
			for sev, n := range map[string]int32{"high": a.High, "medium": a.Medium, "low": a.Low, "info": a.Info} {
				if n > 0 {
					ch <- prometheus.MustNewConstMetric(descAudit, prometheus.GaugeValue, float64(n), kind, t.GetName(), sev)
				}
			}
		}
		if b := st.Backup; b != nil && b.LastSuccessfulTime != nil {
			ch <- prometheus.MustNewConstMetric(descLastBackup, prometheus.GaugeValue, float64(b.LastSuccessfulTime.Unix()), kind, t.GetName())
		}
		if b := st.Backup; b != nil && b.LastVerifiedRestore != nil {
			ch <- prometheus.MustNewConstMetric(descLastVerifiedRestore, prometheus.GaugeValue, float64(b.LastVerifiedRestore.Unix()), kind, t.GetName())
		}
	}
	for k, n := range conditions {
		ch <- prometheus.MustNewConstMetric(descTenants, prometheus.GaugeValue, float64(n), k.kind, k.condition, k.status)
	}
	for app, n := range subscriptions {
		ch <- prometheus.MustNewConstMetric(descSubscriptions, prometheus.GaugeValue, float64(n[0]), app)
		ch <- prometheus.MustNewConstMetric(descSubscriptionsReady, prometheus.GaugeValue, float64(n[1]), app)
	}
	s.collectRetained(ctx, ch)
	scratch := &corev1.NamespaceList{}
	if err := s.c.List(ctx, scratch, client.HasLabels{v1alpha1.LabelRestoreDrill}, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(descDrillsRunning, err)
	} else {
		ch <- prometheus.MustNewConstMetric(descDrillsRunning, prometheus.GaugeValue, float64(len(scratch.Items)))
	}
	pools := &v1alpha1.LicencePoolList{}
	if err := s.c.List(ctx, pools, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(descSeats, err)
		return
	}
	for _, p := range pools.Items {
		ch <- prometheus.MustNewConstMetric(descSeats, prometheus.GaugeValue, float64(p.Spec.Seats), p.Name, p.Spec.Application)
		ch <- prometheus.MustNewConstMetric(descSeatsGranted, prometheus.GaugeValue, float64(p.Status.AllocatedSeats), p.Name, p.Spec.Application)
		ch <- prometheus.MustNewConstMetric(descSeatsAvailable, prometheus.GaugeValue, float64(p.Status.AvailableSeats), p.Name, p.Spec.Application)
		if p.Spec.ValidUntil != nil {
			ch <- prometheus.MustNewConstMetric(descPoolValidUntil, prometheus.GaugeValue, float64(p.Spec.ValidUntil.Unix()), p.Name, p.Spec.Application)
		}
	}
}

// collectRetained reports the namespaces kept after their Retain tenant was deleted, and how many
// are past the policy's review period.
func (s *stateCollector) collectRetained(ctx context.Context, ch chan<- prometheus.Metric) {
	namespaces := &corev1.NamespaceList{}
	if err := s.c.List(ctx, namespaces, client.MatchingLabels{v1alpha1.LabelOrphaned: "true"}, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(descRetainedOverdue, err)
		return
	}
	policy := &v1alpha1.TenancyPolicy{}
	if err := s.c.Get(ctx, client.ObjectKey{Name: v1alpha1.TenancyPolicyName}, policy); apierrors.IsNotFound(err) {
		policy = nil
	} else if err != nil {
		ch <- prometheus.NewInvalidMetric(descRetainedOverdue, err)
		return
	}
	reviewAfter := tenant.EffectivePolicy(policy).RetainedNamespaces.ReviewAfter.Duration
	now := time.Now()
	overdue := 0
	for _, r := range audit.Retained(namespaces.Items) {
		if !r.Since.IsZero() {
			ch <- prometheus.MustNewConstMetric(descRetainedSince, prometheus.GaugeValue, float64(r.Since.Unix()), r.Namespace, r.Kind)
		}
		if r.Overdue(reviewAfter, now) {
			overdue++
		}
	}
	ch <- prometheus.MustNewConstMetric(descRetainedOverdue, prometheus.GaugeValue, float64(overdue))
}
