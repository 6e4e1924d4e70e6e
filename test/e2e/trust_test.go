package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// kubectlAs runs kubectl as a user of the tenant, the way kubectl --as and --as-group do, and
// returns its output and error.
func kubectlAs(user, group string, args ...string) (string, error) {
	as := []string{"--as=" + user}
	if group != "" {
		as = append(as, "--as-group="+group)
	}
	cmd := exec.Command(filepath.Join(root, "bin", "kubectl"), append(append([]string{"--kubeconfig", kubeconfig}, args...), as...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Over time, on the local cluster, as a commune's people act with kubectl: an admin removed from
// the spec of a suspended tenant loses the namespace at once, a domain the spec drops takes the
// tenant's Ingress for it along, and once the tenant is deleted with Retain the data stays and
// nobody of the commune may read it any more.
func TestAccessAndDomainsFollowTheSpecOnTheCluster(t *testing.T) {
	ctx := context.Background()
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "olne"}, Spec: v1alpha1.CommuneSpec{NIS: "63057"}}
	c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "olne-it", APIGroup: rbacv1.GroupName}, {Kind: "User", Name: "leaver@olne.be", APIGroup: rbacv1.GroupName}}
	c.Spec.Domains = []v1alpha1.Domain{"olne.be", "fete-olne.be"}
	create(t, c)
	eventually(t, time.Minute, ready(c))
	const ns = "commune-olne"

	if out, _ := kubectlAs("leaver@olne.be", "", "auth", "can-i", "create", "deployments", "-n", ns); out != "yes" {
		t.Fatalf("an admin of the spec may not create deployments: %s", out)
	}
	manifest := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fete, namespace: commune-olne}
spec:
  rules:
    - host: fete-olne.be
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: council-minutes, namespace: commune-olne}
data: {"2026-12": "approved"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectlAs("it@olne.be", "olne-it", "apply", "-f", manifest); err != nil {
		t.Fatalf("the admin applies its site: %v\n%s", err, out)
	}

	// one pull request: suspend the tenant, remove the leaver, drop the festival's domain
	base := c.DeepCopy()
	c.Spec.Suspend = true
	c.Spec.Admins = c.Spec.Admins[:1]
	c.Spec.Domains = []v1alpha1.Domain{"olne.be"}
	if err := k8s.Patch(ctx, c, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, hasCondition(c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSuspended, ""))
	eventually(t, time.Minute, func() error {
		for _, q := range [][]string{{"update", "deployments/scale"}, {"create", "pods"}, {"get", "secrets"}} {
			if out, _ := kubectlAs("leaver@olne.be", "", append([]string{"auth", "can-i"}, append(q, "-n", ns)...)...); out != "no" {
				return fmt.Errorf("the removed admin may still %s in %s: %s", strings.Join(q, " "), ns, out)
			}
		}
		return nil
	})
	eventually(t, time.Minute, gone(&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "fete", Namespace: ns}}))
	// the namespace publishes less right after the Ingress went
	eventually(t, time.Minute, func() error {
		if out, err := kubectlAs("it@olne.be", "olne-it", "apply", "--dry-run=server", "-f", manifest); err == nil || !strings.Contains(out, "fete-olne.be is not among the domains") {
			return fmt.Errorf("the dropped domain can be published again: %v\n%s", err, out)
		}
		return nil
	})

	// deleted with Retain: the data stays, the commune's people go
	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, gone(c))
	if out, _ := kubectlAs("it@olne.be", "olne-it", "auth", "can-i", "get", "configmaps", "-n", ns); out != "no" {
		t.Errorf("a former admin may still read the kept namespace: %s", out)
	}
	if out, err := kubectlAs("it@olne.be", "olne-it", "get", "configmap", "council-minutes", "-n", ns); err == nil {
		t.Errorf("a former admin reads the council's minutes: %s", out)
	}
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "council-minutes"}, cm); err != nil || cm.Data["2026-12"] != "approved" {
		t.Errorf("the kept data: %v %v", err, cm.Data)
	}
}
