package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/history"
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
	c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "nivelles-it", APIGroup: rbacv1.GroupName}}
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

	restoreDrills(t, v, c, minutes)

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

// restoreDrills runs two restore drills of a tenant with the real Velero. The first is asked while
// Velero's server is down and the operator is killed once the drill's Restore exists, so that the
// scratch namespace can be looked at after Velero restored into it and before the operator judges
// and removes it: the data is there, the objects no longer say they are the tenant's, nothing runs
// and the tenant's people cannot enter. The operator, back, finds every object and records the
// drill as passed. The second drill follows a backup taken after the tenant admin labelled a
// ConfigMap out of the backups: it fails, and says which object and why.
func restoreDrills(t *testing.T, v *veleroStack, c *v1alpha1.Commune, minutes *corev1.ConfigMap) {
	ctx := context.Background()
	tenantNS := c.TenantNamespace()
	scratch := backup.ScratchNamespaceName(tenantNS)
	drillRestore := func() (string, error) {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("velero.io/v1")
		l.SetKind("RestoreList")
		if err := k8s.List(ctx, l, client.InNamespace("velero"), client.MatchingLabels{v1alpha1.LabelRestoreDrill: tenantNS}); err != nil {
			return "", err
		}
		if len(l.Items) != 1 {
			return "", fmt.Errorf("%d drill restores of %s", len(l.Items), tenantNS)
		}
		return l.Items[0].GetName(), nil
	}

	v.stopServer()
	annotate(t, c, "mutualis.crtpl.be/restore-drill-now", "first")
	eventually(t, time.Minute, func() error { _, err := drillRestore(); return err })
	killOperator()
	v.startServer(t)
	name, _ := drillRestore()
	eventually(t, 2*time.Minute, func() error {
		got, err := veleroGet("Restore", name)
		if err != nil {
			return err
		}
		if phase, _, _ := unstructured.NestedString(got.Object, "status", "phase"); phase != "Completed" {
			return fmt.Errorf("drill restore %s is %q: %v", name, phase, got.Object["status"])
		}
		return nil
	})
	restored := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: scratch, Name: minutes.Name}, restored); err != nil || restored.Data["2026-11-30.txt"] != minutes.Data["2026-11-30.txt"] {
		t.Errorf("the council's minutes in the drill's scratch namespace: %v %q", err, restored.Data)
	}
	portal := &appsv1.Deployment{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: scratch, Name: "council-portal"}, portal); err != nil {
		t.Errorf("the application's Deployment in the scratch namespace: %v", err)
	} else if l := portal.Labels; l[v1alpha1.LabelTenant] != "" || l[v1alpha1.LabelManagedBy] != "" {
		t.Errorf("the restored Deployment still says it is the tenant's: labels %v", l)
	}
	for _, list := range []client.ObjectList{&rbacv1.RoleBindingList{}, &corev1.ServiceList{}, &corev1.PodList{}} {
		if err := k8s.List(ctx, list, client.InNamespace(scratch)); err != nil {
			t.Fatal(err)
		}
		if n := meta.LenList(list); n != 0 {
			t.Errorf("%T in the scratch namespace: %d, want none", list, n)
		}
	}
	if out, _ := kubectlAs("someone@nivelles.be", "nivelles-it", "auth", "can-i", "get", "configmaps", "-n", tenantNS); out != "yes" {
		t.Fatalf("the tenant admin cannot read its own namespace (%q): the next check would prove nothing", out)
	}
	for _, q := range [][]string{{"get", "configmaps"}, {"list", "secrets"}, {"create", "rolebindings"}} {
		if out, _ := kubectlAs("someone@nivelles.be", "nivelles-it", append([]string{"auth", "can-i"}, append(q, "-n", scratch)...)...); out != "no" {
			t.Errorf("the tenant admin may %v in the drill's scratch namespace: %s", q, out)
		}
	}

	restartedAndReconciled(t)
	eventually(t, time.Minute, hasCondition(c, v1alpha1.ConditionRestoreVerified, metav1.ConditionTrue, v1alpha1.ReasonRestoreDrillPassed, ""))
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
		t.Fatal(err)
	}
	if st := c.Status.Backup; st.LastVerifiedRestore == nil || st.LastRestoreDrill == nil || st.LastRestoreDrill.Restore != name || st.LastRestoreDrill.Objects < 3 {
		t.Errorf("status.backup after a passed drill: %+v %+v", st.LastVerifiedRestore, st.LastRestoreDrill)
	}
	t.Logf("the drill says: %s", meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionRestoreVerified).Message)
	eventually(t, time.Minute, gone(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: scratch}}))
	eventually(t, time.Minute, ready(c))

	exportTenant(t, c, minutes)

	// a tenant admin labels the social files out of the backups; the next backup leaves them out,
	// and the next drill finds them missing
	social := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "social-files", Namespace: tenantNS,
		Labels: map[string]string{"velero.io/exclude-from-backup": "true"}}, Data: map[string]string{"dossier": "aide sociale"}}
	create(t, social)
	labelled := time.Now()
	eventually(t, 3*time.Minute, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
			return err
		}
		st := c.Status.Backup
		if st == nil || st.LastSuccessfulTime == nil || st.LastSuccessfulTime.Time.Before(labelled.Add(time.Second)) {
			return fmt.Errorf("no backup completed since the label: %+v", st)
		}
		return nil
	})
	annotate(t, c, "mutualis.crtpl.be/restore-drill-now", "second")
	eventually(t, 2*time.Minute, hasCondition(c, v1alpha1.ConditionRestoreVerified, metav1.ConditionFalse, v1alpha1.ReasonRestoreDrillFailed,
		"ConfigMap/social-files (labelled velero.io/exclude-from-backup=true)"))
	t.Logf("the drill says: %s", meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionRestoreVerified).Message)
	if err := hasCondition(c, v1alpha1.ConditionReady, metav1.ConditionTrue, "", "")(); err != nil {
		t.Errorf("a failed drill changed Ready: %v", err)
	}
	eventually(t, time.Minute, gone(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: scratch}}))

	// the commune's IT person reads this month's account of service with their own rights: the
	// scheduled backups, the drill that passed and the one that failed
	eventually(t, time.Minute, func() error {
		out, err := exec.Command(filepath.Join(root, "bin", "kubectl"), "mutualis", "report", "service", "--kubeconfig", kubeconfig,
			"--as", "someone@nivelles.be", "--as-group", "nivelles-it", "commune/"+c.Name, "--month", history.DateOf(time.Now())[:7], "-o", "json").CombinedOutput()
		if err != nil {
			return fmt.Errorf("kubectl mutualis report service: %v\n%s", err, out)
		}
		var m history.Month
		if err := json.Unmarshal(out, &m); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if m.BackupsCompleted < 2 || m.DrillsPassed != 1 || m.DrillsFailed != 1 {
			return fmt.Errorf("this month's account: %d backups completed, drills %d passed and %d failed; want two or more, 1 and 1", m.BackupsCompleted, m.DrillsPassed, m.DrillsFailed)
		}
		return nil
	})

	// an export would leave the social files out as well: it refuses, and says which and why
	out, err := exec.Command(filepath.Join(root, "bin", "kubectl"), "mutualis", "export", "--kubeconfig", kubeconfig, "commune/"+c.Name, "-f", filepath.Join(t.TempDir(), "refused.tar")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ConfigMap/social-files") || !strings.Contains(string(out), "--allow-excluded") {
		t.Errorf("an export with an object labelled out of the backups: %v\n%s", err, out)
	}
}

