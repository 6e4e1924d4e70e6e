package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
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

// completeBackup plays Velero's part: the Backup completes.
func completeBackup(t *testing.T, name string) {
	t.Helper()
	b, err := veleroGet("Backup", name)
	if err != nil {
		t.Fatal(err)
	}
	b.Object["status"] = map[string]any{"phase": "Completed", "completionTimestamp": time.Now().UTC().Format(time.RFC3339)}
	if err := k8s.Update(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// Velero arrives after the operator: first a condition, then the Schedule. Then a Delete tenant
// with the operator killed while its final backup runs: the namespace stays until the backup
// completes, whatever the restart.
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

	kubectl(t, "apply", "--server-side", "-f", filepath.Join(root, "bin", "velero-crds")+"/")
	kubectl(t, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "velero"}})
	// mutualis looks for Velero again within a minute; a change of the tenant wakes it at once
	base = c.DeepCopy()
	c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete
	if err := k8s.Patch(ctx, c, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, hasCondition(c, v1alpha1.ConditionBackupReady, metav1.ConditionTrue, "BackupPending", ""))
	if _, err := veleroGet("Schedule", "mutualis-commune-nivelles"); err != nil {
		t.Fatal(err)
	}

	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	final := backup.FinalBackupName("commune-nivelles", c.UID)
	eventually(t, time.Minute, func() error { _, err := veleroGet("Backup", final); return err })
	killOperator()
	restartedAndReconciled(t)
	ns := &corev1.Namespace{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "commune-nivelles"}, ns); err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("the namespace must be intact while the final backup runs: %v %v", err, ns.DeletionTimestamp)
	}

	// Velero's part: the final backup completes
	completeBackup(t, final)
	eventually(t, 2*time.Minute, gone(ns))
	eventually(t, time.Minute, gone(c))
	if _, err := veleroGet("Schedule", "mutualis-commune-nivelles"); err == nil {
		t.Error("the Schedule of a deleted tenant should be gone")
	}
}
