package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
)

// metricValue is the value of the series of a family whose labels include want; an error says
// what the endpoint has instead.
func metricValue(family string, want map[string]string) (float64, error) {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return 0, err
	}
	var seen []string
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					seen = append(seen, fmt.Sprint(labels))
					continue series
				}
			}
			return value(m), nil
		}
	}
	return 0, fmt.Errorf("no %s%v among %d series: %s", family, want, len(seen), strings.Join(seen[:min(5, len(seen))], " "))
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}

func metricAtLeast(family string, labels map[string]string, least float64) func() error {
	return func() error {
		v, err := metricValue(family, labels)
		if err != nil {
			return err
		}
		if v < least {
			return fmt.Errorf("%s%v = %v, want at least %v", family, labels, v, least)
		}
		return nil
	}
}

// The metrics endpoint shows what a platform engineer alerts on: tenants by condition, a stalled
// tenant with its reason, subscriptions ready per application, a pool's seats, the time of a
// tenant's last good backup, and the applier's writes by kind.
func TestMetricsShowTheCellsState(t *testing.T) {
	create(t, officeApp("metrics-sign"))
	validUntil := metav1.NewTime(time.Date(2027, 12, 31, 23, 59, 59, 0, time.UTC))
	create(t, &v1alpha1.LicencePool{ObjectMeta: metav1.ObjectMeta{Name: "metrics-sign-2026"},
		Spec: v1alpha1.LicencePoolSpec{Application: "metrics-sign", Seats: 10, ValidUntil: &validUntil}})
	c := licensedCommune("doische", "93018", "metrics-sign", 4)
	create(t, c)
	markAvailable(t, "commune-doische", "metrics-sign")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	bad := newCommune("metrics-brussels", "21001")
	create(t, bad)
	eventually(t, wait, conditionIs(bad, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonUnknownNIS))

	eventually(t, wait, metricAtLeast("mutualis_tenants", map[string]string{"kind": "Commune", "condition": "Ready", "status": "True"}, 1))
	eventually(t, wait, metricAtLeast("mutualis_tenant_stalled", map[string]string{"kind": "Commune", "name": "metrics-brussels", "reason": v1alpha1.ReasonUnknownNIS}, 1))
	eventually(t, wait, metricAtLeast("mutualis_application_subscriptions_ready", map[string]string{"application": "metrics-sign"}, 1))
	eventually(t, wait, func() error {
		for metric, want := range map[string]float64{"mutualis_licence_pool_seats": 10, "mutualis_licence_pool_seats_granted": 4, "mutualis_licence_pool_seats_available": 6,
			"mutualis_licence_pool_valid_until_timestamp_seconds": float64(validUntil.Unix())} {
			v, err := metricValue(metric, map[string]string{"pool": "metrics-sign-2026"})
			if err != nil {
				return err
			}
			if v != want {
				return fmt.Errorf("%s = %v, want %v", metric, v, want)
			}
		}
		return nil
	})
	if err := metricAtLeast("mutualis_changes_total", map[string]string{"kind": "Namespace", "action": "created"}, 1)(); err != nil {
		t.Error(err)
	}
	if err := metricAtLeast("mutualis_changes_total", map[string]string{"kind": "Deployment", "action": "created"}, 1)(); err != nil {
		t.Error(err)
	}
	if _, err := metricValue("mutualis_tenant_last_backup_timestamp_seconds", map[string]string{"name": "doische"}); err == nil {
		t.Error("a tenant without a backup has a time of last backup")
	}

	// a backup that succeeds gives the tenant its time
	patch(t, c, func() { c.Annotations = map[string]string{AnnotationBackupNow: "metrics"} })
	name := backup.OnDemandBackupName("commune-doische", "metrics")
	eventually(t, wait, func() error { _, err := veleroObject("Backup", name); return err })
	playVelero(t, name, backup.PhaseCompleted, "")
	eventually(t, wait, metricAtLeast("mutualis_tenant_last_backup_timestamp_seconds", map[string]string{"kind": "Commune", "name": "doische"}, 1.7e9))
}

// The cell's state is exported by the leader alone, so that with the HA values each series exists
// once and each alert fires once; and at 5,000 tenants of the usual kind (Ready, backed up, a
// restore drill passed, a medium and a low finding) it stays within four series per tenant plus
// a few for the whole cell.
func TestStateMetricsComeFromTheLeaderAtABoundedCardinality(t *testing.T) {
	const tenants = 5000
	scheme := runtime.NewScheme()
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	objects := make([]client.Object, 0, tenants)
	now := metav1.Now()
	for i := range tenants {
		c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("commune-%04d", i)}}
		c.Status.Conditions = []metav1.Condition{
			{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready"},
			{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionFalse, Reason: "Ready"},
		}
		c.Status.Applications = []v1alpha1.ApplicationStatus{{Name: "deliberations", Ready: true}}
		c.Status.Backup = &v1alpha1.BackupStatus{LastSuccessfulTime: &now, LastVerifiedRestore: &now}
		c.Status.Audit = &v1alpha1.AuditSummary{LastEvaluationTime: now, Medium: 1, Low: 2}
		objects = append(objects, c)
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objects...).WithStatusSubresource(&v1alpha1.Commune{}).Build()

	elected := make(chan struct{})
	collector := &stateCollector{c: reader, elected: elected}
	if n := testutil.CollectAndCount(collector); n != 0 {
		t.Errorf("a standby replica exported %d series of the cell's state, want none", n)
	}
	close(elected)
	series := testutil.CollectAndCount(collector)
	perTenant := testutil.CollectAndCount(collector, "mutualis_audit_findings", "mutualis_tenant_last_backup_timestamp_seconds",
		"mutualis_tenant_last_verified_restore_timestamp_seconds", "mutualis_tenant_stalled")
	if perTenant != 4*tenants {
		t.Errorf("%d per-tenant series for %d tenants, want 4 each (two severities with findings, two timestamps)", perTenant, tenants)
	}
	if cellWide := series - perTenant; cellWide > 10 {
		t.Errorf("%d series for the whole cell besides the tenants' own, want a handful", cellWide)
	}
	if n := testutil.CollectAndCount(collector, "mutualis_audit_findings"); n != 2*tenants {
		t.Errorf("%d audit series, want one per severity with findings (%d): none for the severities at zero", n, 2*tenants)
	}
}
