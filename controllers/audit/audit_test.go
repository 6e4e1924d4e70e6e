package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// managedPolicies are the network policies the operator applies for the commune of Liège, whose
// Service files exposes 8080 to its CPAS, which exposes 80 back, as the API server stores them.
func managedPolicies(t *testing.T) []networkingv1.NetworkPolicy {
	t.Helper()
	policy := tenant.EffectivePolicy(nil)
	res := &tenant.Resolved{Kind: v1alpha1.KindCommune, Name: "liege", Namespace: "commune-liege", Partner: "cpas-liege",
		Spec:                &v1alpha1.TenantSpec{},
		ExposedPorts:        []v1alpha1.ExposedPort{{Service: "files", Port: 80, TargetPort: ptr.To(intstr.FromInt32(8080))}},
		PartnerExposedPorts: []v1alpha1.ExposedPort{{Service: "delib", Port: 80}},
	}
	return policiesOf(t, res, policy)
}

// policiesOf are the network policies the operator applies for a tenant, as the API server stores
// them.
func policiesOf(t *testing.T, res *tenant.Resolved, policy v1alpha1.TenancyPolicySpec) []networkingv1.NetworkPolicy {
	t.Helper()
	var out []networkingv1.NetworkPolicy
	for _, ac := range tenant.NetworkPolicies(res, policy) {
		raw, err := json.Marshal(ac)
		if err != nil {
			t.Fatal(err)
		}
		var np networkingv1.NetworkPolicy
		if err := json.Unmarshal(raw, &np); err != nil {
			t.Fatal(err)
		}
		np.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "mutualis", Operation: metav1.ManagedFieldsOperationApply,
			FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}}}
		out = append(out, np)
	}
	return out
}

func container(name, image string) corev1.Container {
	return corev1.Container{Name: name, Image: image,
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}},
		SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), ReadOnlyRootFilesystem: ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}
}

// clean is a tenant that follows every rule: the audit finds only who has access, for review.
func clean(t *testing.T) Inputs {
	return Inputs{
		Subject: Subject{Kind: v1alpha1.KindCommune, Name: "liege", Namespace: "commune-liege", Partner: "cpas-liege", Created: now.AddDate(0, -2, 0)},
		Policy: func() v1alpha1.TenancyPolicySpec {
			p := tenant.EffectivePolicy(nil)
			p.AllowedRegistries = []string{"docker.io/library", "ghcr.io/crtpl"}
			return p
		}(),
		Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "commune-liege", Labels: map[string]string{
			v1alpha1.LabelKind: "Commune", v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, labelEnforce: "restricted"}}},
		NetworkPolicies: managedPolicies(t),
		Peers: []Peer{
			{Namespace: "commune-liege", Labels: map[string]string{v1alpha1.LabelKind: "Commune"}},
			{Namespace: "cpas-liege", Labels: map[string]string{v1alpha1.LabelKind: "CPAS"}},
			{Namespace: "commune-namur", Labels: map[string]string{v1alpha1.LabelKind: "Commune"}},
			{Namespace: "cpas-namur", Labels: map[string]string{v1alpha1.LabelKind: "CPAS"}},
			{Namespace: "commune-huy", Labels: map[string]string{v1alpha1.LabelKind: "Commune"}},
		},
		Services: []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "files"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}}}},
		PartnerServices: []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "delib"}, Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}},
		Pods: []corev1.Pod{{
			ObjectMeta: metav1.ObjectMeta{Name: "files-7d9f-abcde", Labels: map[string]string{"app": "files", "pod-template-hash": "7d9f"},
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "files-7d9f", Controller: ptr.To(true)}}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{container("nextcloud", "docker.io/library/nextcloud:30.0.2")},
				InitContainers: []corev1.Container{container("migrate", "ghcr.io/crtpl/migrate@sha256:"+strings.Repeat("a", 64))}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning},
		}},
		Ingresses: []networkingv1.Ingress{{ObjectMeta: metav1.ObjectMeta{Name: "files"}, Spec: networkingv1.IngressSpec{
			TLS:   []networkingv1.IngressTLS{{Hosts: []string{"files.liege.be"}}, {Hosts: []string{"*.liege.be"}}},
			Rules: []networkingv1.IngressRule{{Host: "files.liege.be"}, {Host: "agenda.liege.be"}},
		}}},
		RoleBindings: []rbacv1.RoleBinding{{
			ObjectMeta: metav1.ObjectMeta{Name: "mutualis-admins", Namespace: "commune-liege", Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "mutualis-tenant-admin"},
			Subjects:   []rbacv1.Subject{{Kind: "Group", Name: "liege-it"}},
		}},
		BackupReady: &metav1.Condition{Type: v1alpha1.ConditionBackupReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonBackupSucceeded},
		Backup:      &v1alpha1.BackupStatus{LastVerifiedRestore: ptr.To(metav1.NewTime(now.AddDate(0, 0, -10)))},
		Pools:       []v1alpha1.LicencePool{{ObjectMeta: metav1.ObjectMeta{Name: "delib"}, Spec: v1alpha1.LicencePoolSpec{Application: "ia-delib", Seats: 10, ValidUntil: ptr.To(metav1.NewTime(now.AddDate(1, 0, 0)))}}},
		Now:         now,
	}
}

