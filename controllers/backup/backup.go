// Package backup builds the Velero objects of a tenant (its Schedule, its on-demand and final
// Backups, the Restores of its restore drills with their scratch namespace) and reads the tenant's
// backup status from Velero's Backup objects. Velero objects are unstructured: mutualis does not
// import Velero's Go packages, only its API shape.
package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Velero's kinds and labels.
var (
	ScheduleGVK = schema.GroupVersionKind{Group: "velero.io", Version: "v1", Kind: "Schedule"}
	BackupGVK   = schema.GroupVersionKind{Group: "velero.io", Version: "v1", Kind: "Backup"}
)

// Velero backup phases that matter here.
const (
	PhaseCompleted = "Completed"
)

// failedPhases end a backup without a usable result.
var failedPhases = map[string]bool{"Failed": true, "PartiallyFailed": true, "FailedValidation": true}

// Settings are a tenant's effective backup settings: its spec over the policy's defaults.
type Settings struct {
	Disabled        bool
	Schedule        string
	Retention       time.Duration
	VeleroNamespace string
	StorageLocation string
}

// EffectiveSettings merges a tenant's backup spec over the policy's defaults.
func EffectiveSettings(spec v1alpha1.BackupSpec, policy v1alpha1.TenancyPolicySpec) Settings {
	s := Settings{
		Disabled:        spec.Disabled,
		Schedule:        string(policy.Backup.Schedule),
		VeleroNamespace: policy.Backup.VeleroNamespace,
		StorageLocation: policy.Backup.StorageLocation,
	}
	if policy.Backup.Retention != nil {
		s.Retention = policy.Backup.Retention.Duration
	}
	if spec.Schedule != "" {
		s.Schedule = string(spec.Schedule)
	}
	if spec.Retention != nil {
		s.Retention = spec.Retention.Duration
	}
	return s
}

// ScheduleName is the name of a tenant's Velero Schedule.
func ScheduleName(tenantNamespace string) string { return "mutualis-" + tenantNamespace }

// LabelTenantUID marks a final Backup with the uid of the tenant it was taken for: a tenant of the
// same name created later is another tenant, and the final backup of the first never counts for it.
const LabelTenantUID = "mutualis.crtpl.be/tenant-uid"

// FinalBackupName is the name of the Backup taken before a Delete tenant's namespace goes. It
// carries the start of the tenant's uid, so that each tenant of a name takes its own.
func FinalBackupName(tenantNamespace string, uid types.UID) string {
	short := strings.ReplaceAll(string(uid), "-", "")
	if len(short) > 12 {
		short = short[:12]
	}
	return "mutualis-" + tenantNamespace + "-final-" + short
}

// FinalBackup is the Backup of a Delete tenant's namespace taken once its deletion began.
func FinalBackup(tenantNamespace string, uid types.UID, s Settings) *unstructured.Unstructured {
	u := Backup(FinalBackupName(tenantNamespace, uid), tenantNamespace, s)
	l := u.GetLabels()
	l[LabelTenantUID] = string(uid)
	u.SetLabels(l)
	return u
}

// FinalBackupCounts says whether a Backup may release a Delete tenant's namespace: it must have
// been taken for this tenant (its uid) after the tenant's deletion began. Anything else (a Backup of
// an earlier tenant of the same name, one written by hand before the deletion) says nothing of the
// data in the namespace now.
func FinalBackupCounts(b *unstructured.Unstructured, uid types.UID, deletionStarted time.Time) (bool, string) {
	if got := b.GetLabels()[LabelTenantUID]; got != string(uid) {
		return false, fmt.Sprintf("Backup %s/%s was not taken for this tenant (label %s=%q, the tenant's uid is %s)", b.GetNamespace(), b.GetName(), LabelTenantUID, got, uid)
	}
	if created := b.GetCreationTimestamp().Time; created.Before(deletionStarted) {
		return false, fmt.Sprintf("Backup %s/%s was created at %s, before the tenant's deletion began at %s", b.GetNamespace(), b.GetName(),
			created.UTC().Format(time.RFC3339), deletionStarted.UTC().Format(time.RFC3339))
	}
	return true, ""
}

// OnDemandBackupName is the Backup of one backup-now token: the same token never makes two.
func OnDemandBackupName(tenantNamespace, token string) string {
	sum := sha256.Sum256([]byte(token))
	return "mutualis-" + tenantNamespace + "-now-" + hex.EncodeToString(sum[:4])
}

func labels(tenantNamespace string) map[string]any {
	return map[string]any{
		v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue,
		v1alpha1.LabelTenant:    tenantNamespace,
	}
}

// backupSpec is what every backup of a tenant covers: its namespace, volumes included.
func backupSpec(tenantNamespace string, s Settings) map[string]any {
	spec := map[string]any{
		"includedNamespaces":       []any{tenantNamespace},
		"snapshotVolumes":          true,
		"defaultVolumesToFsBackup": true,
		"ttl":                      s.Retention.String(),
		"metadata":                 map[string]any{"labels": labels(tenantNamespace)},
	}
	if s.StorageLocation != "" {
		spec["storageLocation"] = s.StorageLocation
	}
	return spec
}

