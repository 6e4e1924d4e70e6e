package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
)

func veleroGet(kind, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("velero.io/v1")
	u.SetKind(kind)
	return u, k8s.Get(context.Background(), client.ObjectKey{Namespace: "velero", Name: name}, u)
}

// Velero arrives after the operator: first a condition, then the Schedule, whose real backups the
// tenant's status follows. Then a Delete tenant with Velero down and the operator killed while its
// final backup waits: the namespace stays until Velero completes the backup, whatever the restart,
// and a restore of that backup brings the tenant's objects back with their data.
func TestBackupsWithVeleroAndAnOperatorKilledMidDelete(t *testing.T) {
	ctx := context.Background()
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "nivelles"}, Spec: v1alpha1.CommuneSpec{NIS: "25072"}}
	create(t, c)
	eventually(t, time.Minute, ready(c))
	if err := hasCondition(c, v1alpha1.ConditionBackupReady, metav1.ConditionFalse, "VeleroNotInstalled", "")(); err != nil {
		t.Fatal(err)
	}

	// a Delete tenant cannot go without its final backup, and Velero is not there: it stalls, the
	// namespace intact, until someone chooses the way out
	tubize := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "tubize"}, Spec: v1alpha1.CommuneSpec{NIS: "25105",
		TenantSpec: v1alpha1.TenantSpec{DeletionPolicy: v1alpha1.DeletionPolicyDelete}}}
	create(t, tubize)
	eventually(t, time.Minute, ready(tubize))
	if err := k8s.Delete(ctx, tubize); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, hasCondition(tubize, v1alpha1.ConditionStalled, metav1.ConditionTrue, "VeleroNotInstalled", ""))
	t.Logf("the user sees: %s", meta.FindStatusCondition(tubize.Status.Conditions, v1alpha1.ConditionStalled).Message)
	tns := &corev1.Namespace{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "commune-tubize"}, tns); err != nil || tns.DeletionTimestamp != nil {
		t.Fatalf("the namespace must stay intact: %v %v", err, tns.DeletionTimestamp)
	}
	base := tubize.DeepCopy()
	tubize.Annotations = map[string]string{"mutualis.crtpl.be/skip-final-backup": "true"}
	if err := k8s.Patch(ctx, tubize, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, gone(tns))
	eventually(t, time.Minute, gone(tubize))

	// the real Velero arrives, with its object store; mutualis looks for it again within a minute,
	// and a change of the tenant wakes it at once: Delete, and a schedule of every minute so that
	// Velero's Schedule takes a backup within the test
	v := startVelero(t)
	// an application of the catalogue, whose objects the backups must hold as well (its pods mount
	// no volume: Velero's node agent is not here to copy volume files)
	create(t, deploymentApp("council-portal", "nginxinc/nginx-unprivileged:1.26", restricted))
	base = c.DeepCopy()
	c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete
	c.Spec.Backup.Schedule = "* * * * *"
	c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "council-portal"}}
	if err := k8s.Patch(ctx, c, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	if _, err := veleroGet("Schedule", "mutualis-commune-nivelles"); err != nil {
		eventually(t, time.Minute, func() error { _, err := veleroGet("Schedule", "mutualis-commune-nivelles"); return err })
	}
	// the tenant's data, which its backups must hold
	minutes := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "council-minutes", Namespace: "commune-nivelles"},
		Data: map[string]string{"2026-11-30.txt": "Séance du conseil communal du 30 novembre 2026 : le budget est adopté."}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry-credentials", Namespace: "commune-nivelles"},
		StringData: map[string]string{"password": "s3cr3t"}}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "archives", Namespace: "commune-nivelles"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	for _, o := range []client.Object{minutes, secret, claim} {
		create(t, o)
	}

	eventually(t, 2*time.Minute, ready(c))

	// Velero's Schedule takes a real backup, and the tenant's status follows it
	eventually(t, 3*time.Minute, hasCondition(c, v1alpha1.ConditionBackupReady, metav1.ConditionTrue, v1alpha1.ReasonBackupSucceeded, ""))
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
		t.Fatal(err)
	}
	st := c.Status.Backup
	if st == nil || st.LastSuccessfulTime == nil || !strings.HasPrefix(st.LastBackup, "mutualis-commune-nivelles-") || st.LastPhase != "Completed" {
		t.Fatalf("status.backup after Velero's scheduled backup: %+v", st)
	}
	if err := backupPhase(st.LastBackup, "Completed")(); err != nil {
		t.Fatal(err)
	}
	if row := kubectl(t, "get", "commune", "nivelles", "--no-headers"); strings.Contains(row, "<unknown>") {
		t.Errorf("kubectl get communes shows no last backup: %s", row)
	}

	// Velero's server is down when the tenant is deleted, and the operator is killed meanwhile:
	// the final backup waits, and so does the namespace
	v.stopServer()
	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	final := backup.FinalBackupName("commune-nivelles", c.UID)
	eventually(t, time.Minute, func() error { _, err := veleroGet("Backup", final); return err })
	killOperator()
	restartedAndReconciled(t)
	ns := &corev1.Namespace{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "commune-nivelles"}, ns); err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("the namespace must be intact while the final backup waits: %v %v", err, ns.DeletionTimestamp)
	}
	eventually(t, time.Minute, hasCondition(c, v1alpha1.ConditionBackupReady, metav1.ConditionFalse, v1alpha1.ReasonFinalBackupInProgress, final))

	// Velero comes back and takes the final backup for real; only then does the namespace go
	v.startServer(t)
	eventually(t, 2*time.Minute, backupPhase(final, "Completed"))
	eventually(t, 2*time.Minute, gone(ns))
	eventually(t, time.Minute, gone(c))
	if _, err := veleroGet("Schedule", "mutualis-commune-nivelles"); err == nil {
		t.Error("the Schedule of a deleted tenant should be gone")
	}

	// the final backup restores: the tenant's objects come back, under another name, with their data
	restore(t, "nivelles-final", final, "commune-nivelles", "restored-nivelles")
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "restored-nivelles"}})
	})
	gotMinutes := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "restored-nivelles", Name: "council-minutes"}, gotMinutes); err != nil || gotMinutes.Data["2026-11-30.txt"] != minutes.Data["2026-11-30.txt"] {
		t.Errorf("the council's minutes after the restore: %v %q", err, gotMinutes.Data)
	}
	gotSecret := &corev1.Secret{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "restored-nivelles", Name: "registry-credentials"}, gotSecret); err != nil || string(gotSecret.Data["password"]) != "s3cr3t" {
		t.Errorf("the Secret after the restore: %v", err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "restored-nivelles", Name: "archives"}, &corev1.PersistentVolumeClaim{}); err != nil {
		t.Errorf("the PersistentVolumeClaim after the restore: %v", err)
	}
	for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}} {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "restored-nivelles", Name: "council-portal"}, obj); err != nil {
			t.Errorf("the application's %T after the restore: %v", obj, err)
		}
	}
}

