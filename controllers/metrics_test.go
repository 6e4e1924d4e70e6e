package controllers

import (
	"fmt"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	create(t, &v1alpha1.LicencePool{ObjectMeta: metav1.ObjectMeta{Name: "metrics-sign-2026"},
		Spec: v1alpha1.LicencePoolSpec{Application: "metrics-sign", Seats: 10}})
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
		for metric, want := range map[string]float64{"mutualis_licence_pool_seats": 10, "mutualis_licence_pool_seats_granted": 4, "mutualis_licence_pool_seats_available": 6} {
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
