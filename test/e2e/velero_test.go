package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

// The real Velero of the backup tests: Versity's S3 gateway serving a folder of the test's, and
// Velero's server with its AWS plugin, both processes of this machine against the local cluster,
// with the BackupStorageLocation "default" on the gateway. Velero has no node agent here (it needs
// a container runtime the local cluster lacks), so it backs up and restores every object of a
// namespace but not the files inside volumes: docs/backups.md says what this proves.
type veleroStack struct {
	dir, credentials string
	s3Addr           string
	s3               *process
	server           *process
}

const (
	veleroBucket    = "mutualis-backups"
	veleroAccessKey = "mutualis-e2e"
	veleroSecretKey = "mutualis-e2e-secret"
)

// startVelero starts the object store and Velero for one test, and stops them when it ends.
// Schedules do not back up at once when they are created (--schedule-skip-immediately): the
// tenants of other tests keep their daily schedule, and a test that wants a scheduled backup gives
// its tenant a schedule of every minute.
func startVelero(t *testing.T) *veleroStack {
	t.Helper()
	kubectl(t, "apply", "--server-side", "-f", filepath.Join(root, "bin", "velero-crds")+"/")
	kubectl(t, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "velero"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// the Deployment an installed Velero has, scaled to nothing: the server runs as a process here,
	// and its restore actions read the Deployment's image for the helper they add to restored pods
	installed := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "velero", Namespace: "velero"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"component": "velero"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"component": "velero"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "velero", Image: "velero/velero:v1.18.3"}}}}}}
	if err := k8s.Create(context.Background(), installed); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	v := &veleroStack{dir: t.TempDir(), s3Addr: freeAddress(t)}
	for _, d := range []string{filepath.Join("store", veleroBucket), "meta"} {
		if err := os.MkdirAll(filepath.Join(v.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	v.credentials = filepath.Join(v.dir, "credentials")
	if err := os.WriteFile(v.credentials, []byte(fmt.Sprintf("[default]\naws_access_key_id=%s\naws_secret_access_key=%s\n", veleroAccessKey, veleroSecretKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	v.startStore(t)

	location := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
		"metadata": map[string]any{"name": "default", "namespace": "velero"},
		"spec": map[string]any{
			"provider": "velero.io/aws", "default": true,
			"objectStorage": map[string]any{"bucket": veleroBucket},
			"config": map[string]any{"region": "us-east-1", "s3ForcePathStyle": "true", "s3Url": "http://" + v.s3Addr,
				// no checksum header on uploads (the plugin sends CRC32 by default): the test does not
				// depend on which of the newer checksums the gateway supports
				"checksumAlgorithm": ""},
		},
	}}
	_ = k8s.Delete(context.Background(), location.DeepCopy())
	if err := k8s.Create(context.Background(), location); err != nil {
		t.Fatal(err)
	}
	v.startServer(t)
	t.Cleanup(func() {
		if t.Failed() {
			for _, log := range []string{"velero.log", "s3.log"} {
				if data, err := os.ReadFile(filepath.Join(v.dir, log)); err == nil {
					lines := strings.Split(string(data), "\n")
					if len(lines) > 60 {
						lines = lines[len(lines)-60:]
					}
					t.Logf("--- last lines of %s:\n%s", log, strings.Join(lines, "\n"))
				}
			}
		}
		v.server.stop()
		v.s3.stop()
	})
	available := v.locationPhase("Available")
	eventually(t, 2*time.Minute, func() error {
		if !v.server.running() {
			t.Fatal("Velero's server has ended (its log follows)")
		}
		return available()
	})
	return v
}

// startStore starts the S3 gateway on the stack's folder (again, after stopStore).
func (v *veleroStack) startStore(t *testing.T) {
	t.Helper()
	v.s3 = v.launch(t, "s3.log", nil, filepath.Join(root, "bin", "versitygw"),
		"--access", veleroAccessKey, "--secret", veleroSecretKey, "--port", v.s3Addr,
		// object metadata in a side folder: the test's file system may not keep extended attributes
		"posix", "--sidecar", filepath.Join(v.dir, "meta"), filepath.Join(v.dir, "store"))
	eventually(t, 30*time.Second, func() error {
		conn, err := net.Dial("tcp", v.s3Addr)
		if err == nil {
			conn.Close()
		}
		return err
	})
}

// stopStore takes the object store away, as a failed disk or a network cut would.
func (v *veleroStack) stopStore() { v.s3.kill() }

// startServer starts Velero's server (again, after stopServer).
func (v *veleroStack) startServer(t *testing.T) {
	t.Helper()
	v.server = v.launch(t, "velero.log", []string{"AWS_SHARED_CREDENTIALS_FILE=" + v.credentials},
		filepath.Join(root, "bin", "velero"), "server",
		"--kubeconfig", kubeconfig, "--namespace", "velero",
		"--plugin-dir", filepath.Join(root, "bin", "velero-plugins"),
		"--metrics-address", freeAddress(t), "--profiler-address", freeAddress(t),
		"--schedule-skip-immediately", "--store-validation-frequency", "5s",
		"--uploader-type", "kopia", "--log-level", "info")
}

// stopServer ends Velero's server, as when its pod is gone.
func (v *veleroStack) stopServer() { v.server.stop() }

func (v *veleroStack) launch(t *testing.T, log string, env []string, name string, args ...string) *process {
	t.Helper()
	out, err := os.OpenFile(filepath.Join(v.dir, log), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconfig), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); out.Close(); close(p.exited) }()
	return p
}

// locationPhase checks the phase Velero gives the BackupStorageLocation.
func (v *veleroStack) locationPhase(want string) func() error {
	return func() error {
		bsl, err := veleroGet("BackupStorageLocation", "default")
		if err != nil {
			return err
		}
		if phase, _, _ := unstructured.NestedString(bsl.Object, "status", "phase"); phase != want {
			return fmt.Errorf("BackupStorageLocation default is %q, want %q", phase, want)
		}
		return nil
	}
}

// backupPhase checks the phase of a Backup, which Velero writes.
func backupPhase(name string, phases ...string) func() error {
	return func() error {
		b, err := veleroGet("Backup", name)
		if err != nil {
			return err
		}
		phase, _, _ := unstructured.NestedString(b.Object, "status", "phase")
		for _, p := range phases {
			if phase == p {
				return nil
			}
		}
		return fmt.Errorf("Backup %s is %q, want one of %v", name, phase, phases)
	}
}

// restore asks Velero to restore a backup's namespace under another name, and waits for it.
func restore(t *testing.T, name, backupName, from, to string) {
	t.Helper()
	r := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "velero.io/v1", "kind": "Restore",
		"metadata": map[string]any{"name": name, "namespace": "velero"},
		"spec": map[string]any{"backupName": backupName, "includedNamespaces": []any{from},
			"namespaceMapping": map[string]any{from: to}},
	}}
	if err := k8s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, func() error {
		got, err := veleroGet("Restore", name)
		if err != nil {
			return err
		}
		if phase, _, _ := unstructured.NestedString(got.Object, "status", "phase"); phase != "Completed" {
			return fmt.Errorf("Restore %s is %q: %v", name, phase, got.Object["status"])
		}
		return nil
	})
}