func TestACleanTenantHasOnlyItsAccessToReview(t *testing.T) {
	got := Evaluate(clean(t))
	if len(got) != 1 || got[0].Check != CheckAccess || got[0].Severity != Info {
		t.Fatalf("findings of a clean tenant: %+v", got)
	}
	if f := got[0].Fields(); f["Subject"] != "Group/liege-it" || f["Role"] != "ClusterRole/mutualis-tenant-admin" {
		t.Errorf("the review's fields: %v", f)
	}
}

// Each rule, broken alone on the clean tenant, gives its finding on the object and field that show
// it, with its severity.
func TestEachRuleBrokenAloneGivesItsFinding(t *testing.T) {
	pod := func(in *Inputs) *corev1.Pod { return &in.Pods[0] }
	app := func(in *Inputs) *corev1.Container { return &in.Pods[0].Spec.Containers[0] }
	policyNamed := func(in *Inputs, name string) *networkingv1.NetworkPolicy {
		for i := range in.NetworkPolicies {
			if in.NetworkPolicies[i].Name == name {
				return &in.NetworkPolicies[i]
			}
		}
		t.Fatalf("no policy %s", name)
		return nil
	}
	tcp := corev1.ProtocolTCP
	tests := []struct {
		name     string
		break_   func(*Inputs)
		check    Check
		severity Severity
		object   string
		field    string
	}{
		{"no Pod Security label", func(in *Inputs) { delete(in.Namespace.Labels, labelEnforce) },
			CheckPodSecurityMissing, High, "Namespace/commune-liege", "metadata.labels[pod-security.kubernetes.io/enforce]"},
		{"privileged Pod Security", func(in *Inputs) { in.Namespace.Labels[labelEnforce] = "privileged" },
			CheckPodSecurityMissing, High, "Namespace/commune-liege", "metadata.labels[pod-security.kubernetes.io/enforce]"},
		{"baseline under a restricted policy", func(in *Inputs) { in.Namespace.Labels[labelEnforce] = "baseline" },
			CheckPodSecurityWeaker, Medium, "Namespace/commune-liege", "metadata.labels[pod-security.kubernetes.io/enforce]"},
		{"a managed policy deleted", func(in *Inputs) { in.NetworkPolicies = in.NetworkPolicies[1:] },
			CheckNetworkPolicyMissing, High, "NetworkPolicy/" + tenant.NetpolDefaultDeny, ""},
		{"a managed policy edited by kubectl", func(in *Inputs) {
			np := policyNamed(in, tenant.NetpolDNS)
			np.ManagedFields = append(np.ManagedFields, metav1.ManagedFieldsEntry{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate,
				Time: ptr.To(metav1.NewTime(now)), FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:podSelector":{"f:matchLabels":{}}}}`)}})
		}, CheckNetworkPolicyModified, High, "NetworkPolicy/" + tenant.NetpolDNS, "spec"},
		{"a policy mutualis does not manage", func(in *Inputs) {
			in.NetworkPolicies = append(in.NetworkPolicies, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-monitoring"},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
						MatchLabels: map[string]string{corev1.LabelMetadataName: "monitoring"}}}}}}}})
		}, CheckNetworkPolicyUnmanaged, Medium, "NetworkPolicy/allow-monitoring", ""},
		{"another tenant let in", func(in *Inputs) {
			np := policyNamed(in, tenant.NetpolIngress)
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelKind: "Commune"}}}}})
		}, CheckTenantReachable, High, "Namespace/commune-huy", "ingress"},
		{"every namespace let out on one port", func(in *Inputs) {
			np := policyNamed(in, tenant.NetpolEgressCIDRs)
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{
				To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(5432))}}})
		}, CheckReachesTenant, High, "Namespace/commune-huy", "egress"},
		{"the partner let in on every port", func(in *Inputs) {
			np := policyNamed(in, tenant.NetpolPartner)
			np.Spec.Ingress[0].Ports = nil
		}, CheckPartnerPortOpen, High, "Namespace/cpas-liege", "ingress"},
		{"a container without runAsNonRoot", func(in *Inputs) { app(in).SecurityContext.RunAsNonRoot = nil },
			CheckRunAsRoot, Medium, "Deployment/files", "spec.containers[nextcloud].securityContext.runAsNonRoot"},
		{"a privileged container", func(in *Inputs) { app(in).SecurityContext.Privileged = ptr.To(true) },
			CheckPrivileged, High, "Deployment/files", "spec.containers[nextcloud].securityContext.privileged"},
		{"an added capability", func(in *Inputs) { app(in).SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"} },
			CheckCapabilitiesAdded, High, "Deployment/files", "spec.containers[nextcloud].securityContext.capabilities.add"},
		{"NET_BIND_SERVICE only", func(in *Inputs) { app(in).SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"} },
			CheckCapabilitiesAdded, Low, "Deployment/files", "spec.containers[nextcloud].securityContext.capabilities.add"},
		{"no memory limit", func(in *Inputs) { delete(app(in).Resources.Limits, corev1.ResourceMemory) },
			CheckLimitsMissing, Medium, "Deployment/files", "spec.containers[nextcloud].resources.limits"},
		{"a writable root file system, in an init container", func(in *Inputs) {
			in.Pods[0].Spec.InitContainers[0].SecurityContext.ReadOnlyRootFilesystem = ptr.To(false)
		}, CheckWritableRootFS, Low, "Deployment/files", "spec.initContainers[migrate].securityContext.readOnlyRootFilesystem"},
		{"latest", func(in *Inputs) { app(in).Image = "nextcloud:latest" },
			CheckMutableImage, Medium, "Deployment/files", "spec.containers[nextcloud].image"},
		{"no tag", func(in *Inputs) { app(in).Image = "nextcloud" },
			CheckMutableImage, Medium, "Deployment/files", "spec.containers[nextcloud].image"},
		{"a registry outside the allow-list", func(in *Inputs) { app(in).Image = "quay.io/someone/nextcloud:30" },
			CheckRegistryNotAllowed, Medium, "Deployment/files", "spec.containers[nextcloud].image"},
		{"a prefix is not a path", func(in *Inputs) { app(in).Image = "ghcr.io/crtplx/nextcloud:30" },
			CheckRegistryNotAllowed, Medium, "Deployment/files", "spec.containers[nextcloud].image"},
		{"a bare pod is its own workload", func(in *Inputs) { pod(in).OwnerReferences = nil; app(in).Image = "nextcloud" },
			CheckMutableImage, Medium, "Pod/files-7d9f-abcde", "spec.containers[nextcloud].image"},
		{"a LoadBalancer", func(in *Inputs) { in.Services[0].Spec.Type = corev1.ServiceTypeLoadBalancer },
			CheckServiceOutside, Medium, "Service/files", "spec.type"},
		{"a host without TLS", func(in *Inputs) {
			in.Ingresses[0].Spec.Rules = append(in.Ingresses[0].Spec.Rules, networkingv1.IngressRule{Host: "conseil.example.org"})
		},
			CheckIngressWithoutTLS, High, "Ingress/files", "spec.rules[2].host"},
		{"a failed backup", func(in *Inputs) {
			in.BackupReady.Status, in.BackupReady.Reason, in.BackupReady.Message = metav1.ConditionFalse, v1alpha1.ReasonBackupFailed, "backup x: PartiallyFailed"
		}, CheckBackupFailing, High, "Commune/liege", "status.backup"},
		{"a ConfigMap labelled out of the backups", func(in *Inputs) {
			in.ExcludedFromBackup = []string{"ConfigMap/council-minutes"}
		}, CheckExcludedFromBackup, High, "ConfigMap/council-minutes", `metadata.labels["velero.io/exclude-from-backup"]`},
		{"a stale backup", func(in *Inputs) {
			in.BackupReady.Status, in.BackupReady.Reason = metav1.ConditionFalse, v1alpha1.ReasonBackupStale
		}, CheckBackupStale, High, "Commune/liege", "status.backup.lastSuccessfulTime"},
		{"backups disabled", func(in *Inputs) {
			in.BackupReady.Status, in.BackupReady.Reason = metav1.ConditionFalse, v1alpha1.ReasonBackupsDisabled
		}, CheckBackupMissing, High, "Commune/liege", "status.conditions[BackupReady]"},
		{"no first backup after a day", func(in *Inputs) {
			in.BackupReady.Status, in.BackupReady.Reason = metav1.ConditionFalse, v1alpha1.ReasonBackupPending
		}, CheckBackupMissing, High, "Commune/liege", "status.conditions[BackupReady]"},
		{"a pool ending in ten days", func(in *Inputs) { in.Pools[0].Spec.ValidUntil = ptr.To(metav1.NewTime(now.AddDate(0, 0, 10))) },
			CheckLicenceExpiring, Medium, "LicencePool/delib", "spec.validUntil"},
		{"a pool ended", func(in *Inputs) { in.Pools[0].Spec.ValidUntil = ptr.To(metav1.NewTime(now.AddDate(0, 0, -1))) },
			CheckLicenceExpired, High, "LicencePool/delib", "spec.validUntil"},
		{"a role binding mutualis did not make", func(in *Inputs) {
			in.RoleBindings = append(in.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "helpdesk", Namespace: "commune-liege"},
				RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"}})
		}, CheckRoleBindingUnmanaged, Medium, "RoleBinding/helpdesk", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := clean(t)
			tt.break_(&in)
			got := Evaluate(in)
			var found *Finding
			for i, f := range got {
				if f.Check == CheckAccess {
					continue
				}
				if f.Check == tt.check && f.Object == tt.object && f.Field == tt.field {
					found = &got[i]
				}
			}
			if found == nil {
				t.Fatalf("no %s on %s %s; findings: %+v", tt.check, tt.object, tt.field, got)
			}
			if found.Severity != tt.severity {
				t.Errorf("%s is %s, want %s", tt.check, found.Severity, tt.severity)
			}
			// one rule broken is one problem: no other check may raise a high-severity finding, but
			// for what the same break truly opens as well
			also := map[string]Check{
				// the partner is one of every namespace, reached on a port it does not expose
				"every namespace let out on one port": CheckPartnerPortOpen,
			}
			for _, f := range got {
				if f.Check != tt.check && f.Check != also[tt.name] && f.Severity == High {
					t.Errorf("breaking %s alone also raised %s (%s %s), of high severity", tt.check, f.Check, f.Object, f.Field)
				}
			}
			// the catalogues' sentences name the check's fields: the finding gives each of them
			if names := FieldNames(found.Check); len(found.Args) != len(names) {
				t.Errorf("%s gives %d arguments %q for its fields %q", tt.check, len(found.Args), found.Args, names)
			}
		})
	}
}

