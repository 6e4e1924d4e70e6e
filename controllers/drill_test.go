package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/incident"
)

// drillRestores lists the Velero Restores of a tenant's drills.
func drillRestores(t *testing.T, tenantNamespace string) []unstructured.Unstructured {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(backup.RestoreGVK.GroupVersion().WithKind("RestoreList"))
	if err := k8s.List(context.Background(), l, client.InNamespace("velero"), client.MatchingLabels{v1alpha1.LabelRestoreDrill: tenantNamespace}); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// withCompletedBackup gives a tenant one Completed on-demand backup, played as Velero would.
func withCompletedBackup(t *testing.T, c *v1alpha1.Commune) {
	t.Helper()
	patch(t, c, func() { c.Annotations = map[string]string{AnnotationBackupNow: "first"} })
	playVelero(t, backup.OnDemandBackupName(c.TenantNamespace(), "first"), backup.PhaseCompleted, "")
}

// A drill restores into a scratch namespace that nothing of the tenant reaches: no tenant label,
// no role binding, no pod allowed to run, no traffic in or out. Drills run at most as many at once
// as the policy says, and a drill whose restore does not end within the policy's timeout (there
// is no Velero server in these tests) is recorded as failed, its scratch namespace deleted,
// without the tenant becoming not Ready; the slot then goes to the next tenant.
func TestRestoreDrillsAreIsolatedOneAtATimeAndTimeOut(t *testing.T) {
	ctx := context.Background()
	policy := &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.TenancyPolicyName},
		Spec: v1alpha1.TenancyPolicySpec{Backup: v1alpha1.PolicyBackup{RestoreDrills: v1alpha1.PolicyRestoreDrills{
			Concurrency: 1, Timeout: &metav1.Duration{Duration: 8 * time.Second}}}}}
	create(t, policy)
	t.Cleanup(func() { _ = k8s.Delete(ctx, policy) })

	a := newCommune("chapelle-lez-herlaimont", "52010", func(c *v1alpha1.Commune) { c.Spec.Admins = itAdmins("chapelle") })
	b := newCommune("farciennes", "52018")
	for _, c := range []*v1alpha1.Commune{a, b} {
		create(t, c)
		eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		withCompletedBackup(t, c)
	}
	t.Cleanup(func() {
		for _, c := range []*v1alpha1.Commune{a, b} {
			_ = k8s.Delete(ctx, c)
		}
	})
	scratchA, scratchB := backup.ScratchNamespaceName(a.TenantNamespace()), backup.ScratchNamespaceName(b.TenantNamespace())

	patch(t, a, func() { a.Annotations[AnnotationRestoreDrillNow] = "one" })
	scratch := &corev1.Namespace{}
	eventually(t, wait, func() error { return k8s.Get(ctx, client.ObjectKey{Name: scratchA}, scratch) })
	if got := scratch.Labels[v1alpha1.LabelTenant]; got != "" {
		t.Errorf("the scratch namespace carries the tenant label %q: every rule that admits the tenant's namespaces would admit it", got)
	}
	if scratch.Labels[v1alpha1.LabelRestoreDrill] != a.TenantNamespace() || scratch.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("scratch namespace labels %v; want the drill's tenant and Pod Security restricted", scratch.Labels)
	}
	quota := &corev1.ResourceQuota{}
	eventually(t, wait, func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: scratchA, Name: backup.ScratchQuotaName}, quota)
	})
	if pods := quota.Spec.Hard[corev1.ResourcePods]; !pods.IsZero() {
		t.Errorf("the scratch namespace's quota allows %s pods; want none to run", pods.String())
	}
	if _, bounded := quota.Spec.Hard[corev1.ResourceRequestsStorage]; !bounded {
		t.Errorf("the scratch namespace's quota %v does not bound storage as the tenant's does", quota.Spec.Hard)
	}
	// the drill writes its rules one by one and the Restore last: wait for the Restore, so that
	// every rule before it is there to be read
	var restores []unstructured.Unstructured
	eventually(t, wait, func() error {
		if restores = drillRestores(t, a.TenantNamespace()); len(restores) != 1 {
			return fmt.Errorf("drill restores of %s: %d, want 1", a.Name, len(restores))
		}
		return nil
	})
	deny := &networkingv1.NetworkPolicy{}
	get(t, scratchA+"/"+backup.ScratchNetworkPolicyName, deny)
	if len(deny.Spec.PodSelector.MatchLabels)+len(deny.Spec.PodSelector.MatchExpressions) != 0 || len(deny.Spec.Ingress)+len(deny.Spec.Egress) != 0 || len(deny.Spec.PolicyTypes) != 2 {
		t.Errorf("the scratch namespace's network policy %+v does not deny all traffic both ways", deny.Spec)
	}
	bindings := &rbacv1.RoleBindingList{}
	if err := k8s.List(ctx, bindings, client.InNamespace(scratchA)); err != nil || len(bindings.Items) != 0 {
		t.Errorf("role bindings in the scratch namespace: %v (%v); want none", bindings.Items, err)
	}
	itGroup := []string{"chapelle-it"}
	if !may(t, "marc", itGroup, "get", "", "configmaps", "", a.TenantNamespace()) {
		t.Fatal("the tenant admin cannot read its own namespace: the next check would prove nothing")
	}
	if may(t, "marc", itGroup, "get", "", "configmaps", "", scratchA) || may(t, "marc", itGroup, "list", "", "secrets", "", scratchA) {
		t.Error("the tenant admin may read the scratch namespace of its drill")
	}
	spec := restores[0].Object["spec"].(map[string]any)
	mapping, _ := spec["namespaceMapping"].(map[string]any)
	if spec["backupName"] != backup.OnDemandBackupName(a.TenantNamespace(), "first") || mapping[a.TenantNamespace()] != scratchA {
		t.Errorf("the drill restores %v with mapping %v; want the completed backup into %s", spec["backupName"], mapping, scratchA)
	}
	excluded := fmt.Sprint(spec["excludedResources"])
	for _, r := range []string{"rolebindings.rbac.authorization.k8s.io", "pods", "ingresses.networking.k8s.io", "services"} {
		if !strings.Contains(excluded, r) {
			t.Errorf("the drill restores %s (excluded: %s)", r, excluded)
		}
	}
	eventually(t, wait, conditionIs(a, v1alpha1.ConditionRestoreVerified, metav1.ConditionUnknown, v1alpha1.ReasonRestoreDrillRunning))
	eventually(t, wait, metricAtLeast("mutualis_restore_drills_running", nil, 1))
	failedBefore, _ := metricValue("mutualis_restore_drills_total", map[string]string{"kind": "Commune", "result": "Failed"})

	// one slot: the second tenant's drill waits while the first one's scratch namespace exists
	patch(t, b, func() { b.Annotations[AnnotationRestoreDrillNow] = "one" })
	eventually(t, wait, func() error {
		if err := conditionIs(b, v1alpha1.ConditionRestoreVerified, metav1.ConditionUnknown, v1alpha1.ReasonRestoreDrillRunning)(); err != nil {
			return err
		}
		if c := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionRestoreVerified); !strings.Contains(c.Message, "waits for a slot") {
			return fmt.Errorf("RestoreVerified of %s: %q; want it waiting for a slot", b.Name, c.Message)
		}
		return nil
	})
	if err := k8s.Get(ctx, client.ObjectKey{Name: scratchB}, &corev1.Namespace{}); err == nil {
		t.Fatal("a second drill began while the policy allows one at a time")
	}

	// no Velero answers: the drill fails at the policy's timeout, and the tenant stays Ready
	eventually(t, 40*time.Second, conditionIs(a, v1alpha1.ConditionRestoreVerified, metav1.ConditionFalse, v1alpha1.ReasonRestoreDrillFailed))
	last := a.Status.Backup.LastRestoreDrill
	if last == nil || last.Result != v1alpha1.RestoreDrillFailed || !strings.Contains(last.Message, "did not end within") || last.Token != "one" || last.Restore != restores[0].GetName() {
		t.Errorf("status.backup.lastRestoreDrill %+v; want the timed-out drill %s asked by token one", last, restores[0].GetName())
	}
	if a.Status.Backup.LastVerifiedRestore != nil {
		t.Errorf("lastVerifiedRestore %v after a failed drill", a.Status.Backup.LastVerifiedRestore)
	}
	eventually(t, wait, conditionIs(a, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	eventually(t, wait, warningEvent(a.Name, v1alpha1.ReasonRestoreDrillFailed))
	// a failed drill is an incident the tenant's DPO hears of, through the cell's hook
	eventually(t, wait, toldOnce(a.TenantNamespace(), incident.RestoreDrillFailed, "did not end within"))
	eventually(t, wait, metricAtLeast("mutualis_restore_drills_total", map[string]string{"kind": "Commune", "result": "Failed"}, failedBefore+1))
	eventually(t, wait, deleting(scratchA, scratch))
	finalizeNamespace(t, scratch) // envtest runs no namespace controller
	eventually(t, wait, absent(scratch))

	// the slot is free: the second drill begins; the first tenant's token is answered and asks no more
	eventually(t, wait, func() error { return k8s.Get(ctx, client.ObjectKey{Name: scratchB}, &corev1.Namespace{}) })
	consistently(t, 3*time.Second, func() error {
		if n := len(drillRestores(t, a.TenantNamespace())); n != 1 {
			return fmt.Errorf("%d drill restores of %s after its token was answered; want still 1", n, a.Name)
		}
		return nil
	})
	if n := len(drillRestores(t, b.TenantNamespace())); n != 1 {
		t.Errorf("drill restores of %s: %d, want 1", b.Name, n)
	}
}
