package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/tenant"
)

const wait = 20 * time.Second

func newCommune(name, nis string, mutate ...func(*v1alpha1.Commune)) *v1alpha1.Commune {
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.CommuneSpec{NIS: nis}}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func newCPAS(name, commune string, mutate ...func(*v1alpha1.CPAS)) *v1alpha1.CPAS {
	c := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.CPASSpec{CommuneRef: commune}}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func get(t *testing.T, key string, obj client.Object) {
	t.Helper()
	ns, name, found := strings.Cut(key, "/")
	if !found {
		ns, name = "", key
	}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatalf("getting %T %s: %v", obj, key, err)
	}
}

// patch changes an object with a merge patch, which does not conflict with the operator's status
// writes the way an update with a stale resourceVersion would.
func patch(t *testing.T, obj client.Object, change func()) {
	t.Helper()
	base := obj.DeepCopyObject().(client.Object)
	change()
	if err := k8s.Patch(context.Background(), obj, client.MergeFrom(base)); err != nil {
		t.Fatalf("patching %T %s: %v", obj, obj.GetName(), err)
	}
}

func namespaceAbsent(t *testing.T, name string) {
	t.Helper()
	err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, &corev1.Namespace{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s should not exist (err=%v)", name, err)
	}
}

// waitQuiet waits until the operator has made no write for two seconds: the reconciles that
// status writes and earlier tests caused have run out.
func waitQuiet(t *testing.T) {
	t.Helper()
	quiet := operatorWrites.Load()
	eventually(t, wait, func() error {
		time.Sleep(2 * time.Second)
		if now := operatorWrites.Load(); now != quiet {
			quiet = now
			return fmt.Errorf("the operator is still writing")
		}
		return nil
	})
}

// stalledSaying waits for a tenant to stall for a reason, and checks that the message says want.
func stalledSaying(t *testing.T, obj v1alpha1.Tenant, reason, want string) {
	t.Helper()
	eventually(t, wait, conditionIs(obj, v1alpha1.ConditionStalled, metav1.ConditionTrue, reason))
	msg := message(obj, v1alpha1.ConditionStalled)
	t.Logf("the user sees: %s", msg)
	if !strings.Contains(msg, want) {
		t.Errorf("the message should say %q: %s", want, msg)
	}
}

func message(obj v1alpha1.Tenant, condType string) string {
	if c := meta.FindStatusCondition(obj.TenantStatus().Conditions, condType); c != nil {
		return c.Message
	}
	return ""
}

