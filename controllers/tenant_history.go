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

// HistoryConfigMap is the ConfigMap of a tenant's namespace that holds its record of service
// (history.History, as JSON under HistoryKey), which kubectl mutualis report service renders. It
// is named mutualis-*: the admission policy lets only the cell write it. It carries no
// managed-by label, so that the operator's cache, which holds only labelled objects, does not
// hold thousands of them: the operator keeps the record it last wrote in memory, and reads it
// from the API server once per tenant after a restart.
const (
	HistoryConfigMap = history.ConfigMapName
	HistoryKey       = history.Key
)

// recordHistory folds what this reconcile saw into the tenant's record of service, and writes it
// when it changed: a few times a day for a tenant that runs quietly (its backups, its audits, a
// new day). It runs once the status is computed, for a tenant whose namespace exists.
func (r *TenantReconciler) recordHistory(ctx context.Context, s *scope) error {
	t := s.tenant
	if s.released || !t.GetDeletionTimestamp().IsZero() || !s.PartReady(v1alpha1.ConditionNamespaceReady) {
		return nil
	}
	h, err := r.loadHistory(ctx, t)
	if err != nil {
		return err
	}
	before, err := json.Marshal(h)
	if err != nil {
		return err
	}
	h.Observe(observationOf(s, time.Now()))
	after, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if string(before) == string(after) {
		return nil
	}
	cm := corev1ac.ConfigMap(HistoryConfigMap, t.TenantNamespace()).
		WithLabels(map[string]string{v1alpha1.LabelTenant: t.TenantNamespace()}).
		WithData(map[string]string{HistoryKey: string(after)})
	if err := r.Apply(ctx, cm, apply.Options...); err != nil {
		return fmt.Errorf("writing the record of service %s/%s: %w", t.TenantNamespace(), HistoryConfigMap, err)
	}
	r.histories.Store(t.GetUID(), h)
	return nil
}

// loadHistory is the record this process wrote last, or the one in the namespace.
func (r *TenantReconciler) loadHistory(ctx context.Context, t v1alpha1.Tenant) (history.History, error) {
	if h, ok := r.histories.Load(t.GetUID()); ok {
		return cloneHistory(h.(history.History))
	}
	cm := &corev1.ConfigMap{}
	switch err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.TenantNamespace(), Name: HistoryConfigMap}, cm); {
	case apierrors.IsNotFound(err):
		return history.History{}, nil
	case err != nil:
		return history.History{}, err
	}
	var h history.History
	if err := json.Unmarshal([]byte(cm.Data[HistoryKey]), &h); err != nil {
		// a record the cell can no longer read starts again rather than stops the tenant
		return history.History{}, nil
	}
	return h, nil
}

// cloneHistory copies a record, so that the one in memory changes only once written.
func cloneHistory(h history.History) (history.History, error) {
	data, err := json.Marshal(h)
	if err != nil {
		return h, err
	}
	var out history.History
	return out, json.Unmarshal(data, &out)
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
