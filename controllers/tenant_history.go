package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/history"
)

// The record of service lives in the ConfigMap history.ConfigMapName of the tenant's namespace
// (history.History as JSON under history.Key), which kubectl mutualis report service renders. It
// is named mutualis-*: the admission policy lets only the cell write it. It carries no
// managed-by label, so that the operator's cache, which holds only labelled objects, does not
// hold thousands of them: the operator keeps the JSON it last wrote of each tenant in memory, and
// reads it from the API server once per tenant after a restart.

// recordHistory folds what this reconcile saw into the tenant's record of service, and writes it
// when it changed: a few times a day for a tenant that runs quietly (its backups, its audits, a
// new day). It runs once the status is computed, for a tenant whose namespace exists.
func (r *TenantReconciler) recordHistory(ctx context.Context, s *scope) error {
	t := s.tenant
	if s.released || !t.GetDeletionTimestamp().IsZero() || !s.PartReady(v1alpha1.ConditionNamespaceReady) {
		return nil
	}
	before, err := r.lastHistory(ctx, t)
	if err != nil {
		return err
	}
	var h history.History
	if len(before) > 0 && json.Unmarshal(before, &h) != nil {
		h = history.History{} // a record the cell can no longer read starts again rather than stops the tenant
	}
	h.Observe(observationOf(s, time.Now()))
	after, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if string(before) == string(after) {
		return nil
	}
	cm := corev1ac.ConfigMap(history.ConfigMapName, t.TenantNamespace()).
		WithLabels(map[string]string{v1alpha1.LabelTenant: t.TenantNamespace()}).
		WithData(map[string]string{history.Key: string(after)})
	if err := r.Apply(ctx, cm, apply.Options...); err != nil {
		return fmt.Errorf("writing the record of service %s/%s: %w", t.TenantNamespace(), history.ConfigMapName, err)
	}
	r.histories.Store(t.GetUID(), after)
	return nil
}

// lastHistory is the JSON of the record this process wrote last, or of the one in the namespace
// (empty when there is none).
func (r *TenantReconciler) lastHistory(ctx context.Context, t v1alpha1.Tenant) ([]byte, error) {
	if last, ok := r.histories.Load(t.GetUID()); ok {
		return last.([]byte), nil
	}
	cm := &corev1.ConfigMap{}
	switch err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.TenantNamespace(), Name: history.ConfigMapName}, cm); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return []byte(cm.Data[history.Key]), nil
}

// observationOf is what the record keeps of this reconcile.
func observationOf(s *scope, now time.Time) history.Observation {
	st := s.tenant.TenantStatus()
	o := history.Observation{Now: now, Ready: true, Applications: len(st.Applications)}
	if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady); c != nil {
		o.Ready, o.ReadyReason, o.ReadySince = c.Status == "True", c.Reason, c.LastTransitionTime.Time
	}
	for _, l := range st.Licences {
		o.Seats += int(l.Granted)
	}
	for i := range s.backups {
		phase, failed, _ := backup.Phase(&s.backups[i])
		if phase != backup.PhaseCompleted && !failed {
			continue
		}
		ended, _, _ := unstructured.NestedString(s.backups[i].Object, "status", "completionTimestamp")
		at, err := time.Parse(time.RFC3339, ended)
		if err != nil {
			at = s.backups[i].GetCreationTimestamp().Time
		}
		o.Backups = append(o.Backups, history.Backup{Ended: at, Failed: failed})
	}
	if st.Backup != nil && st.Backup.LastRestoreDrill != nil {
		d := st.Backup.LastRestoreDrill
		o.Drill = &history.Drill{Restore: d.Restore, Ended: d.CompletionTime.Time, Passed: d.Result == v1alpha1.RestoreDrillPassed}
	}
	if s.findings != nil {
		o.Findings = s.findings
		if a := s.Audit; a != nil {
			o.High, o.Medium, o.Low = int(a.High), int(a.Medium), int(a.Low)
		}
	}
	return o
}