// An object store that is down fails the backups, BackupReady says so with Velero's own reason,
// and a Delete tenant's final backup fails too: its namespace stays until the cell takes one.
func TestBackupsFailWhenTheObjectStoreIsDown(t *testing.T) {
	ctx := context.Background()
	v := startVelero(t)
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "rixensart"}, Spec: v1alpha1.CommuneSpec{NIS: "25091",
		TenantSpec: v1alpha1.TenantSpec{DeletionPolicy: v1alpha1.DeletionPolicyDelete}}}
	create(t, c)
	eventually(t, time.Minute, ready(c))

	v.stopStore()
	eventually(t, time.Minute, v.locationPhase("Unavailable"))
	base := c.DeepCopy()
	c.Annotations = map[string]string{"mutualis.crtpl.be/backup-now": "store-down"}
	if err := k8s.Patch(ctx, c, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	onDemand := backup.OnDemandBackupName("commune-rixensart", "store-down")
	eventually(t, time.Minute, backupPhase(onDemand, "FailedValidation", "Failed"))
	eventually(t, time.Minute, hasCondition(c, v1alpha1.ConditionBackupReady, metav1.ConditionFalse, v1alpha1.ReasonBackupFailed, "Unavailable"))
	t.Logf("the cell sees: %s", meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionBackupReady).Message)

	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	final := backup.FinalBackupName("commune-rixensart", c.UID)
	eventually(t, time.Minute, backupPhase(final, "FailedValidation", "Failed"))
	eventually(t, time.Minute, hasCondition(c, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonFinalBackupFailed, final))
	ns := &corev1.Namespace{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "commune-rixensart"}, ns); err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("the namespace must stay while no final backup completed: %v %v", err, ns.DeletionTimestamp)
	}

	// the cell repairs the store and deletes the failed Backup, as the condition says: mutualis
	// takes the final backup again, Velero completes it, and the namespace goes
	v.startStore(t)
	eventually(t, time.Minute, v.locationPhase("Available"))
	failed, err := veleroGet("Backup", final)
	if err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, failed); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, backupPhase(final, "Completed"))
	eventually(t, 2*time.Minute, gone(ns))
	eventually(t, time.Minute, gone(c))
}
