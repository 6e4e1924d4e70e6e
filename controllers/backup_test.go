package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/incident"
)

// deleting checks that a namespace is being deleted.
func deleting(name string, ns *corev1.Namespace) func() error {
	return func() error {
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, ns); err != nil {
			return err
		}
		if ns.DeletionTimestamp == nil {
			return fmt.Errorf("namespace %s is not being deleted yet", name)
		}
		return nil
	}
}

// playVelero sets the status of a Backup the way Velero's server would; there is no Velero server
// in the tests.
func playVelero(t *testing.T, name, phase, reason string) {
	t.Helper()
	eventually(t, wait, func() error {
		b := &unstructured.Unstructured{}
		b.SetGroupVersionKind(backup.BackupGVK)
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "velero", Name: name}, b); err != nil {
			return err
		}
		status := map[string]any{"phase": phase}
		if phase == backup.PhaseCompleted {
			status["completionTimestamp"] = time.Now().UTC().Format(time.RFC3339)
		}
		if reason != "" {
			status["failureReason"] = reason
		}
		b.Object["status"] = status
		// Velero's CRDs have no status subresource: the status is written with the object
		return k8s.Update(context.Background(), b)
	})
}

func veleroObject(kind, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(backup.ScheduleGVK.GroupVersion().WithKind(kind))
	err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "velero", Name: name}, u)
	if err != nil {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(backup.BackupGVK.GroupVersion().WithKind(kind + "List"))
		_ = k8s.List(context.Background(), l)
		var names []string
		for _, i := range l.Items {
			names = append(names, i.GetNamespace()+"/"+i.GetName())
		}
		return u, fmt.Errorf("%w (there are: %v)", err, names)
	}
	return u, err
}

func TestScheduleStatusAndBackupNow(t *testing.T) {
	c := newCommune("philippeville", "93056", func(c *v1alpha1.Commune) {
		c.Spec.Backup.Schedule = "0 3 * * *"
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionBackupReady, metav1.ConditionTrue, v1alpha1.ReasonBackupPending))
	schedule, err := veleroObject("Schedule", "mutualis-commune-philippeville")
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := unstructured.NestedString(schedule.Object, "spec", "schedule"); s != "0 3 * * *" {
		t.Errorf("schedule %q", s)
	}
	if ns, _, _ := unstructured.NestedStringSlice(schedule.Object, "spec", "template", "includedNamespaces"); len(ns) != 1 || ns[0] != "commune-philippeville" {
		t.Errorf("included namespaces %v", ns)
	}

	// an on-demand backup per token
	patch(t, c, func() { c.Annotations = map[string]string{AnnotationBackupNow: "before-council-2026-11-25"} })
	name := backup.OnDemandBackupName("commune-philippeville", "before-council-2026-11-25")
	eventually(t, wait, func() error { _, err := veleroObject("Backup", name); return err })
	playVelero(t, name, "Completed", "")
	eventually(t, wait, func() error {
		if err := conditionIs(c, v1alpha1.ConditionBackupReady, metav1.ConditionTrue, v1alpha1.ReasonBackupSucceeded)(); err != nil {
			return err
		}
		if c.Status.Backup == nil || c.Status.Backup.LastSuccessfulTime == nil || c.Status.Backup.LastBackup != name {
			return fmt.Errorf("backup status %+v", c.Status.Backup)
		}
		return nil
	})

	// a failed backup: BackupReady says so with Velero's reason, and the tenant stays Ready
	time.Sleep(1100 * time.Millisecond) // the latest backup is the most recently created, to the second
	patch(t, c, func() { c.Annotations[AnnotationBackupNow] = "second" })
	second := backup.OnDemandBackupName("commune-philippeville", "second")
	eventually(t, wait, func() error { _, err := veleroObject("Backup", second); return err })
	playVelero(t, second, "Failed", "BackupStorageLocation ovh-gra is unavailable")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionBackupReady, metav1.ConditionFalse, v1alpha1.ReasonBackupFailed))
	t.Logf("the user sees: %s", message(c, v1alpha1.ConditionBackupReady))
	if !strings.Contains(message(c, v1alpha1.ConditionBackupReady), "ovh-gra is unavailable") {
		t.Errorf("message should carry Velero's reason")
	}
	if err := conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, "")(); err != nil {
		t.Errorf("a failed backup is a condition, not a broken tenant: %v", err)
	}

	// turning backups off removes the Schedule
	patch(t, c, func() { c.Spec.Backup.Disabled = true })
	eventually(t, wait, func() error {
		if _, err := veleroObject("Schedule", "mutualis-commune-philippeville"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("schedule still there (%v)", err)
		}
		return nil
	})
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionBackupReady, metav1.ConditionTrue, v1alpha1.ReasonBackupsDisabled))
}

