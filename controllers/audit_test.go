package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/audit"
)

// The operator audits a tenant when it becomes Ready and when it is Ready at a new generation: the
// counts land in status.audit, AuditClean says whether anything is of high severity, the metric
// shows it, and Ready does not depend on it.
func TestTheOperatorAuditsEachTenant(t *testing.T) {
	ctx := context.Background()
	// another tenant, which the open policy below lets in
	create(t, newCommune("audit-bernissart", "51009"))
	c := newCommune("audit-beloeil", "51008")
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAuditClean, metav1.ConditionTrue, v1alpha1.ReasonNoHighFinding))
	get(t, c.Name, c)
	first := c.Status.Audit
	if first == nil || first.ObservedGeneration != c.Generation || first.High != 0 || first.LastEvaluationTime.IsZero() {
		t.Fatalf("status.audit of a clean tenant: %+v", first)
	}

	// a policy of someone else's opens the namespace to every other namespace
	open := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "open-to-all", Namespace: c.TenantNamespace()},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}}},
		},
	}
	create(t, open)
	// the next audit comes with the next generation (or the interval)
	patch(t, c, func() {
		c.Spec.Viewers = []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "beloeil-auditeurs"}}
	})
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAuditClean, metav1.ConditionFalse, v1alpha1.ReasonHighFindings))
	get(t, c.Name, c)
	a := c.Status.Audit
	if a == nil || a.High < 1 || a.Medium < 1 || a.ObservedGeneration != c.Generation {
		t.Fatalf("status.audit after an open policy: %+v", a)
	}
	if err := conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, "")(); err != nil {
		t.Errorf("a high finding made the tenant not Ready: %v", err)
	}
	eventually(t, wait, metricAtLeast("mutualis_audit_findings", map[string]string{"kind": "Commune", "name": c.Name, "severity": "high"}, float64(a.High)))

	// the policy removed, the next generation is clean again
	if err := k8s.Delete(ctx, open); err != nil {
		t.Fatal(err)
	}
	patch(t, c, func() { c.Spec.Viewers = nil })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAuditClean, metav1.ConditionTrue, v1alpha1.ReasonNoHighFinding))
	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
			return err
		}
		if a := c.Status.Audit; a == nil || a.High != 0 || a.Medium != 0 {
			return fmt.Errorf("status.audit after the fix: %+v", a)
		}
		return nil
	})
}

// A tenant admin who labels the tenant's data out of Velero's backups cannot do it unseen: the
// operator's audit reports each object so labelled as a high finding, and the tenant is no longer
// AuditClean until the label is gone.
func TestDataLabelledOutOfTheBackupsIsAHighFinding(t *testing.T) {
	ctx := context.Background()
	c := newCommune("audit-comines", "57097")
	c.Spec.Admins = []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "comines-it"}}
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAuditClean, metav1.ConditionTrue, v1alpha1.ReasonNoHighFinding))

	admin := asUser(t, "marie@comines", "comines-it")
	minutes := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "council-minutes", Namespace: c.TenantNamespace(),
		Labels: map[string]string{audit.LabelExcludeFromBackup: "true"}}, Data: map[string]string{"2026-12-01": "adopted"}}
	if err := admin.Create(ctx, minutes); err != nil {
		t.Fatalf("the tenant admin creates its ConfigMap: %v", err)
	}
	// the next audit comes with the next generation (or the interval)
	patch(t, c, func() { c.Spec.DisplayName = "Comines-Warneton" })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAuditClean, metav1.ConditionFalse, v1alpha1.ReasonHighFindings))

	in, err := audit.Gather(ctx, k8s, c, "", v1alpha1.TenancyPolicySpec{}, nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := in.ExcludedFromBackup; len(got) != 1 || got[0] != "ConfigMap/council-minutes" {
		t.Errorf("the objects out of the backups: %v", got)
	}

	base := minutes.DeepCopy()
	delete(minutes.Labels, audit.LabelExcludeFromBackup)
	if err := admin.Patch(ctx, minutes, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	patch(t, c, func() { c.Spec.DisplayName = "Comines" })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAuditClean, metav1.ConditionTrue, v1alpha1.ReasonNoHighFinding))
}
