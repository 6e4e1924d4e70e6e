package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/history"
)

// todayOf reads today's point of a tenant's record of service.
func todayOf(namespace string) (history.Day, *corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: history.ConfigMapName}, cm); err != nil {
		return history.Day{}, nil, err
	}
	var h history.History
	if err := json.Unmarshal([]byte(cm.Data[history.Key]), &h); err != nil {
		return history.Day{}, nil, err
	}
	for _, d := range h.Days {
		if d.Date == history.DateOf(time.Now()) {
			return d, cm, nil
		}
	}
	return history.Day{}, cm, fmt.Errorf("no point for today in %s", cm.Data[history.Key])
}

// The operator keeps each tenant's record of service in its namespace: the backups Velero
// completed, the time not Ready and why. The tenant's people read it; a hostile tenant admin can
// neither change nor delete it.
func TestTheRecordOfServiceFollowsTheTenant(t *testing.T) {
	ctx := context.Background()
	c := newCommune("aiseau-presles", "52074", func(c *v1alpha1.Commune) { c.Spec.Admins = itAdmins("aiseau") })
	create(t, c)
	t.Cleanup(func() { _ = k8s.Delete(ctx, c) })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	withCompletedBackup(t, c)
	ns := c.TenantNamespace()
	eventually(t, wait, func() error {
		d, _, err := todayOf(ns)
		if err == nil && d.BackupsCompleted != 1 {
			err = fmt.Errorf("today's point %+v; want one backup completed", d)
		}
		return err
	})

	// a subscription to an application that does not exist: not Ready a while, then Ready again
	patch(t, c, func() { c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "no-such-application"}} })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationMissing))
	time.Sleep(2 * time.Second)
	patch(t, c, func() { c.Spec.Applications = nil })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	eventually(t, wait, func() error {
		d, _, err := todayOf(ns)
		if err == nil && d.NotReady[v1alpha1.ReasonApplicationMissing] < 1 {
			err = fmt.Errorf("today's time not Ready %v; want some for %s", d.NotReady, v1alpha1.ReasonApplicationMissing)
		}
		return err
	})

	admin := asUser(t, "it@aiseau.be", "aiseau-it")
	got := &corev1.ConfigMap{}
	accepted(t, admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: history.ConfigMapName}, got))
	got.Data[history.Key] = `{"days":[]}`
	refused(t, admin.Update(ctx, got, client.DryRunAll), "belong to the cell")
	refused(t, admin.Delete(ctx, got, client.DryRunAll), "belong to the cell")
	accepted(t, admin.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "agenda", Namespace: ns}}, client.DryRunAll))
}