// A young tenant's first backup is not missed yet.
func TestAYoungTenantWithoutBackupIsNotAFinding(t *testing.T) {
	in := clean(t)
	in.Subject.Created = now.Add(-time.Hour)
	in.BackupReady.Status, in.BackupReady.Reason = metav1.ConditionFalse, v1alpha1.ReasonBackupPending
	for _, f := range Evaluate(in) {
		if f.Check == CheckBackupMissing {
			t.Fatalf("a tenant created an hour ago: %+v", f)
		}
	}
}

// The pods of one Deployment are one workload: its finding is reported once.
func TestAWorkloadIsReportedOnce(t *testing.T) {
	in := clean(t)
	in.Pods[0].Spec.Containers[0].Image = "nextcloud"
	second := *in.Pods[0].DeepCopy()
	second.Name = "files-7d9f-fghij"
	in.Pods = append(in.Pods, second)
	n := 0
	for _, f := range Evaluate(in) {
		if f.Check == CheckMutableImage {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d MutableImageTag findings for two pods of one Deployment", n)
	}
}

// Every check names its fields, for the catalogues' sentences (the plugin's i18n tests check that
// each check has its sentences in each language).
func TestEveryCheckNamesItsFields(t *testing.T) {
	if n := len(Checks()); n != 28 {
		t.Errorf("%d checks name their fields; the audit has 28", n)
	}
}

func TestSummaryAndClean(t *testing.T) {
	fs := []Finding{{Severity: High}, {Severity: High}, {Severity: Low}, {Severity: Info}}
	s := Summary(fs, now, 3)
	if s.High != 2 || s.Medium != 0 || s.Low != 1 || s.Info != 1 || s.ObservedGeneration != 3 {
		t.Fatalf("summary %+v", s)
	}
	if status, reason, msg := Clean(s, "liege"); status != metav1.ConditionFalse || reason != v1alpha1.ReasonHighFindings ||
		!strings.Contains(msg, "2 findings of high severity: kubectl mutualis audit liege") {
		t.Errorf("AuditClean with two high: %s %s %q", status, reason, msg)
	}
	s.High = 0
	if status, reason, _ := Clean(s, "liege"); status != metav1.ConditionTrue || reason != v1alpha1.ReasonNoHighFinding {
		t.Errorf("AuditClean without high: %s %s", status, reason)
	}
	if status, reason, _ := Clean(nil, "liege"); status != metav1.ConditionUnknown || reason != v1alpha1.ReasonAuditPending {
		t.Errorf("AuditClean before the first audit: %s %s", status, reason)
	}
}

func TestDue(t *testing.T) {
	created := now.Add(-time.Hour)
	audited := &v1alpha1.AuditSummary{LastEvaluationTime: metav1.NewTime(now.Add(-2 * time.Hour)), ObservedGeneration: 3}
	tests := []struct {
		name            string
		prev            *v1alpha1.AuditSummary
		wasReady, ready bool
		generation      int64
		due             bool
		next            time.Duration
	}{
		{"a new tenant not Ready yet waits", nil, false, false, 1, false, 5 * time.Hour},
		{"a new tenant that becomes Ready", nil, false, true, 1, true, 0},
		{"a tenant Ready again after a change", audited, false, true, 3, true, 0},
		{"a Ready tenant at a new generation", audited, true, true, 4, true, 0},
		{"a Ready tenant audited two hours ago", audited, true, true, 3, false, 4 * time.Hour},
		{"a tenant not Ready, audited two hours ago", audited, false, false, 4, false, 4 * time.Hour},
		{"the interval is over", &v1alpha1.AuditSummary{LastEvaluationTime: metav1.NewTime(now.Add(-7 * time.Hour)), ObservedGeneration: 3}, true, true, 3, true, 0},
	}
	for _, tt := range tests {
		due, next := Due(tt.prev, tt.wasReady, tt.ready, tt.generation, created, now, 6*time.Hour)
		if due != tt.due || next != tt.next {
			t.Errorf("%s: due %v in %v, want %v in %v", tt.name, due, next, tt.due, tt.next)
		}
	}
}

// A subscriber reaching the shared instance it subscribes to, on the ports the instance's
// Services lead to, is the subscription and no finding; another port of it, or an instance it does
// not subscribe to, is.
func TestReachingTheSubscribedInstanceIsNoFinding(t *testing.T) {
	const instance = "mutualis-app-jitsi"
	subscribed := func(t *testing.T) Inputs {
		in := clean(t)
		policy := tenant.EffectivePolicy(nil)
		res := &tenant.Resolved{Kind: v1alpha1.KindCommune, Name: "liege", Namespace: "commune-liege", Partner: "cpas-liege",
			Spec:                &v1alpha1.TenantSpec{},
			ExposedPorts:        []v1alpha1.ExposedPort{{Service: "files", Port: 80, TargetPort: ptr.To(intstr.FromInt32(8080))}},
			PartnerExposedPorts: []v1alpha1.ExposedPort{{Service: "delib", Port: 80}},
			SharedInstances: []tenant.SharedAccess{{Application: "jitsi", Namespace: instance,
				Ports: []v1alpha1.ExposedPort{{Service: "jitsi", Port: 443, TargetPort: ptr.To(intstr.FromInt32(8443))}}}},
		}
		in.NetworkPolicies = policiesOf(t, res, policy)
		in.Peers = append(in.Peers, Peer{Namespace: instance, Labels: map[string]string{v1alpha1.LabelTenant: instance}})
		in.InstanceServices = map[string][]corev1.Service{instance: {{ObjectMeta: metav1.ObjectMeta{Name: "jitsi", Namespace: instance},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromInt32(8443), Protocol: corev1.ProtocolTCP}}}}}}
		return in
	}
	if got := Evaluate(subscribed(t)); len(got) != 1 || got[0].Check != CheckAccess {
		t.Fatalf("a subscriber of the instance: %+v", got)
	}
	// the same egress, towards an instance the audit does not know as subscribed: a finding
	in := subscribed(t)
	in.InstanceServices = nil
	if got := Evaluate(in); !hasFinding(got, CheckReachesTenant, "Namespace/"+instance) {
		t.Fatalf("egress to an instance not subscribed to should be ReachesTenant: %+v", got)
	}
	// and a port of the instance its Services do not lead to
	in = subscribed(t)
	var np *networkingv1.NetworkPolicy
	for i := range in.NetworkPolicies {
		if in.NetworkPolicies[i].Name == tenant.NetpolSharedInstance {
			np = &in.NetworkPolicies[i]
		}
	}
	tcp := corev1.ProtocolTCP
	np.Spec.Egress[0].Ports = append(np.Spec.Egress[0].Ports, networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(5432))})
	if got := Evaluate(in); !hasFinding(got, CheckReachesTenant, "Namespace/"+instance) {
		t.Fatalf("another port of the instance should be ReachesTenant: %+v", got)
	}
}