// exportTenant exports the tenant with the plugin, as the cell would for a commune that leaves,
// and reads the archive: its manifest names a Completed backup and counts the objects, and the
// namespace's contents hold the council's minutes with their data.
func exportTenant(t *testing.T, c *v1alpha1.Commune, minutes *corev1.ConfigMap) {
	withPlugin(t)
	file := filepath.Join(t.TempDir(), "nivelles.tar")
	out, err := exec.Command(filepath.Join(root, "bin", "kubectl"), "mutualis", "export", "--kubeconfig", kubeconfig, "commune/"+c.Name, "-f", file, "--timeout", "3m").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl mutualis export: %v\n%s", err, out)
	}
	t.Logf("kubectl mutualis export says: %s", out)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries := tarEntries(t, f)
	var m struct {
		Backup  string
		Objects map[string]int
		Files   map[string]string
	}
	if err := json.Unmarshal(entries["MANIFEST.json"], &m); err != nil {
		t.Fatalf("MANIFEST.json: %v (entries %v)", err, slices.Collect(maps.Keys(entries)))
	}
	if err := backupPhase(m.Backup, "Completed")(); err != nil {
		t.Errorf("the export's backup: %v", err)
	}
	if m.Objects["configmaps"] < 1 || m.Objects["secrets"] < 1 || m.Objects["persistentvolumeclaims"] < 1 || m.Objects["deployments.apps"] < 1 {
		t.Errorf("the manifest counts %v; want the tenant's ConfigMaps, Secrets, claims and the application's Deployment", m.Objects)
	}
	sum := sha256.Sum256(entries["namespace.tar.gz"])
	if m.Files["namespace.tar.gz"] != hex.EncodeToString(sum[:]) {
		t.Errorf("the manifest's SHA-256 of namespace.tar.gz is %s, the file's %x", m.Files["namespace.tar.gz"], sum)
	}
	gz, err := gzip.NewReader(bytes.NewReader(entries["namespace.tar.gz"]))
	if err != nil {
		t.Fatal(err)
	}
	inner := tar.NewReader(gz)
	want := "resources/configmaps/namespaces/" + c.TenantNamespace() + "/" + minutes.Name + ".json"
	for {
		h, err := inner.Next()
		if err == io.EOF {
			t.Fatalf("%s is not in the export", want)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "./") != want {
			continue
		}
		got := &corev1.ConfigMap{}
		data, _ := io.ReadAll(inner)
		if err := json.Unmarshal(data, got); err != nil || got.Data["2026-11-30.txt"] != minutes.Data["2026-11-30.txt"] {
			t.Errorf("the council's minutes in the export: %v %q", err, got.Data)
		}
		return
	}
}

// tarEntries reads the files of a tar archive by their names.
func tarEntries(t *testing.T, archive io.Reader) map[string][]byte {
	t.Helper()
	entries := map[string][]byte{}
	r := tar.NewReader(archive)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = data
	}
}

// annotate sets one annotation of a tenant.
func annotate(t *testing.T, c *v1alpha1.Commune, key, value string) {
	t.Helper()
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(c), c); err != nil {
		t.Fatal(err)
	}
	base := c.DeepCopy()
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[key] = value
	if err := k8s.Patch(context.Background(), c, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
}
