package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/incident"
	"github.com/crtpl/mutualis/controllers/status"
)

// AnnotationRestoreDrillNow asks for one restore drill per new value, whatever the policy's
// period (and even when scheduled drills are disabled).
const AnnotationRestoreDrillNow = "mutualis.crtpl.be/restore-drill-now"

// restoreDrills counts the drills that ended, by result.
var restoreDrills = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mutualis_restore_drills_total",
	Help: "Restore drills that ended, by tenant kind and result (Passed, Failed).",
}, []string{"kind", "result"})

func init() { metrics.Registry.MustRegister(restoreDrills) }

// DrillSlots bounds how many drills run at once across the cell, for both kinds of tenant, and
// gives the free slots to the tenants that have waited longest. A slot is a scratch namespace that
// exists (the cache's word, which survives a restart of the operator) or one this process just
// created and the cache may not show yet. A waiting tenant is woken when a scratch namespace goes
// (drillWaiters), so that hundreds of tenants due together, as on the day drills are switched on,
// wait without polling.
type DrillSlots struct {
	mu       sync.Mutex
	starting map[string]time.Time
	queue    []drillWaiter
}

// drillWaiter is a tenant whose drill is due and waits for a slot; seen is when it last asked.
type drillWaiter struct {
	kind v1alpha1.TenantKind
	name string
	seen time.Time
}

// waiterForgotten is how long a waiter that stopped asking (its tenant deleted, its drill no longer
// due) keeps its place: longer than the safety requeue of a waiting tenant.
const waiterForgotten = 15 * time.Minute

// take gives a tenant's drill a slot when one is free and no tenant waited longer for it; it says
// how many drills run and, when the tenant must wait, its place in the queue.
func (d *DrillSlots) take(ctx context.Context, c client.Reader, kind v1alpha1.TenantKind, name, tenantNamespace string, limit int, now time.Time) (ok bool, busy, place int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	scratch := &corev1.NamespaceList{}
	if err := c.List(ctx, scratch, client.HasLabels{v1alpha1.LabelRestoreDrill}); err != nil {
		return false, 0, 0, err
	}
	running := map[string]bool{}
	for _, ns := range scratch.Items {
		running[ns.Name] = true
	}
	if d.starting == nil {
		d.starting = map[string]time.Time{}
	}
	for ns, at := range d.starting {
		if running[ns] || now.Sub(at) > time.Minute {
			delete(d.starting, ns) // the cache shows it now, and will show it go
			continue
		}
		running[ns] = true
	}
	kept := d.queue[:0]
	place = -1
	for _, w := range d.queue {
		if now.Sub(w.seen) > waiterForgotten {
			continue
		}
		if w.kind == kind && w.name == name {
			w.seen, place = now, len(kept)
		}
		kept = append(kept, w)
	}
	d.queue = kept
	if place < 0 {
		d.queue = append(d.queue, drillWaiter{kind: kind, name: name, seen: now})
		place = len(d.queue) - 1
	}
	if place >= limit-len(running) {
		return false, len(running), place + 1, nil
	}
	d.queue = append(d.queue[:place], d.queue[place+1:]...)
	d.starting[backup.ScratchNamespaceName(tenantNamespace)] = now
	return true, len(running) + 1, 0, nil
}

// waiters are the first n tenants of a kind waiting for a slot, in their order.
func (d *DrillSlots) waiters(kind v1alpha1.TenantKind, n int) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, w := range d.queue {
		if len(out) == n {
			break
		}
		if w.kind == kind {
			out = append(out, w.name)
		}
	}
	return out
}

func (r *TenantReconciler) drillSlots() *DrillSlots {
	r.drillOnce.Do(func() {
		if r.Drills == nil {
			r.Drills = &DrillSlots{}
		}
	})
	return r.Drills
}