func TestFailedFinalBackupKeepsTheNamespace(t *testing.T) {
	ctx := context.Background()
	c := newCommune("couvin", "93014", func(c *v1alpha1.Commune) { c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete })
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	final := backup.FinalBackupName("commune-couvin", c.UID)
	playVelero(t, final, "Failed", "volume snapshot failed")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonFinalBackupFailed))
	msg := message(c, v1alpha1.ConditionStalled)
	t.Logf("the user sees: %s", msg)
	for _, want := range []string{"volume snapshot failed", "Retain", AnnotationSkipFinalBackup} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q", want)
		}
	}
	ns := &corev1.Namespace{}
	get(t, "commune-couvin", ns)
	if ns.DeletionTimestamp != nil {
		t.Fatal("the namespace must stay intact when the final backup failed")
	}
	// the failure is an incident the tenant's DPO hears of, once however often the tenant is
	// reconciled while it lasts
	eventually(t, wait, toldOnce("commune-couvin", incident.FinalBackupFailed, "volume snapshot failed"))
	patch(t, c, func() { c.Annotations = map[string]string{"mutualis.crtpl.be/note": "reconciled again"} })
	consistently(t, 3*time.Second, toldOnce("commune-couvin", incident.FinalBackupFailed, "volume snapshot failed"))
	// the explicit way out
	patch(t, c, func() { c.Annotations = map[string]string{AnnotationSkipFinalBackup: "true"} })
	eventually(t, wait, func() error {
		get(t, "commune-couvin", ns)
		if ns.DeletionTimestamp == nil {
			return fmt.Errorf("not deleted yet")
		}
		return nil
	})
	eventually(t, wait, warningEvent("couvin", v1alpha1.ReasonFinalBackupSkipped))
}

// A Backup that bears the final backup's name but was not taken for this tenant (another uid, as
// a Backup of an earlier tenant renamed by hand would) never releases the namespace: the tenant
// stalls with FinalBackupForeign and says how to go on, and once that Backup is gone mutualis takes
// its own.
func TestForeignFinalBackupDoesNotReleaseTheNamespace(t *testing.T) {
	ctx := context.Background()
	c := newCommune("walcourt", "93088", func(c *v1alpha1.Commune) { c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete })
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	name := backup.FinalBackupName("commune-walcourt", c.UID)
	foreign := backup.FinalBackup("commune-walcourt", "0badc0de-0000-4000-8000-000000000000", backup.Settings{VeleroNamespace: "velero", Retention: time.Hour})
	foreign.SetName(name)
	create(t, foreign)
	playVelero(t, name, backup.PhaseCompleted, "")
	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	stalledSaying(t, c, v1alpha1.ReasonFinalBackupForeign, "was not taken for this tenant")
	if msg := message(c, v1alpha1.ConditionStalled); !strings.Contains(msg, "delete that Backup") {
		t.Errorf("the message should say how to go on: %s", msg)
	}
	ns := &corev1.Namespace{}
	get(t, "commune-walcourt", ns)
	if ns.DeletionTimestamp != nil {
		t.Fatal("a foreign Backup released the namespace")
	}
	if err := k8s.Delete(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, func() error {
		b, err := veleroObject("Backup", name)
		if err != nil {
			return err
		}
		if got := b.GetLabels()[backup.LabelTenantUID]; got != string(c.UID) {
			return fmt.Errorf("the final backup is still not this tenant's (%q)", got)
		}
		return nil
	})
	playVelero(t, name, backup.PhaseCompleted, "")
	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Name: "commune-walcourt"}, ns); err != nil || ns.DeletionTimestamp == nil {
			return fmt.Errorf("the namespace is not being deleted after this tenant's final backup (%v)", err)
		}
		return nil
	})
}