func hasFinding(got []Finding, check Check, object string) bool {
	for _, f := range got {
		if f.Check == check && f.Object == object {
			return true
		}
	}
	return false
}

// The audit reads pod templates too: a Deployment scaled to zero, a Deployment whose pods Pod
// Security refuses and a CronJob between two runs show their weaknesses, each named once.
func TestWorkloadsWithoutPodsAreAudited(t *testing.T) {
	in := clean(t)
	in.Pods = nil
	weak := corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx",
		SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}}
	in.Workloads = []Workload{{Object: "Deployment/guichet", Spec: weak}, {Object: "CronJob/export", Spec: weak}}
	got := Evaluate(in)
	for _, obj := range []string{"Deployment/guichet", "CronJob/export"} {
		for _, check := range []Check{CheckMutableImage, CheckPrivileged, CheckLimitsMissing, CheckRunAsRoot} {
			if !hasFinding(got, check, obj) {
				t.Errorf("no %s on %s: %+v", check, obj, got)
			}
		}
	}
	// a running pod of the CronJob's Job and the template are one workload, reported once
	in.Pods = []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "export-29001-abcde",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Job", Name: "export-29001", Controller: ptr.To(true)}}},
		Spec: weak, Status: corev1.PodStatus{Phase: corev1.PodRunning}}}
	in.JobOwners = map[string]string{"export-29001": "CronJob/export"}
	n := 0
	for _, f := range Evaluate(in) {
		if f.Check == CheckPrivileged {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d Privileged findings; want one for the Deployment and one for the CronJob with its pod", n)
	}
}