// reconcileRestoreDrill runs the tenant's restore drills, one reconcile at a time: it records the
// outcome of a drill whose restore ended, then deletes its scratch namespace, then begins the next
// drill when one is due and a slot is free. RestoreVerified reports it and never changes Ready.
func (r *TenantReconciler) reconcileRestoreDrill(ctx context.Context, s *scope) error {
	t := s.tenant
	ns := t.TenantNamespace()
	settings := backup.EffectiveSettings(t.TenantSpec().Backup, s.policy)
	drills := backup.EffectiveDrills(s.policy.Backup.RestoreDrills)
	now := time.Now()
	if s.Backup == nil || settings.Disabled {
		s.RestoreVerified = status.Condition(v1alpha1.ConditionRestoreVerified, metav1.ConditionUnknown, v1alpha1.ReasonRestoreDrillsOff,
			"this tenant has no backups to drill (see BackupReady)")
		return r.dropScratch(ctx, ns)
	}
	last := s.Backup.LastRestoreDrill

	restores := &unstructured.UnstructuredList{}
	restores.SetGroupVersionKind(backup.RestoreGVK.GroupVersion().WithKind("RestoreList"))
	if err := r.List(ctx, restores, client.InNamespace(settings.VeleroNamespace), client.MatchingLabels{v1alpha1.LabelRestoreDrill: ns}); err != nil {
		return err
	}
	current := newest(restores.Items)

	// 1. a drill whose outcome is not recorded yet: wait for its restore, then judge it
	if current != nil && (last == nil || last.Restore != current.GetName()) {
		return r.judgeDrill(ctx, s, current, drills, now)
	}
	// 2. the scratch namespace of a recorded drill goes before anything else begins
	scratch := &corev1.Namespace{}
	switch err := r.Get(ctx, client.ObjectKey{Name: backup.ScratchNamespaceName(ns)}, scratch); {
	case err == nil:
		if scratch.DeletionTimestamp.IsZero() {
			if err := r.Delete(ctx, scratch); client.IgnoreNotFound(err) != nil {
				return err
			}
			r.event(t, corev1.EventTypeNormal, v1alpha1.ReasonRestoreDrillCleaned, "RestoreDrill", "deleted the scratch namespace %s of restore drill %s", scratch.Name, lastRestore(last))
		}
		s.RestoreVerified = drillCondition(last, "")
		// woken when the namespace is gone; this is the safety net
		s.requeueAfter(30 * time.Second)
		return nil
	case !apierrors.IsNotFound(err):
		return err
	}
	// 3. the next drill, when due and a slot is free
	token := t.GetAnnotations()[AnnotationRestoreDrillNow]
	due, next := backup.DrillDue(backup.DueInput{Namespace: ns, TenantCreated: t.GetCreationTimestamp().Time,
		Settings: drills, Last: last, Token: token, Now: now})
	if !due {
		s.RestoreVerified = drillCondition(last, nextDrill(next))
		if !next.IsZero() {
			s.requeueAfter(min(next.Sub(now), time.Hour))
		}
		return nil
	}
	latest, _ := backup.LatestCompleted(s.backups)
	if latest == nil {
		s.RestoreVerified = drillCondition(last, "the drill waits for this tenant's first completed backup")
		return nil
	}
	ok, busy, place, err := r.drillSlots().take(ctx, r.Client, r.Kind, t.GetName(), ns, drills.Concurrency, now)
	if err != nil {
		return err
	}
	if !ok {
		s.RestoreVerified = running(last, fmt.Sprintf("a drill is due and waits for a slot, number %d in the queue: %d drills run, the policy's restoreDrills.concurrency", place, busy))
		// woken when a scratch namespace goes; this is the safety net
		s.requeueAfter(10 * time.Minute)
		return nil
	}
	return r.beginDrill(ctx, s, latest.GetName(), token, restores.Items, settings.VeleroNamespace, now)
}