// Schedule is the tenant's Velero Schedule, in Velero's namespace.
func Schedule(tenantNamespace string, s Settings) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": ScheduleName(tenantNamespace), "namespace": s.VeleroNamespace, "labels": labels(tenantNamespace)},
		"spec":     map[string]any{"schedule": s.Schedule, "template": backupSpec(tenantNamespace, s)},
	}}
	u.SetGroupVersionKind(ScheduleGVK)
	return u
}

// Backup is one Backup of the tenant namespace, on demand or final.
func Backup(name, tenantNamespace string, s Settings) *unstructured.Unstructured {
	spec := backupSpec(tenantNamespace, s)
	delete(spec, "metadata")
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name, "namespace": s.VeleroNamespace, "labels": labels(tenantNamespace)},
		"spec":     spec,
	}}
	u.SetGroupVersionKind(BackupGVK)
	return u
}

// Interval is the time between two runs of a cron schedule, measured from now.
func Interval(schedule string, now time.Time) (time.Duration, error) {
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return 0, fmt.Errorf("backup schedule %q: %w", schedule, err)
	}
	first := sched.Next(now)
	return sched.Next(first).Sub(first), nil
}

// Phase of a Velero Backup, and whether it ended badly.
func Phase(b *unstructured.Unstructured) (phase string, failed bool, reason string) {
	phase, _, _ = unstructured.NestedString(b.Object, "status", "phase")
	reason, _, _ = unstructured.NestedString(b.Object, "status", "failureReason")
	if reason == "" {
		if errs, _, _ := unstructured.NestedStringSlice(b.Object, "status", "validationErrors"); len(errs) > 0 {
			reason = fmt.Sprint(errs)
		}
	}
	return phase, failedPhases[phase], reason
}

// Observation is what a tenant's Backups say.
type Observation struct {
	Status v1alpha1.BackupStatus
	// Reason and Message of BackupReady; Ready is its status.
	Ready   bool
	Reason  string
	Message string
}

// Observe reads a tenant's backups: the latest one failed, or none succeeded within twice the
// schedule's interval, makes BackupReady false. A tenant younger than that waits for its first.
func Observe(backups []unstructured.Unstructured, interval time.Duration, tenantCreated, now time.Time) Observation {
	sorted := ByCreation(backups)
	var o Observation
	var lastSuccess time.Time
	for i := range sorted {
		phase, _, _ := Phase(&sorted[i])
		if phase != PhaseCompleted {
			continue
		}
		done, _, _ := unstructured.NestedString(sorted[i].Object, "status", "completionTimestamp")
		if t, err := time.Parse(time.RFC3339, done); err == nil && t.After(lastSuccess) {
			lastSuccess = t
		}
	}
	if !lastSuccess.IsZero() {
		o.Status.LastSuccessfulTime = metaTime(lastSuccess)
	}
	if n := len(sorted); n > 0 {
		latest := &sorted[n-1]
		phase, failed, reason := Phase(latest)
		o.Status.LastPhase, o.Status.LastBackup = phase, latest.GetName()
		if failed {
			o.Reason, o.Message = v1alpha1.ReasonBackupFailed, fmt.Sprintf("the latest backup %s ended %s: %s; check Velero (velero backup describe %s --details)", latest.GetName(), phase, orUnknown(reason), latest.GetName())
			return o
		}
	}
	window := 2 * interval
	switch {
	case !lastSuccess.IsZero() && now.Sub(lastSuccess) <= window:
		o.Ready, o.Reason, o.Message = true, v1alpha1.ReasonBackupSucceeded, fmt.Sprintf("last successful backup at %s", lastSuccess.UTC().Format(time.RFC3339))
	case lastSuccess.IsZero() && now.Sub(tenantCreated) <= window:
		o.Ready, o.Reason, o.Message = true, v1alpha1.ReasonBackupPending, "no backup has completed yet; the first is due by the schedule"
	case lastSuccess.IsZero():
		o.Reason, o.Message = v1alpha1.ReasonBackupStale, fmt.Sprintf("no backup has succeeded since the tenant was created, more than %s ago: check that Velero runs the Schedule", window)
	default:
		o.Reason, o.Message = v1alpha1.ReasonBackupStale, fmt.Sprintf("the last successful backup is from %s, more than %s ago: check that Velero runs the Schedule", lastSuccess.UTC().Format(time.RFC3339), window)
	}
	return o
}

// ByCreation is a copy of Velero objects, oldest first (by name when created in the same second).
func ByCreation(items []unstructured.Unstructured) []unstructured.Unstructured {
	sorted := append([]unstructured.Unstructured(nil), items...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i].GetCreationTimestamp(), sorted[j].GetCreationTimestamp()
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return sorted[i].GetName() < sorted[j].GetName()
	})
	return sorted
}

func orUnknown(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}
