package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// deploymentApp is a catalogue entry with one Deployment and its Service; podSecurity holds the
// pod-level securityContext, so that a test can break Pod Security on purpose.
func deploymentApp(name, image, podSecurity string) *v1alpha1.SharedApplication {
	container := `{"name":"web","image":"` + image + `","ports":[{"containerPort":8080}],
		"resources":{"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"cpu":"200m","memory":"128Mi"}},
		"securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}`
	deployment := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `"},"spec":{"replicas":2,
		"selector":{"matchLabels":{"app":"` + name + `"}},
		"template":{"metadata":{"labels":{"app":"` + name + `"}},"spec":{"securityContext":` + podSecurity + `,"containers":[` + container + `]}}}}`
	service := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"` + name + `"},"spec":{"selector":{"app":"` + name + `"},"ports":[{"port":80,"targetPort":8080}]}}`
	return &v1alpha1.SharedApplication{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.SharedApplicationSpec{
			Version: "1.0.0",
			Exposes: []v1alpha1.ExposedPort{{Service: name, Port: 80}},
			Resources: []v1alpha1.Resource{
				{RawExtension: runtime.RawExtension{Raw: []byte(deployment)}},
				{RawExtension: runtime.RawExtension{Raw: []byte(service)}},
			},
		},
	}
}

const restricted = `{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}}`

func TestApplicationsRunOnTheCluster(t *testing.T) {
	ctx := context.Background()
	intranet := deploymentApp("intranet", "nginxinc/nginx-unprivileged:1.26", restricted)
	create(t, intranet)
	create(t, deploymentApp("rootly", "nginx:1.27", `{}`)) // runs as root: refused by Pod Security
	commune := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "huy"}, Spec: v1alpha1.CommuneSpec{NIS: "61031",
		TenantSpec: v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{{Name: "intranet"}}}}}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "huy"}, Spec: v1alpha1.CPASSpec{CommuneRef: "huy",
		Synergy: v1alpha1.SynergySpec{SharedApplications: []string{"intranet"}}}}
	create(t, commune)
	create(t, cpas)

	// kube-controller-manager and kwok's nodes really run the Deployment
	eventually(t, 2*time.Minute, ready(commune))
	eventually(t, time.Minute, ready(cpas))
	d := &appsv1.Deployment{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-huy", Name: "intranet"}, d); err != nil {
		t.Fatal(err)
	}
	if d.Status.AvailableReplicas != 2 {
		t.Errorf("available replicas %d, want 2", d.Status.AvailableReplicas)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "cpas-huy", Name: "intranet"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("the CPAS shares the commune's instance and runs no copy (%v)", err)
	}
	svc := &corev1.Service{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "cpas-huy", Name: "intranet"}, svc); err != nil || svc.Spec.ExternalName != "intranet.commune-huy.svc.cluster.local" {
		t.Errorf("synergy service: %v %+v", err, svc.Spec)
	}
	out := kubectl(t, "get", "commune", "huy")
	t.Logf("kubectl get commune huy:\n%s", out)
	if !strings.Contains(out, "1/1") {
		t.Errorf("the Apps column should read 1/1")
	}

	// a workload that Pod Security refuses: the reason reaches the tenant's condition
	base := commune.DeepCopy()
	commune.Spec.Applications = append(commune.Spec.Applications, v1alpha1.ApplicationSubscription{Name: "rootly"})
	if err := k8s.Patch(ctx, commune, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, hasCondition(commune, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, "", "violates PodSecurity"))
	t.Logf("the user sees: %s", meta.FindStatusCondition(commune.Status.Conditions, v1alpha1.ConditionApplicationsReady).Message)

	// unsubscribing prunes exactly that application
	base = commune.DeepCopy()
	commune.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "intranet"}}
	if err := k8s.Patch(ctx, commune, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, gone(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "commune-huy", Name: "rootly"}}))
	eventually(t, time.Minute, gone(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "commune-huy", Name: "rootly"}}))
	eventually(t, time.Minute, ready(commune))

	// a new image in the catalogue rolls the tenant
	base2 := intranet.DeepCopy()
	intranet.Spec.Version = "1.1.0"
	intranet.Spec.Images = []v1alpha1.Image{{Name: "nginxinc/nginx-unprivileged", NewTag: "1.27"}}
	if err := k8s.Patch(ctx, intranet, client.MergeFrom(base2)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-huy", Name: "intranet"}, d); err != nil {
			return err
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginxinc/nginx-unprivileged:1.27" {
			return fmt.Errorf("image %s", img)
		}
		if d.Status.UpdatedReplicas != 2 || d.Status.AvailableReplicas != 2 {
			return fmt.Errorf("rollout: %d updated, %d available", d.Status.UpdatedReplicas, d.Status.AvailableReplicas)
		}
		return ready(commune)()
	})
	for _, a := range commune.Status.Applications {
		if a.Name == "intranet" && a.Version != "1.1.0" {
			t.Errorf("status version %s, want 1.1.0", a.Version)
		}
	}
}
