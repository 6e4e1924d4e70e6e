package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// sampleApplication reads a SharedApplication of config/samples/catalog.
func sampleApplication(t *testing.T, name string) *v1alpha1.SharedApplication {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "config", "samples", "catalog", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, _, _ := strings.Cut(string(data), "\n---\n")
	app := &v1alpha1.SharedApplication{}
	if err := yaml.UnmarshalStrict([]byte(doc), app); err != nil {
		t.Fatal(err)
	}
	return app
}

// The shipped catalogue on a real control plane: a commune with Nextcloud and Jitsi, its CPAS on
// the commune's Nextcloud. Jitsi's images need Pod Security baseline (see its sample), so the
// policy says baseline for this test.
func TestCatalogueOnTheCluster(t *testing.T) {
	ctx := context.Background()
	policy := &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: v1alpha1.TenancyPolicySpec{PodSecurity: "baseline"}}
	create(t, policy)
	defer func() { _ = k8s.Delete(ctx, policy) }()
	// the volumes that a storage provisioner would give
	for name, size := range map[string]string{"pv-nextcloud-data": "50Gi", "pv-nextcloud-pg": "10Gi"} {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + name}},
		}}
		create(t, pv)
	}
	create(t, sampleApplication(t, "nextcloud"))
	create(t, sampleApplication(t, "jitsi"))
	commune := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.CommuneSpec{NIS: "92094",
		TenantSpec: v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{
			{Name: "nextcloud", Parameters: map[string]string{"domain": "cloud.namur.be"}},
			{Name: "jitsi", Parameters: map[string]string{"public-url": "https://visio.namur.be"}},
		}}}}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.CPASSpec{CommuneRef: "namur",
		Synergy: v1alpha1.SynergySpec{SharedApplications: []string{"nextcloud"}}}}
	create(t, commune)
	create(t, cpas)

	eventually(t, 3*time.Minute, ready(commune))
	eventually(t, time.Minute, ready(cpas))
	for _, name := range []string{"nextcloud", "nextcloud-redis", "jitsi-web", "jitsi-prosody", "jitsi-jicofo", "jitsi-jvb"} {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-namur", Name: name}, d); err != nil {
			t.Fatal(err)
		}
		if d.Status.AvailableReplicas < 1 {
			t.Errorf("deployment %s: %d available", name, d.Status.AvailableReplicas)
		}
	}
	sts := &appsv1.StatefulSet{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-namur", Name: "nextcloud-postgres"}, sts); err != nil || sts.Status.ReadyReplicas != 1 {
		t.Errorf("postgres: %v, %d ready", err, sts.Status.ReadyReplicas)
	}
	out := kubectl(t, "get", "communes,cpas", "namur")
	t.Logf("kubectl get communes,cpas namur:\n%s", out)
	if !strings.Contains(out, "2/2") || !strings.Contains(out, "1/1") {
		t.Errorf("Apps columns should read 2/2 (commune) and 1/1 (CPAS)")
	}
	out = kubectl(t, "get", "sharedapplications")
	t.Logf("kubectl get sharedapplications:\n%s", out)
	eventually(t, time.Minute, func() error {
		app := &v1alpha1.SharedApplication{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: "nextcloud"}, app); err != nil {
			return err
		}
		if app.Status.Subscribed != 2 || app.Status.Ready != 2 {
			return fmt.Errorf("nextcloud status %+v", app.Status)
		}
		return nil
	})
}