func TestCommuneBecomesReadyWithTheTenantContract(t *testing.T) {
	c := newCommune("liege", "62063", func(c *v1alpha1.Commune) {
		c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "liege-it"}}
		c.Spec.Viewers = []rbacv1.Subject{{Kind: "User", Name: "echevin@liege.be"}}
		c.Spec.Network.EgressCIDRs = []v1alpha1.CIDR{"192.0.2.0/24"}
		c.Spec.EnterpriseNumber = "0841.470.248"
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady))

	if c.Status.Tier != "XXL" || c.Status.Namespace != "commune-liege" {
		t.Errorf("status tier %q namespace %q, want XXL commune-liege", c.Status.Tier, c.Status.Namespace)
	}
	for _, part := range []string{v1alpha1.ConditionNamespaceReady, v1alpha1.ConditionQuotaReady, v1alpha1.ConditionAccessReady, v1alpha1.ConditionNetworkReady, v1alpha1.ConditionNISCurrent} {
		if err := conditionIs(c, part, metav1.ConditionTrue, "")(); err != nil {
			t.Error(err)
		}
	}
	if err := conditionIs(c, v1alpha1.ConditionBackupReady, metav1.ConditionTrue, "BackupPending")(); err != nil {
		t.Error(err)
	}
	if err := conditionIs(c, v1alpha1.ConditionStalled, metav1.ConditionFalse, "")(); err != nil {
		t.Error(err)
	}
	if !strings.Contains(strings.Join(c.Finalizers, ","), v1alpha1.Finalizer) {
		t.Errorf("finalizer missing: %v", c.Finalizers)
	}

	ns := &corev1.Namespace{}
	get(t, "commune-liege", ns)
	for k, v := range map[string]string{
		v1alpha1.LabelManagedBy: "mutualis", v1alpha1.LabelTenant: "commune-liege", v1alpha1.LabelKind: "commune",
		v1alpha1.LabelNIS: "62063", v1alpha1.LabelTier: "XXL", "pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted",
	} {
		if ns.Labels[k] != v {
			t.Errorf("namespace label %s=%q, want %q", k, ns.Labels[k], v)
		}
	}
	if len(ns.OwnerReferences) != 0 {
		t.Errorf("a Retain tenant's namespace must carry no owner reference, got %v", ns.OwnerReferences)
	}

	quota := &corev1.ResourceQuota{}
	get(t, "commune-liege/mutualis-quota", quota)
	if got := quota.Spec.Hard[corev1.ResourceRequestsCPU]; got.Cmp(resource.MustParse("64")) != 0 {
		t.Errorf("XXL quota requests.cpu = %s, want 64", got.String())
	}
	limits := &corev1.LimitRange{}
	get(t, "commune-liege/mutualis-limits", limits)
	if len(limits.Spec.Limits) != 1 || limits.Spec.Limits[0].Default.Memory().String() != "1Gi" {
		t.Errorf("limit range: %+v", limits.Spec.Limits)
	}

	admins := &rbacv1.RoleBinding{}
	get(t, "commune-liege/mutualis-admins", admins)
	if admins.RoleRef.Name != "mutualis-tenant-admin" || len(admins.Subjects) != 1 || admins.Subjects[0].Name != "liege-it" {
		t.Errorf("admins binding: %+v %+v", admins.RoleRef, admins.Subjects)
	}
	viewers := &rbacv1.RoleBinding{}
	get(t, "commune-liege/mutualis-viewers", viewers)
	if viewers.RoleRef.Name != "mutualis-tenant-viewer" || len(viewers.Subjects) != 1 || viewers.Subjects[0].Name != "echevin@liege.be" {
		t.Errorf("viewers binding: %+v %+v", viewers.RoleRef, viewers.Subjects)
	}
	access := &rbacv1.ClusterRole{}
	get(t, "mutualis-tenant-commune-liege", access)
	// its own Commune, its namespace and the cell's policy, each by name; no catalogue entry, since
	// it uses none
	if len(access.Rules) != 3 || access.Rules[0].ResourceNames[0] != "liege" || access.Rules[1].ResourceNames[0] != "commune-liege" ||
		access.Rules[2].Resources[0] != "tenancypolicies" || access.Rules[2].ResourceNames[0] != v1alpha1.TenancyPolicyName {
		t.Errorf("access role: %+v", access.Rules)
	}
	for _, rule := range access.Rules {
		if len(rule.ResourceNames) != 1 || len(rule.Verbs) != 1 || rule.Verbs[0] != "get" {
			t.Errorf("access rule beyond a get by name: %+v", rule)
		}
	}
	accessBinding := &rbacv1.ClusterRoleBinding{}
	get(t, "mutualis-tenant-commune-liege", accessBinding)
	if len(accessBinding.Subjects) != 2 {
		t.Errorf("access binding subjects: %+v", accessBinding.Subjects)
	}
	if len(access.OwnerReferences) != 1 || access.OwnerReferences[0].UID != c.UID {
		t.Errorf("access role must be owned by the Commune: %+v", access.OwnerReferences)
	}

	policies := &networkingv1.NetworkPolicyList{}
	if err := k8s.List(context.Background(), policies, client.InNamespace("commune-liege")); err != nil {
		t.Fatal(err)
	}
	if want := len(tenant.NetworkPolicyNames()); len(policies.Items) != want {
		t.Errorf("network policies: %d, want %d", len(policies.Items), want)
	}
	cidrs := &networkingv1.NetworkPolicy{}
	get(t, "commune-liege/mutualis-egress-cidrs", cidrs)
	if len(cidrs.Spec.Egress) != 1 || cidrs.Spec.Egress[0].To[0].IPBlock.CIDR != "192.0.2.0/24" {
		t.Errorf("egress CIDRs policy: %+v", cidrs.Spec.Egress)
	}
}