// The documented restore path: the tenant is gone, Velero restores its namespace from the final
// backup (labels kept, owner references and UIDs new), and a Commune of the same name takes the
// namespace back, data included, by its labels and name.
func TestRestoredNamespaceIsReadoptedWithItsData(t *testing.T) {
	ctx := context.Background()
	c := newCommune("chimay", "56016", func(c *v1alpha1.Commune) { c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete })
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	ns := &corev1.Namespace{}
	get(t, "commune-chimay", ns)
	restoredLabels := ns.Labels
	oldUID := ns.UID

	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	playVelero(t, backup.FinalBackupName("commune-chimay", c.UID), backup.PhaseCompleted, "")
	eventually(t, wait, deleting("commune-chimay", ns))
	finalizeNamespace(t, ns)
	eventually(t, wait, absent(c))

	// Velero's part: a Restore of the final backup brings the namespace back with its labels (and
	// Velero's own), without owner references, with a new UID, and the data inside
	restore := &unstructured.Unstructured{}
	restore.SetGroupVersionKind(backup.ScheduleGVK.GroupVersion().WithKind("Restore"))
	restore.SetNamespace("velero")
	restore.SetName("chimay-from-final")
	_ = unstructured.SetNestedField(restore.Object, backup.FinalBackupName("commune-chimay", c.UID), "spec", "backupName")
	_ = unstructured.SetNestedStringSlice(restore.Object, []string{"commune-chimay"}, "spec", "includedNamespaces")
	create(t, restore)
	labels := map[string]string{"velero.io/restore-name": "chimay-from-final", "velero.io/backup-name": backup.FinalBackupName("commune-chimay", c.UID)}
	for k, v := range restoredLabels {
		if k != corev1.LabelMetadataName {
			labels[k] = v
		}
	}
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "commune-chimay", Labels: labels}})
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "council-minutes", Namespace: "commune-chimay"}, Data: map[string]string{"2026-10": "approved"}})

	again := newCommune("chimay", "56016", func(c *v1alpha1.Commune) { c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete })
	create(t, again)
	eventually(t, wait, conditionIs(again, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	get(t, "commune-chimay", ns)
	if ns.UID == oldUID {
		t.Fatal("the test should restore a new namespace object")
	}
	if len(ns.OwnerReferences) != 0 {
		t.Errorf("a tenant namespace never carries an owner reference: %v", ns.OwnerReferences)
	}
	minutes := &corev1.ConfigMap{}
	get(t, "commune-chimay/council-minutes", minutes)
	if minutes.Data["2026-10"] != "approved" {
		t.Errorf("restored data changed: %v", minutes.Data)
	}

	// new data since the restore, and the tenant deleted again within the retention: the final
	// backup of the first Commune, Completed, is still there and must not release the second one
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "minutes-after-restore", Namespace: "commune-chimay"}})
	if err := k8s.Delete(ctx, again); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, conditionIs(again, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonFinalBackupInProgress))
	consistently(t, 2*time.Second, func() error {
		get(t, "commune-chimay", ns)
		if ns.DeletionTimestamp != nil {
			return fmt.Errorf("the namespace went on the final backup of an earlier Commune of the same name")
		}
		return nil
	})
	second := backup.FinalBackupName("commune-chimay", again.UID)
	b, err := veleroObject("Backup", second)
	if err != nil {
		t.Fatalf("no final backup of its own was requested for the second Commune: %v", err)
	}
	if b.GetLabels()[backup.LabelTenantUID] != string(again.UID) {
		t.Errorf("the final backup names the tenant's uid: %v", b.GetLabels())
	}
	playVelero(t, second, backup.PhaseCompleted, "")
	eventually(t, wait, deleting("commune-chimay", ns))
	finalizeNamespace(t, ns)
	eventually(t, wait, absent(again))
}