// beginDrill writes the scratch namespace with its own quota and deny-all network policy, then
// the Restore into it; older drill Restores of the tenant go, the last one stays for describe.
func (r *TenantReconciler) beginDrill(ctx context.Context, s *scope, backupName, token string, older []unstructured.Unstructured, veleroNamespace string, now time.Time) error {
	t := s.tenant
	ns := t.TenantNamespace()
	var tenantHard corev1.ResourceList
	if s.res != nil {
		tenantHard = s.res.Quota
	}
	for _, step := range []struct {
		desired runtime.ApplyConfiguration
		live    client.Object
	}{
		{backup.ScratchNamespace(ns), &corev1.Namespace{}},
		{backup.ScratchQuota(ns, tenantHard), &corev1.ResourceQuota{}},
		{backup.ScratchNetworkPolicy(ns), &networkingv1.NetworkPolicy{}},
	} {
		if _, err := apply.Typed(ctx, r.Client, step.desired, step.live); err != nil {
			return fmt.Errorf("restore drill: %w", err)
		}
	}
	if _, err := apply.Typed(ctx, r.Client, backup.DrillModifiers(veleroNamespace), &corev1.ConfigMap{}); err != nil {
		return fmt.Errorf("restore drill: the resource modifiers in %s: %w", veleroNamespace, err)
	}
	name := backup.DrillRestoreName(ns, now)
	restore := backup.DrillRestore(name, ns, backupName, veleroNamespace)
	if token != "" {
		restore.SetAnnotations(map[string]string{AnnotationRestoreDrillNow: token})
	}
	if err := r.Create(ctx, restore, client.FieldOwner(v1alpha1.FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("restore drill: creating Velero Restore %s/%s: %w", veleroNamespace, name, err)
	}
	for i := range older {
		if err := r.Delete(ctx, &older[i]); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	r.event(t, corev1.EventTypeNormal, v1alpha1.ReasonRestoreDrillStarted, "RestoreDrill",
		"restoring backup %s into scratch namespace %s (Velero Restore %s/%s)", backupName, backup.ScratchNamespaceName(ns), veleroNamespace, name)
	s.RestoreVerified = running(s.Backup.LastRestoreDrill, fmt.Sprintf("drill %s restores backup %s into %s", name, backupName, backup.ScratchNamespaceName(ns)))
	s.requeueAfter(10 * time.Second)
	return nil
}

// judgeDrill records the outcome of a drill once its restore ended or ran past the policy's
// timeout. The scratch namespace is deleted by the next reconcile, once the outcome is written: a
// record lost with a failed status write is judged again on the same objects.
func (r *TenantReconciler) judgeDrill(ctx context.Context, s *scope, current *unstructured.Unstructured, drills backup.DrillSettings, now time.Time) error {
	t := s.tenant
	ns := t.TenantNamespace()
	state := backup.ReadRestore(current)
	started := current.GetCreationTimestamp().Time
	backupName, _, _ := unstructured.NestedString(current.Object, "spec", "backupName")
	if !state.Done && now.Sub(started) < drills.Timeout {
		s.RestoreVerified = running(s.Backup.LastRestoreDrill, fmt.Sprintf("drill %s restores backup %s into %s (Velero phase %q)", current.GetName(), backupName, backup.ScratchNamespaceName(ns), state.Phase))
		s.requeueAfter(10 * time.Second)
		return nil
	}
	var verdict backup.Verdict
	if !state.Done {
		verdict.Message = fmt.Sprintf("Velero's restore %s did not end within the policy's restoreDrills.timeout of %s (phase %q): check that Velero runs (velero restore describe %s)",
			current.GetName(), drills.Timeout, state.Phase, current.GetName())
	} else {
		var backupStarted time.Time
		for i := range s.backups {
			if phase, _, _ := backup.Phase(&s.backups[i]); s.backups[i].GetName() == backupName && phase == backup.PhaseCompleted {
				backupStarted = backup.Started(&s.backups[i])
			}
		}
		if backupStarted.IsZero() {
			verdict.Message = fmt.Sprintf("the backup %s that drill %s restored is gone or not Completed, so what it held cannot be checked", backupName, current.GetName())
		} else {
			held, err := r.dataObjects(ctx, ns)
			if err != nil {
				return err
			}
			restored, err := r.dataObjects(ctx, backup.ScratchNamespaceName(ns))
			if err != nil {
				return err
			}
			verdict = backup.Verify(state, current.GetName(), backupName, backupStarted, held, restored)
		}
	}
	record := &v1alpha1.RestoreDrillStatus{
		Restore: current.GetName(), Backup: backupName, Token: current.GetAnnotations()[AnnotationRestoreDrillNow],
		StartTime: metav1.NewTime(started.UTC()), CompletionTime: metav1.NewTime(now.UTC().Truncate(time.Second)),
		Result: v1alpha1.RestoreDrillFailed, Message: verdict.Message, Objects: int32(verdict.Checked),
	}
	if verdict.Passed {
		record.Result = v1alpha1.RestoreDrillPassed
		s.Backup.LastVerifiedRestore = &record.CompletionTime
		r.event(t, corev1.EventTypeNormal, v1alpha1.ReasonRestoreDrillPassed, "RestoreDrill", "%s", verdict.Message)
	} else {
		r.event(t, corev1.EventTypeWarning, v1alpha1.ReasonRestoreDrillFailed, "RestoreDrill", "%s", verdict.Message)
		r.incident(ctx, t, incident.RestoreDrillFailed, fmt.Sprintf("restore drill %s of backup %s failed: %s", current.GetName(), backupName, verdict.Message))
	}
	s.Backup.LastRestoreDrill = record
	restoreDrills.WithLabelValues(r.Kind.Kind(), string(record.Result)).Inc()
	s.RestoreVerified = drillCondition(record, "")
	s.requeueAfter(time.Second)
	return nil
}

// dataObjects lists the ConfigMaps, Secrets and PersistentVolumeClaims of a namespace by their
// metadata, from the API server: the operator caches none of a tenant's own.
func (r *TenantReconciler) dataObjects(ctx context.Context, namespace string) ([]backup.DataObject, error) {
	var out []backup.DataObject
	for _, kind := range []string{"ConfigMap", "Secret", "PersistentVolumeClaim"} {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind + "List"))
		if err := r.APIReader.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, fmt.Errorf("restore drill: listing the %ss of %s: %w", kind, namespace, err)
		}
		for _, o := range list.Items {
			out = append(out, backup.DataObject{Kind: kind, Name: o.Name, Created: o.CreationTimestamp.Time, Labels: o.Labels, Annotations: o.Annotations})
		}
	}
	return out, nil
}