func TestCPASWaitsForItsCommuneThenSharesTheNetwork(t *testing.T) {
	app := &v1alpha1.SharedApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "files"},
		Spec: v1alpha1.SharedApplicationSpec{
			Version:   "1.0.0",
			Resources: []v1alpha1.Resource{{RawExtension: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"files"}}`)}}},
			Exposes:   []v1alpha1.ExposedPort{{Service: "files", Port: 80, TargetPort: ptr.To(intstrFromInt(8080))}},
		},
	}
	create(t, app)
	cpas := newCPAS("namur", "namur", func(c *v1alpha1.CPAS) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "files"}}
	})
	create(t, cpas)
	eventually(t, wait, conditionIs(cpas, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonCommuneNotFound))
	if err := conditionIs(cpas, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonCommuneNotFound)(); err != nil {
		t.Error(err)
	}
	t.Logf("the user sees: %s", message(cpas, v1alpha1.ConditionReady))
	namespaceAbsent(t, "cpas-namur")

	commune := newCommune("namur", "92094", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "files"}}
	})
	create(t, commune)
	eventually(t, wait, conditionIs(cpas, v1alpha1.ConditionNetworkReady, metav1.ConditionTrue, ""))
	eventually(t, wait, conditionIs(commune, v1alpha1.ConditionNetworkReady, metav1.ConditionTrue, ""))
	if cpas.Status.NIS != "92094" || cpas.Status.Tier != "XXL" {
		t.Errorf("CPAS status NIS %q tier %q, want 92094 XXL", cpas.Status.NIS, cpas.Status.Tier)
	}

	quota := &corev1.ResourceQuota{}
	get(t, "cpas-namur/mutualis-quota", quota)
	if got := quota.Spec.Hard[corev1.ResourceRequestsCPU]; got.Cmp(resource.MustParse("32")) != 0 {
		t.Errorf("CPAS quota requests.cpu = %s, want 32 (50%% of XXL)", got.String())
	}
	if got := quota.Spec.Hard[corev1.ResourceRequestsMemory]; got.Cmp(resource.MustParse("64Gi")) != 0 {
		t.Errorf("CPAS quota requests.memory = %s, want 64Gi", got.String())
	}

	eventually(t, wait, func() error {
		for ns, partner := range map[string]string{"commune-namur": "cpas-namur", "cpas-namur": "commune-namur"} {
			np := &networkingv1.NetworkPolicy{}
			if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: tenant.NetpolPartner}, np); err != nil {
				return err
			}
			if len(np.Spec.Ingress) != 1 || len(np.Spec.Egress) != 1 {
				return fmt.Errorf("%s partner policy: ingress %d egress %d rules", ns, len(np.Spec.Ingress), len(np.Spec.Egress))
			}
			from := np.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName]
			to := np.Spec.Egress[0].To[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName]
			port := np.Spec.Ingress[0].Ports[0].Port.String()
			if from != partner || to != partner || port != "8080" {
				return fmt.Errorf("%s partner policy: from %s to %s port %s", ns, from, to, port)
			}
		}
		return nil
	})
}

func TestSecondCPASForOneCommuneIsStalled(t *testing.T) {
	create(t, newCommune("mons", "53053"))
	first := newCPAS("mons", "mons")
	create(t, first)
	eventually(t, wait, conditionIs(first, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	time.Sleep(1100 * time.Millisecond) // creation timestamps have a one-second resolution
	second := newCPAS("mons-bis", "mons")
	create(t, second)
	stalledSaying(t, second, v1alpha1.ReasonDuplicateCPAS, "already has CPAS mons")
	namespaceAbsent(t, "cpas-mons-bis")
	if err := conditionIs(first, v1alpha1.ConditionReady, metav1.ConditionTrue, "")(); err != nil {
		t.Errorf("the first CPAS must not be touched: %v", err)
	}
}

func TestTwoCommunesWithOneNISTheOldestWins(t *testing.T) {
	older := newCommune("charleroi", "52011")
	create(t, older)
	eventually(t, wait, conditionIs(older, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	time.Sleep(1100 * time.Millisecond)
	younger := newCommune("charleroi-copy", "52011")
	create(t, younger)
	eventually(t, wait, conditionIs(younger, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonDuplicateNIS))
	t.Logf("the user sees: %s", message(younger, v1alpha1.ConditionStalled))
	namespaceAbsent(t, "commune-charleroi-copy")
	consistently(t, time.Second, conditionIs(older, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))

	// once the older one is gone, the other takes over
	if err := k8s.Delete(context.Background(), older); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, conditionIs(younger, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
}

func TestBadTenantsAreStalledAndCreateNothing(t *testing.T) {
	tests := []struct {
		name    string
		tenant  v1alpha1.Tenant
		reason  string
		message string
	}{
		{name: "not Walloon", tenant: newCommune("bruxelles", "21004"), reason: v1alpha1.ReasonUnknownNIS, message: "NIS 21004 is not a Walloon commune"},
		{name: "unknown tier", tenant: newCommune("hannut", "64034", func(c *v1alpha1.Commune) { c.Spec.Tier = "XXXL" }),
			reason: v1alpha1.ReasonUnknownTier, message: `tier "XXXL" is not defined`},
		{name: "CPAS with unknown tier", tenant: newCPAS("hannut-cpas", "huy", func(c *v1alpha1.CPAS) { c.Spec.Tier = "Mega" }),
			reason: v1alpha1.ReasonUnknownTier, message: `tier "Mega" is not defined`},
	}
	create(t, newCommune("huy", "61031"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create(t, tt.tenant)
			eventually(t, wait, conditionIs(tt.tenant, v1alpha1.ConditionStalled, metav1.ConditionTrue, tt.reason))
			msg := message(tt.tenant, v1alpha1.ConditionReady)
			t.Logf("the user sees: %s", msg)
			if !strings.Contains(msg, tt.message) {
				t.Errorf("Ready message %q should contain %q", msg, tt.message)
			}
			if err := conditionIs(tt.tenant, v1alpha1.ConditionReconciling, metav1.ConditionFalse, "")(); err != nil {
				t.Error(err)
			}
			namespaceAbsent(t, tt.tenant.TenantNamespace())
		})
	}
}

func TestRetiredNISWorksWithAWarning(t *testing.T) {
	c := newCommune("bertogne", "82005")
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	if err := conditionIs(c, v1alpha1.ConditionNISCurrent, metav1.ConditionFalse, v1alpha1.ReasonRetiredNIS)(); err != nil {
		t.Fatal(err)
	}
	if msg := message(c, v1alpha1.ConditionNISCurrent); !strings.Contains(msg, "successor is 82039") {
		t.Errorf("NISCurrent message %q should name the successor", msg)
	}
	eventually(t, wait, warningEvent("bertogne", v1alpha1.ReasonRetiredNIS))
}

func TestExistingNamespaceIsAdoptedOnlyWhenAnnotated(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "commune-wavre", Labels: map[string]string{"owner": "someone-else"}}}
	create(t, ns)
	c := newCommune("wavre", "25112")
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonNamespaceConflict))
	t.Logf("the user sees: %s", message(c, v1alpha1.ConditionStalled))
	consistently(t, 2*time.Second, func() error {
		get(t, "commune-wavre", ns)
		if _, touched := ns.Labels[v1alpha1.LabelManagedBy]; touched || len(ns.OwnerReferences) > 0 {
			return fmt.Errorf("an unmanaged namespace was touched: %v", ns.Labels)
		}
		return nil
	})
	policies := &networkingv1.NetworkPolicyList{}
	if err := k8s.List(context.Background(), policies, client.InNamespace("commune-wavre")); err != nil || len(policies.Items) != 0 {
		t.Fatalf("nothing may be created in a conflicting namespace: %d policies, %v", len(policies.Items), err)
	}

	patch(t, ns, func() { ns.Annotations = map[string]string{v1alpha1.AnnotationAdopt: "commune/wavre"} })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	get(t, "commune-wavre", ns)
	if ns.Labels["owner"] != "someone-else" || ns.Labels[v1alpha1.LabelTenant] != "commune-wavre" {
		t.Errorf("adopted namespace labels: %v", ns.Labels)
	}
}

func TestDriftIsCorrected(t *testing.T) {
	c := newCommune("arlon", "81001")
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	ctx := context.Background()

	np := &networkingv1.NetworkPolicy{}
	get(t, "commune-arlon/mutualis-default-deny", np)
	if err := k8s.Delete(ctx, np); err != nil {
		t.Fatal(err)
	}
	quota := &corev1.ResourceQuota{}
	get(t, "commune-arlon/mutualis-quota", quota)
	patch(t, quota, func() { quota.Spec.Hard[corev1.ResourceRequestsCPU] = resource.MustParse("1000") })
	ns := &corev1.Namespace{}
	get(t, "commune-arlon", ns)
	patch(t, ns, func() {
		delete(ns.Labels, v1alpha1.LabelManagedBy)
		ns.Labels[v1alpha1.LabelTier] = "XXL"
		ns.Labels["pod-security.kubernetes.io/enforce"] = "privileged"
	})
	rb := &rbacv1.RoleBinding{}
	get(t, "commune-arlon/mutualis-admins", rb)
	if err := k8s.Delete(ctx, rb); err != nil {
		t.Fatal(err)
	}

	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-arlon", Name: "mutualis-default-deny"}, np); err != nil {
			return err
		}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-arlon", Name: "mutualis-admins"}, rb); err != nil {
			return err
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(quota), quota); err != nil {
			return err
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ns), ns); err != nil {
			return err
		}
		if ns.Labels[v1alpha1.LabelManagedBy] != "mutualis" || ns.Labels[v1alpha1.LabelTier] != "L" || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			return fmt.Errorf("namespace labels not restored: %v", ns.Labels)
		}
		if got := quota.Spec.Hard[corev1.ResourceRequestsCPU]; got.Cmp(resource.MustParse("16")) != 0 {
			return fmt.Errorf("quota requests.cpu is %s, want 16 (tier L)", got.String())
		}
		return nil
	})
	// the change set says what was taken back: the quota edited by hand was configured
	eventually(t, wait, eventWith(c, v1alpha1.ReasonApplied, "ResourceQuota commune-arlon/mutualis-quota configured"))
}

func TestNoWritesWhenNothingChanged(t *testing.T) {
	create(t, webApp("notices", "nginxinc/nginx-unprivileged:1.26"))
	create(t, sharedApp("bulletin"))
	c := newCommune("durbuy", "83012", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "notices"}, {Name: "bulletin"}}
	})
	create(t, c)
	cpas := newCPAS("durbuy", "durbuy", func(c *v1alpha1.CPAS) { c.Spec.Synergy.SharedApplications = []string{"notices"} })
	create(t, cpas)
	markAvailable(t, "commune-durbuy", "notices")
	markAvailable(t, "mutualis-app-bulletin", "bulletin")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	eventually(t, wait, conditionIs(cpas, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	// let the reconciles that the status writes caused, and those of earlier tests, run out
	waitQuiet(t)

	before := operatorWrites.Load()
	reconciles, catalogue := reconcileCount("commune"), reconcileCount("sharedapplication")
	// a change that does not touch the spec still wakes the tenant, and the shared instance it
	// subscribes to: they must find nothing to do
	patch(t, c, func() { c.Annotations = map[string]string{"example.org/poke": "1"} })
	eventually(t, wait, func() error {
		if reconcileCount("commune") <= reconciles || reconcileCount("sharedapplication") <= catalogue {
			return fmt.Errorf("the Commune and its shared instance were not reconciled again")
		}
		return nil
	})
	time.Sleep(time.Second)
	// the event broadcaster finishes the series of other tenants' events on its own clock (client-go
	// patches a series six minutes after its last event): those writes are no reconcile's
	var writes []string
	for _, w := range writesSince(before) {
		if strings.Contains(w, "/events/") && !strings.Contains(w, "/events/durbuy.") && !strings.Contains(w, "/events/bulletin.") {
			continue
		}
		writes = append(writes, w)
	}
	if len(writes) != 0 {
		t.Fatalf("a reconcile that found nothing to change made %d writes: %v", len(writes), writes)
	}
}

func TestSuspendStopsApplyingChanges(t *testing.T) {
	create(t, webApp("thermes", "nginxinc/nginx-unprivileged:1.26"))
	c := newCommune("spa", "63072", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "thermes"}}
	})
	create(t, c)
	markAvailable(t, "commune-spa", "thermes")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	patch(t, c, func() { c.Spec.Suspend = true })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSuspended))
	replicas := func(want int32) func() error {
		return func() error {
			d := &appsv1.Deployment{}
			if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "commune-spa", Name: "thermes"}, d); err != nil {
				return err
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != want {
				return fmt.Errorf("replicas %v, want %d", d.Spec.Replicas, want)
			}
			return nil
		}
	}
	eventually(t, wait, replicas(0))
	np := &networkingv1.NetworkPolicy{}
	get(t, "commune-spa/mutualis-dns", np)
	if err := k8s.Delete(context.Background(), np); err != nil {
		t.Fatal(err)
	}
	consistently(t, 2*time.Second, func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(np), &networkingv1.NetworkPolicy{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("a suspended tenant must not be changed, but the policy is back (%v)", err)
		}
		return nil
	})
	patch(t, c, func() { c.Spec.Suspend = false })
	// back to the application's own count: the base sets none, so the default of one
	eventually(t, wait, replicas(1))
	markAvailable(t, "commune-spa", "thermes")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	get(t, "commune-spa/mutualis-dns", np)
}

func TestPolicyTiersAndPodSecurityApply(t *testing.T) {
	c := newCommune("aywaille", "62009")
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	policy := &v1alpha1.TenancyPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: v1alpha1.TenancyPolicySpec{
			PodSecurity: "baseline",
			Tiers: []v1alpha1.Tier{{
				Name:  "ALL",
				Quota: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("7")},
			}},
		},
	}
	create(t, policy)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), policy) })
	eventually(t, wait, func() error {
		ns := &corev1.Namespace{}
		quota := &corev1.ResourceQuota{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: "commune-aywaille"}, ns); err != nil {
			return err
		}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "commune-aywaille", Name: tenant.QuotaName}, quota); err != nil {
			return err
		}
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" || ns.Labels[v1alpha1.LabelTier] != "ALL" {
			return fmt.Errorf("namespace labels %v", ns.Labels)
		}
		// the tier's own pods, and the guards it did not repeat
		hard := quota.Spec.Hard
		nodePorts, secrets := hard[corev1.ResourceServicesNodePorts], hard[corev1.ResourceSecrets]
		if hard.Pods().Value() != 7 || len(hard) < 10 || !nodePorts.IsZero() || secrets.Value() != 800 {
			return fmt.Errorf("quota %v", hard)
		}
		return nil
	})
	eventually(t, wait, func() error {
		if err := conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, "")(); err != nil {
			return err
		}
		if c.Status.Tier != "ALL" {
			return fmt.Errorf("status tier %q, want ALL", c.Status.Tier)
		}
		return nil
	})
}

func TestRetainKeepsTheNamespaceAndANewTenantAdoptsIt(t *testing.T) {
	ctx := context.Background()
	c := newCommune("ciney", "91030", func(c *v1alpha1.Commune) { c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete })
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	ns := &corev1.Namespace{}
	get(t, "commune-ciney", ns)
	if len(ns.OwnerReferences) != 0 {
		t.Fatalf("not even a Delete tenant's namespace carries an owner reference: %v", ns.OwnerReferences)
	}
	// a namespace from an earlier version of mutualis, owned by its Delete tenant, while that tenant
	// is suspended (no step of the tenant contract runs): the reference goes all the same
	patch(t, c, func() { c.Spec.Suspend = true })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSuspended))
	patch(t, ns, func() {
		ns.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Commune", Name: c.Name, UID: c.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	})
	eventually(t, wait, func() error {
		get(t, "commune-ciney", ns)
		if len(ns.OwnerReferences) != 0 {
			return fmt.Errorf("owner references left: %v", ns.OwnerReferences)
		}
		return nil
	})
	patch(t, c, func() { c.Spec.Suspend = false; c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	data := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "council-minutes", Namespace: "commune-ciney"}, Data: map[string]string{"2026-11": "…"}}
	create(t, data)

	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	get(t, c.Name, c)
	deleted := c.DeletionTimestamp.UTC().Format(time.RFC3339)
	eventually(t, wait, absent(c))
	get(t, "commune-ciney", ns)
	if ns.DeletionTimestamp != nil || ns.Labels[v1alpha1.LabelOrphaned] != "true" || len(ns.OwnerReferences) != 0 {
		t.Fatalf("retained namespace: deleting=%v labels=%v owners=%v", ns.DeletionTimestamp, ns.Labels, ns.OwnerReferences)
	}
	// the date its tenant went, which the cell's review of kept namespaces counts from
	if got := ns.Annotations[v1alpha1.AnnotationOrphanedAt]; got != deleted {
		t.Errorf("the kept namespace's %s is %q, want the tenant's deletion %s", v1alpha1.AnnotationOrphanedAt, got, deleted)
	}
	eventually(t, wait, metricAtLeast("mutualis_retained_namespace_orphaned_timestamp_seconds",
		map[string]string{"namespace": "commune-ciney", "kind": "commune"}, float64(c.DeletionTimestamp.Unix())))
	get(t, "commune-ciney/council-minutes", &corev1.ConfigMap{})
	get(t, "commune-ciney/mutualis-quota", &corev1.ResourceQuota{})
	get(t, "commune-ciney/mutualis-default-deny", &networkingv1.NetworkPolicy{})
	if err := k8s.Get(ctx, client.ObjectKey{Name: "mutualis-tenant-commune-ciney"}, &rbacv1.ClusterRole{}); !apierrors.IsNotFound(err) {
		t.Errorf("the access ClusterRole of a deleted tenant should be gone (%v)", err)
	}

	again := newCommune("ciney", "91030")
	create(t, again)
	eventually(t, wait, conditionIs(again, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	get(t, "commune-ciney", ns)
	if _, orphaned := ns.Labels[v1alpha1.LabelOrphaned]; orphaned {
		t.Errorf("the adopted namespace is still labelled orphaned")
	}
	if at, kept := ns.Annotations[v1alpha1.AnnotationOrphanedAt]; kept {
		t.Errorf("the adopted namespace still says it was orphaned at %s", at)
	}
	get(t, "commune-ciney/council-minutes", &corev1.ConfigMap{})
}

func TestDeleteRemovesTheNamespaceBeforeReleasingTheTenant(t *testing.T) {
	ctx := context.Background()
	c := newCommune("gedinne", "91054", func(c *v1alpha1.Commune) { c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyDelete })
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	if err := k8s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	// the final backup comes first: the namespace is intact until Velero completes it
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonFinalBackupInProgress))
	ns := &corev1.Namespace{}
	consistently(t, time.Second, func() error {
		get(t, "commune-gedinne", ns)
		if ns.DeletionTimestamp != nil {
			return fmt.Errorf("the namespace is deleted before its final backup completed")
		}
		return nil
	})
	playVelero(t, backup.FinalBackupName("commune-gedinne", c.UID), "Completed", "")
	// envtest has no namespace controller: the namespace stays Terminating, and the tenant waits
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonDeleting))
	get(t, "commune-gedinne", ns)
	if ns.DeletionTimestamp == nil {
		t.Fatal("the namespace of a Delete tenant should be deleting")
	}
	finalizeNamespace(t, ns)
	eventually(t, wait, absent(c))
}

// The guard of the scale targets, small enough for make test: 30 tenants with an application and
// a shared instance converge; then every one of them is woken and must find everything in the
// cache and nothing to write. A write loop or a live read of what the cache holds fails it.
func TestThirtyTenantsReadFromTheCacheAndWriteNothingIdle(t *testing.T) {
	create(t, webApp("guichet", "nginxinc/nginx-unprivileged:1.26"))
	create(t, sharedApp("agenda-partage"))
	var tenants []*v1alpha1.Commune
	for i, nis := range []string{
		"25005", "25014", "25015", "25018", "25023", "25031", "25037", "25043", "25044", "25048",
		"25050", "25068", "25084", "25091", "25107", "25110", "57093", "25117", "25118", "25119",
		"25120", "25121", "25122", "25123", "25124", "57003", "57018", "57027", "57062", "57064",
	} {
		c := newCommune(fmt.Sprintf("guard-%02d", i), nis, func(c *v1alpha1.Commune) {
			c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "guichet"}, {Name: "agenda-partage"}}
		})
		create(t, c)
		tenants = append(tenants, c)
	}
	markAvailable(t, "mutualis-app-agenda-partage", "agenda-partage")
	for _, c := range tenants {
		// one worker per kind serves the 30 tenants and whatever earlier tests left waking
		eventually(t, 3*wait, func() error {
			err := k8s.Get(context.Background(), client.ObjectKey{Namespace: c.TenantNamespace(), Name: "guichet"}, &appsv1.Deployment{})
			if err != nil {
				_ = k8s.Get(context.Background(), client.ObjectKeyFromObject(c), c)
				return fmt.Errorf("%s: %w (conditions %v)", c.Name, err, c.Status.Conditions)
			}
			return nil
		})
		markAvailable(t, c.TenantNamespace(), "guichet")
	}
	for _, c := range tenants {
		eventually(t, 3*wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	}
	waitQuiet(t)
	writes, reads, reconciles := operatorWrites.Load(), operatorReads.Load(), reconcileCount("commune")
	for _, c := range tenants {
		patch(t, c, func() { c.Annotations = map[string]string{"example.org/poke": "1"} })
	}
	eventually(t, wait, func() error {
		if got := reconcileCount("commune") - reconciles; got < float64(len(tenants)) {
			return fmt.Errorf("%v of %d tenants reconciled again", got, len(tenants))
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	if got := operatorWrites.Load() - writes; got != 0 {
		t.Errorf("idle reconciles of %d tenants made %d writes: %v", len(tenants), got, writesSince(writes))
	}
	got := operatorReads.Load() - reads
	t.Logf("idle reconciles of %d tenants read the API server %d times", len(tenants), got)
	if got != 0 {
		live := readsSince(reads)
		if len(live) > 10 {
			live = live[:10]
		}
		t.Errorf("idle reconciles of %d tenants read the API server live %d times, what the cache holds: %v", len(tenants), got, live)
	}
}