// What the reader's rights refused is left out, and only that: a tenant's viewer, who may not
// read RoleBindings, is told the access checks were not made rather than that access is clean,
// and still sees what the rest of the audit found.
func TestAnUnreadInputLeavesOutItsChecksOnly(t *testing.T) {
	in := clean(t)
	in.RoleBindings = append(in.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "helpdesk", Namespace: "commune-liege"},
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"}})
	in.Pools[0].Spec.ValidUntil = ptr.To(metav1.NewTime(now.AddDate(0, 0, -1)))
	if got := Evaluate(in); !hasFinding(got, CheckRoleBindingUnmanaged, "RoleBinding/helpdesk") || !hasFinding(got, CheckLicenceExpired, "LicencePool/delib") {
		t.Fatalf("with every input read: %+v", got)
	}
	in.Unread = []Input{InputRoleBindings}
	got := Evaluate(in)
	for _, f := range got {
		if f.Check == CheckRoleBindingUnmanaged || f.Check == CheckAccess {
			t.Errorf("RoleBindings unread, yet %s on %s", f.Check, f.Object)
		}
	}
	if !hasFinding(got, CheckLicenceExpired, "LicencePool/delib") {
		t.Errorf("the licence check was dropped with the RoleBindings: %+v", got)
	}
	if u := Unchecked(in.Unread); len(u) != 2 || u[0] != CheckAccess || u[1] != CheckRoleBindingUnmanaged {
		t.Errorf("Unchecked(RoleBindings) = %v", u)
	}
	for input := range needs {
		if len(Unchecked([]Input{input})) == 0 {
			t.Errorf("input %s leaves out no check: nothing would say it was not read", input)
		}
	}
}