// dropScratch deletes a tenant's scratch namespace, if there is one: a tenant deleted, or whose
// backups were switched off, in the middle of a drill.
func (r *TenantReconciler) dropScratch(ctx context.Context, tenantNamespace string) error {
	scratch := &corev1.Namespace{}
	scratch.SetName(backup.ScratchNamespaceName(tenantNamespace))
	if err := r.Get(ctx, client.ObjectKeyFromObject(scratch), scratch); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !scratch.DeletionTimestamp.IsZero() {
		return nil
	}
	return client.IgnoreNotFound(r.Delete(ctx, scratch))
}

// drillCondition is RestoreVerified from the latest recorded drill; note adds when the next is due.
func drillCondition(last *v1alpha1.RestoreDrillStatus, note string) *metav1.Condition {
	const cond = v1alpha1.ConditionRestoreVerified
	suffix := ""
	if note != "" {
		suffix = "; " + note
	}
	switch {
	case last == nil:
		return status.Condition(cond, metav1.ConditionUnknown, v1alpha1.ReasonRestoreDrillPending, "no restore drill has run yet%s", suffix)
	case last.Result == v1alpha1.RestoreDrillPassed:
		return status.Condition(cond, metav1.ConditionTrue, v1alpha1.ReasonRestoreDrillPassed, "%s (drill %s)%s", last.Message, last.Restore, suffix)
	}
	return status.Condition(cond, metav1.ConditionFalse, v1alpha1.ReasonRestoreDrillFailed, "%s (drill %s)%s", last.Message, last.Restore, suffix)
}

// running is RestoreVerified while a drill runs or waits: the last drill's verdict stands, with
// the reason saying that another is under way.
func running(last *v1alpha1.RestoreDrillStatus, msg string) *metav1.Condition {
	c := drillCondition(last, "")
	c.Reason = v1alpha1.ReasonRestoreDrillRunning
	if last != nil {
		msg += fmt.Sprintf("; the last drill %s %s at %s", last.Restore, last.Result, last.CompletionTime.UTC().Format(time.RFC3339))
	}
	c.Message = msg
	return c
}

func nextDrill(next time.Time) string {
	if next.IsZero() {
		return "scheduled drills are disabled by the policy; annotate the tenant with " + AnnotationRestoreDrillNow + " to run one"
	}
	return "the next drill is due at " + next.UTC().Format(time.RFC3339)
}

func lastRestore(last *v1alpha1.RestoreDrillStatus) string {
	if last == nil {
		return "(not recorded)"
	}
	return last.Restore
}

// newest is the most recently created object of a list, nil when it is empty.
func newest(items []unstructured.Unstructured) *unstructured.Unstructured {
	if len(items) == 0 {
		return nil
	}
	return &backup.ByCreation(items)[len(items)-1]
}
