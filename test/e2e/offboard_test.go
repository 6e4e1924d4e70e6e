package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// A commune leaves the cell: kubectl mutualis offboard exports its namespace (from a real Velero
// backup) and its records in a Shared instance (the export hook's output, which kwok answers as
// the hook pod's log: hack/kwok/data-hook.log), purges the instance, deletes the tenant after
// Velero's final backup, and writes the record and the French certificate with the archive's
// SHA-256 and when the last backup expires.
func TestACommuneLeavesTheCell(t *testing.T) {
	ctx := context.Background()
	startVelero(t)
	withPlugin(t)
	participation := deploymentApp("participation", "nginxinc/nginx-unprivileged:1.26", restricted)
	participation.Spec.Instance = v1alpha1.InstanceShared
	participation.Spec.DataHooks = &v1alpha1.DataHooks{
		Export: &v1alpha1.DataHook{Image: "registry.example.be/participation-tools:1.0", Args: []string{"export-organisation"}},
		Purge:  &v1alpha1.DataHook{Image: "registry.example.be/participation-tools:1.0", Args: []string{"delete-organisation"}},
	}
	create(t, participation)
	walhain := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "walhain"}, Spec: v1alpha1.CommuneSpec{NIS: "25124",
		TenantSpec: v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{{Name: "participation"}}}}}
	create(t, walhain)
	eventually(t, 2*time.Minute, ready(walhain))
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "registre-population", Namespace: "commune-walhain"},
		Data: map[string]string{"note": "extrait du registre"}})

	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "bin", "kubectl"), "mutualis", "offboard", "--kubeconfig", kubeconfig, "commune/walhain", "--dir", dir, "--yes", "--timeout", "6m")
	out, err := cmd.CombinedOutput()
	t.Logf("kubectl mutualis offboard says:\n%s", out)
	if err != nil {
		t.Fatalf("kubectl mutualis offboard: %v", err)
	}

	// the tenant is gone, after its final backup
	eventually(t, time.Minute, gone(walhain))
	if err := k8s.Get(ctx, client.ObjectKey{Name: "commune-walhain"}, &corev1.Namespace{}); err == nil {
		t.Error("the namespace of the commune that left is still there")
	}
	var rec struct {
		Export, ExportSHA256, FinalBackup string
		Instances                         []struct {
			Application, ExportFile string
			Exported, Purged        *time.Time
		}
		LastBackupExpires *time.Time
	}
	data, err := os.ReadFile(filepath.Join(dir, "offboarding.json"))
	if err != nil || json.Unmarshal(data, &rec) != nil {
		t.Fatalf("offboarding.json: %v\n%s", err, data)
	}
	if err := backupPhase(rec.FinalBackup, "Completed")(); err != nil {
		t.Errorf("the final backup: %v", err)
	}
	if rec.LastBackupExpires == nil || rec.LastBackupExpires.Before(time.Now().Add(24*time.Hour)) {
		t.Errorf("when the last backup expires: %v; want the backups' TTL ahead", rec.LastBackupExpires)
	}
	if len(rec.Instances) != 1 || rec.Instances[0].Exported == nil || rec.Instances[0].Purged == nil {
		t.Fatalf("the shared instance in the record: %+v", rec.Instances)
	}

	// the archive holds the namespace and the instance's export, as the record says
	archive, err := os.ReadFile(filepath.Join(dir, rec.Export))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(archive); hex.EncodeToString(sum[:]) != rec.ExportSHA256 {
		t.Errorf("the archive's SHA-256 is %x, the record says %s", sum, rec.ExportSHA256)
	}
	entries := tarEntries(t, bytes.NewReader(archive))
	if !strings.Contains(string(entries["instances/participation.export"]), "simulated") || len(entries["namespace.tar.gz"]) == 0 {
		t.Errorf("the archive's entries: %d bytes of namespace, instance export %q", len(entries["namespace.tar.gz"]), entries["instances/participation.export"])
	}

	// the hooks ran in the instance's namespace, for this tenant, and completed
	for _, action := range []string{"export", "purge"} {
		job := &batchv1.Job{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "mutualis-app-participation", Name: "mutualis-" + action + "-commune-walhain"}, job); err != nil {
			t.Errorf("the %s hook's Job: %v", action, err)
			continue
		}
		env := map[string]string{}
		for _, e := range job.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		if env["MUTUALIS_TENANT_NAMESPACE"] != "commune-walhain" || env["MUTUALIS_NIS"] != "25124" || job.Status.Succeeded != 1 {
			t.Errorf("the %s hook ran with %v and succeeded %d times", action, env, job.Status.Succeeded)
		}
	}

	// the certificate, in French, says what was handed over, deleted and kept until when
	cert, err := os.ReadFile(filepath.Join(dir, "certificate.fr.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Attestation de fin de service", "walhain", "25124", rec.ExportSHA256, "participation", "données supprimées le", rec.FinalBackup,
		"la dernière expire le " + rec.LastBackupExpires.UTC().Format("2006-01-02")} {
		if !strings.Contains(string(cert), want) {
			t.Errorf("the certificate does not say %q:\n%s", want, cert)
		}
	}
	events := kubectl(t, "get", "events.events.k8s.io", "-n", "default", "-o", `jsonpath={range .items[?(@.regarding.name=="walhain")]}{.reason} {end}`)
	for _, want := range []string{"Offboarding", "OffboardingExported", "OffboardingPurged"} {
		if !strings.Contains(events, want) {
			t.Errorf("no %s event about walhain: %s", want, events)
		}
	}
}