// A failed drill is a high finding; backups unproven for longer than the policy's period (and a
// tenth) a medium one; neither for a tenant without backups (BackupMissing says that already) or
// when the cell switched scheduled drills off.
func TestRestoreDrillFindings(t *testing.T) {
	failed := &v1alpha1.RestoreDrillStatus{Restore: "drill-x", Result: v1alpha1.RestoreDrillFailed, Message: "the backup b1 restores without ConfigMap/social-files"}
	for _, tc := range []struct {
		name   string
		change func(*Inputs)
		want   []Check
	}{
		{"drilled ten days ago", func(*Inputs) {}, nil},
		{"last drill failed", func(in *Inputs) { in.Backup.LastRestoreDrill = failed }, []Check{CheckRestoreDrillFailed}},
		{"drilled forty days ago", func(in *Inputs) {
			in.Backup.LastVerifiedRestore = ptr.To(metav1.NewTime(now.AddDate(0, 0, -40)))
		}, []Check{CheckRestoreNotVerified}},
		{"never drilled, two months old", func(in *Inputs) { in.Backup.LastVerifiedRestore = nil }, []Check{CheckRestoreNotVerified}},
		{"never drilled, ten days old", func(in *Inputs) {
			in.Backup.LastVerifiedRestore, in.Subject.Created = nil, now.AddDate(0, 0, -10)
		}, nil},
		{"a period of a year", func(in *Inputs) {
			in.Backup.LastVerifiedRestore = ptr.To(metav1.NewTime(now.AddDate(0, 0, -40)))
			in.Policy.Backup.RestoreDrills.Period = &metav1.Duration{Duration: 365 * 24 * time.Hour}
		}, nil},
		{"drills switched off", func(in *Inputs) {
			in.Backup.LastVerifiedRestore = nil
			in.Policy.Backup.RestoreDrills.Disabled = true
		}, nil},
		{"backups disabled", func(in *Inputs) {
			in.Backup.LastVerifiedRestore, in.Backup.LastRestoreDrill = nil, failed
			in.BackupReady = &metav1.Condition{Type: v1alpha1.ConditionBackupReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonBackupsDisabled}
		}, []Check{CheckBackupMissing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := clean(t)
			tc.change(&in)
			var got []Check
			for _, f := range Evaluate(in) {
				if f.Check != CheckAccess {
					got = append(got, f.Check)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("findings %v; want %v", got, tc.want)
			}
		})
	}
}
