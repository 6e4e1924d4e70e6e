package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/incident"
)

// Annotations that drive backups.
const (
	// AnnotationBackupNow requests one Backup per new value.
	AnnotationBackupNow = "mutualis.crtpl.be/backup-now"
	// AnnotationSkipFinalBackup set to "true" deletes a Delete tenant's namespace without the final
	// backup: the explicit, logged way out when Velero cannot take it.
	AnnotationSkipFinalBackup = "mutualis.crtpl.be/skip-final-backup"
)

// veleroInstalled asks the API server whether Velero's CRDs are there. The answer can change
// while the operator runs; the REST mapper looks again when a group is unknown.
func (r *TenantReconciler) veleroInstalled() (bool, error) {
	_, err := r.RESTMapper().RESTMapping(backup.ScheduleGVK.GroupKind(), backup.ScheduleGVK.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	return err == nil, err
}

// watchVelero starts watching Schedules and Backups once Velero is there: a watch on a kind that
// does not exist would keep the controller from starting. A kind counts as watched only once its
// watch was added, so a failure is tried again at the next reconcile, and no kind is watched twice.
func (r *TenantReconciler) watchVelero() error {
	r.veleroMu.Lock()
	defer r.veleroMu.Unlock()
	if r.controller == nil || r.cache == nil {
		return nil
	}
	if r.veleroWatched == nil {
		r.veleroWatched = map[string]bool{}
	}
	for _, kind := range []string{backup.ScheduleGVK.Kind, backup.BackupGVK.Kind, backup.RestoreGVK.Kind} {
		if r.veleroWatched[kind] {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(backup.ScheduleGVK.GroupVersion().WithKind(kind))
		if err := r.controller.Watch(source.Kind[client.Object](r.cache, u, handler.EnqueueRequestsFromMapFunc(r.tenantOfManagedObject))); err != nil {
			return fmt.Errorf("watching Velero %ss: %w", kind, err)
		}
		r.veleroWatched[kind] = true
	}
	return nil
}

// reconcileBackup keeps the tenant's Velero Schedule, takes on-demand backups and reads the
// tenant's backup status. Without Velero, BackupReady says so and the rest of the tenant works.
func (r *TenantReconciler) reconcileBackup(ctx context.Context, s *scope) error {
	const part = v1alpha1.ConditionBackupReady
	installed, err := r.veleroInstalled()
	if err != nil {
		return err
	}
	if !installed {
		s.Observe(part, false, v1alpha1.ReasonVeleroNotInstalled,
			"Velero's CRDs are not installed, so this tenant has no backups: install Velero; the rest of the tenant works")
		s.requeueAfter(time.Minute) // nothing else tells mutualis that Velero arrived
		return nil
	}
	if err := r.watchVelero(); err != nil {
		return err
	}
	t := s.tenant
	settings := backup.EffectiveSettings(t.TenantSpec().Backup, s.policy)
	schedule := backup.Schedule(t.TenantNamespace(), settings)
	if settings.Disabled {
		if err := r.deleteSchedule(ctx, t.TenantNamespace(), settings); err != nil {
			return err
		}
	} else {
		change, err := apply.Object(ctx, r.Client, nil, schedule)
		if err != nil {
			// an error of the API server: the condition says so and the reconcile is retried with
			// backoff, not in a minute
			return s.Failed(part, fmt.Errorf("the Velero Schedule %s/%s cannot be written: %w", settings.VeleroNamespace, schedule.GetName(), err))
		}
		s.changes.Add(change)
	}

	if token := t.GetAnnotations()[AnnotationBackupNow]; token != "" {
		name := backup.OnDemandBackupName(t.TenantNamespace(), token)
		created, err := r.ensureBackup(ctx, backup.Backup(name, t.TenantNamespace(), settings))
		if err != nil {
			return err
		}
		if created {
			r.event(t, corev1.EventTypeNormal, v1alpha1.ReasonBackupRequested, "Backup", "backup %s/%s requested by %s=%s", settings.VeleroNamespace, name, AnnotationBackupNow, token)
		}
	}

	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(backup.BackupGVK.GroupVersion().WithKind("BackupList"))
	if err := r.List(ctx, list, client.InNamespace(settings.VeleroNamespace), client.MatchingLabels{v1alpha1.LabelTenant: t.TenantNamespace()}); err != nil {
		return err
	}
	interval, err := backup.Interval(settings.Schedule, time.Now())
	if err != nil {
		s.Stall(part, v1alpha1.ReasonInvalidSchedule, "%v: fix spec.backup.schedule", err)
		return nil
	}
	obs := backup.Observe(list.Items, interval, t.GetCreationTimestamp().Time, time.Now())
	if old := t.TenantStatus().Backup; old != nil {
		// the restore drills' record is the drill step's, kept from one reconcile to the next
		obs.Status.LastVerifiedRestore, obs.Status.LastRestoreDrill = old.LastVerifiedRestore, old.LastRestoreDrill
	}
	s.Backup = &obs.Status
	s.backups = list.Items
	switch {
	case settings.Disabled:
		s.Observe(part, true, v1alpha1.ReasonBackupsDisabled, "spec.backup.disabled is true: this tenant has no scheduled backups")
	case obs.Ready:
		s.Observe(part, true, obs.Reason, "%s", obs.Message)
	default:
		s.Observe(part, false, obs.Reason, "%s", obs.Message)
	}
	// time alone can make the backups stale
	s.requeueAfter(min(interval, time.Hour))
	return nil
}

// ensureBackup creates a Backup unless it exists; a Backup is created once and never changed.
func (r *TenantReconciler) ensureBackup(ctx context.Context, b *unstructured.Unstructured) (bool, error) {
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(backup.BackupGVK)
	switch err := r.Get(ctx, client.ObjectKeyFromObject(b), existing); {
	case err == nil:
		return false, nil
	case !apierrors.IsNotFound(err):
		return false, err
	}
	if err := r.Create(ctx, b, client.FieldOwner(v1alpha1.FieldOwner)); err != nil && !apierrors.IsAlreadyExists(err) {
		return false, err
	}
	return true, nil
}

func (r *TenantReconciler) deleteSchedule(ctx context.Context, tenantNamespace string, settings backup.Settings) error {
	if installed, err := r.veleroInstalled(); err != nil || !installed {
		return err
	}
	schedule := &unstructured.Unstructured{}
	schedule.SetGroupVersionKind(backup.ScheduleGVK)
	schedule.SetNamespace(settings.VeleroNamespace)
	schedule.SetName(backup.ScheduleName(tenantNamespace))
	return client.IgnoreNotFound(r.Delete(ctx, schedule))
}

// finalBackup takes the Backup that must complete before a Delete tenant's namespace goes. It
// reports done once the namespace may be deleted; otherwise the scope says why not.
func (r *TenantReconciler) finalBackup(ctx context.Context, s *scope, settings backup.Settings) (bool, error) {
	t := s.tenant
	log := ctrl.LoggerFrom(ctx)
	if settings.Disabled {
		log.Info("no final backup: backups are disabled for this tenant", "namespace", t.TenantNamespace())
		return true, nil
	}
	if t.GetAnnotations()[AnnotationSkipFinalBackup] == "true" {
		log.Info("deleting without a final backup, as annotated", "namespace", t.TenantNamespace(), "annotation", AnnotationSkipFinalBackup)
		r.event(t, corev1.EventTypeWarning, v1alpha1.ReasonFinalBackupSkipped, "Delete", "namespace %s is deleted without a final backup (%s=true)", t.TenantNamespace(), AnnotationSkipFinalBackup)
		return true, nil
	}
	installed, err := r.veleroInstalled()
	if err != nil {
		return false, err
	}
	wayOut := fmt.Sprintf("set spec.deletionPolicy to Retain to keep the namespace, or annotate %s=true to delete it without a backup; the namespace is intact", AnnotationSkipFinalBackup)
	if !installed {
		s.Stall(v1alpha1.ConditionBackupReady, v1alpha1.ReasonVeleroNotInstalled, "the final backup cannot be taken because Velero is not installed: install Velero, or %s", wayOut)
		return false, nil
	}
	desired := backup.FinalBackup(t.TenantNamespace(), t.GetUID(), settings)
	name := desired.GetName()
	if _, err := r.ensureBackup(ctx, desired); err != nil {
		return false, err
	}
	final := &unstructured.Unstructured{}
	final.SetGroupVersionKind(backup.BackupGVK)
	if err := r.Get(ctx, client.ObjectKey{Namespace: settings.VeleroNamespace, Name: name}, final); err != nil {
		if apierrors.IsNotFound(err) {
			s.Wait(v1alpha1.ConditionBackupReady, v1alpha1.ReasonFinalBackupInProgress, "waiting for the final backup %s/%s", settings.VeleroNamespace, name)
			s.requeueAfter(5 * time.Second)
			return false, nil
		}
		return false, err
	}
	if counts, why := backup.FinalBackupCounts(final, t.GetUID(), t.GetDeletionTimestamp().Time); !counts {
		s.Stall(v1alpha1.ConditionBackupReady, v1alpha1.ReasonFinalBackupForeign,
			"%s, so it says nothing of the data in namespace %s: delete that Backup so that mutualis takes the final backup again, or %s", why, t.TenantNamespace(), wayOut)
		return false, nil
	}
	phase, failed, reason := backup.Phase(final)
	switch {
	case phase == backup.PhaseCompleted:
		return true, nil
	case failed:
		if c := meta.FindStatusCondition(t.TenantStatus().Conditions, v1alpha1.ConditionBackupReady); c == nil || c.Reason != v1alpha1.ReasonFinalBackupFailed {
			r.incident(ctx, t, incident.FinalBackupFailed, fmt.Sprintf("the final backup %s/%s of namespace %s ended %s (%s); the namespace is kept until it is taken",
				settings.VeleroNamespace, name, t.TenantNamespace(), phase, orNoReason(reason)))
		}
		s.Stall(v1alpha1.ConditionBackupReady, v1alpha1.ReasonFinalBackupFailed,
			"the final backup %s/%s ended %s (%s): fix Velero and delete that Backup to take it again, or %s", settings.VeleroNamespace, name, phase, orNoReason(reason), wayOut)
		return false, nil
	default:
		s.Wait(v1alpha1.ConditionBackupReady, v1alpha1.ReasonFinalBackupInProgress, "waiting for the final backup %s/%s (phase %s) before deleting namespace %s",
			settings.VeleroNamespace, name, orNoReason(phase), t.TenantNamespace())
		s.requeueAfter(10 * time.Second)
		return false, nil
	}
}

func orNoReason(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}
