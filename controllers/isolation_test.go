package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// asUser is a client of the test's API server that acts as another user, the way kubectl --as and
// --as-group do: every request is authorized by RBAC and admitted as that user's.
func asUser(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(testConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	c, err := client.New(cfg, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refused checks that the API server refused a request, and that its message contains want.
func refused(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the request was accepted; want a refusal containing %q", want)
	}
	if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Fatalf("got %v; want the API server to refuse it", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("refusal %q does not say %q", err.Error(), want)
	}
	t.Logf("refused: %v", err)
}

func accepted(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
}

// A tenant admin, as kubectl --as would act, against the real API server with the shipped tenant
// roles and admission policies: it runs its own namespace and cannot get out of it.
func TestHostileTenantAdminStaysInItsNamespace(t *testing.T) {
	ctx := context.Background()
	seraing := newCommune("seraing", "62096", func(c *v1alpha1.Commune) {
		c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "seraing-it"}}
		c.Spec.Domains = []v1alpha1.Domain{"seraing.be", "*.seraing.be"}
	})
	cpas := newCPAS("seraing", "seraing")
	herstal := newCommune("herstal", "62051", func(c *v1alpha1.Commune) { c.Spec.Domains = []v1alpha1.Domain{"herstal.be"} })
	for _, obj := range []client.Object{seraing, cpas, herstal} {
		create(t, obj)
	}
	for _, obj := range []v1alpha1.Tenant{seraing, cpas, herstal} {
		eventually(t, wait, conditionIs(obj, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	}
	admin := asUser(t, "it@seraing.be", "seraing-it")
	const ns, other = "commune-seraing", "commune-herstal"
	dryRun := client.DryRunAll

	t.Run("reads and writes nothing of another tenant", func(t *testing.T) {
		for _, ra := range []authorizationv1.ResourceAttributes{
			{Namespace: other, Verb: "get", Resource: "configmaps"},
			{Namespace: other, Verb: "create", Resource: "pods"},
			{Namespace: other, Verb: "list", Resource: "secrets"},
			{Verb: "get", Group: v1alpha1.GroupVersion.Group, Resource: "communes", Name: "herstal"},
		} {
			review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: "it@seraing.be", Groups: []string{"seraing-it", "system:authenticated"}, ResourceAttributes: &ra}}
			if err := k8s.Create(ctx, review); err != nil {
				t.Fatal(err)
			}
			if review.Status.Allowed {
				t.Errorf("the admin of seraing may %s %s in %q", ra.Verb, ra.Resource, ra.Namespace)
			}
		}
		refused(t, admin.List(ctx, &corev1.SecretList{}, client.InNamespace(other)), "forbidden")
		refused(t, admin.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: other}}, dryRun), "forbidden")
		// and may read its own Commune
		accepted(t, admin.Get(ctx, client.ObjectKey{Name: "seraing"}, &v1alpha1.Commune{}))
	})

	t.Run("cannot change the tenant contract", func(t *testing.T) {
		quota := &corev1.ResourceQuota{}
		accepted(t, admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant.QuotaName}, quota))
		quota.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
		refused(t, admin.Update(ctx, quota, dryRun), "forbidden")
		refused(t, admin.Delete(ctx, &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: tenant.LimitRangeName, Namespace: ns}}, dryRun), "forbidden")
		refused(t, admin.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: tenant.NetpolDefaultDeny, Namespace: ns}}, dryRun), "belong to the cell")
		np := &networkingv1.NetworkPolicy{}
		accepted(t, admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant.NetpolEgressCIDRs}, np))
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
		refused(t, admin.Update(ctx, np, dryRun), "belong to the cell")
		rb := &rbacv1.RoleBinding{}
		accepted(t, admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant.AdminsBindingName}, rb))
		rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: "User", Name: "friend", APIGroup: rbacv1.GroupName})
		refused(t, admin.Update(ctx, rb, dryRun), "belong to the cell")
		refused(t, admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "mutualis-extra", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: tenant.AdminRoleName},
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "friend", APIGroup: rbacv1.GroupName}}}, dryRun), "belong to the cell")
		// a subscriber token is the cell's too: an admin neither forges one ahead of the operator
		// nor swaps or removes the one it wrote; a Secret of its own stays its own
		refused(t, admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mutualis-jitsi-token", Namespace: ns},
			StringData: map[string]string{"token": "forged"}}, dryRun), "belong to the cell")
		accepted(t, admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "nextcloud-credentials", Namespace: ns},
			StringData: map[string]string{"admin-password": "chosen"}}, dryRun))
		refused(t, admin.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`)), dryRun), "forbidden")
		refused(t, admin.Patch(ctx, &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "seraing"}},
			client.RawPatch(types.MergePatchType, []byte(`{"spec":{"tier":"XXL"}}`)), dryRun), "forbidden")
	})

	t.Run("cannot escape through a Service", func(t *testing.T) {
		svc := func(name string, mutate func(*corev1.ServiceSpec)) *corev1.Service {
			s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
			mutate(&s.Spec)
			return s
		}
		refused(t, admin.Create(ctx, svc("into-herstal", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName, s.Ports = corev1.ServiceTypeExternalName, "files.commune-herstal.svc.cluster.local", nil
		}), dryRun), "may only point to a Service of the partner tenant")
		refused(t, admin.Create(ctx, svc("unsubscribed-instance", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName, s.Ports = corev1.ServiceTypeExternalName, "ckan.mutualis-app-ckan.svc.cluster.local", nil
		}), dryRun), "or of a shared instance the tenant subscribes to (none)")
		refused(t, admin.Create(ctx, svc("outside", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName, s.Ports = corev1.ServiceTypeExternalName, "intranet.example.org", nil
		}), dryRun), "may only point to a Service of the partner tenant")
		refused(t, admin.Create(ctx, svc("capture", func(s *corev1.ServiceSpec) { s.ExternalIPs = []string{"192.0.2.10"} }), dryRun), "CVE-2020-8554")
		refused(t, admin.Create(ctx, svc("nodeport", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeNodePort }), dryRun), "Service type NodePort is not allowed")
		refused(t, admin.Create(ctx, svc("public", func(s *corev1.ServiceSpec) { s.Type = corev1.ServiceTypeLoadBalancer }), dryRun), "Service type LoadBalancer is not allowed")
		// what synergy needs: the partner's Service
		accepted(t, admin.Create(ctx, svc("partner-files", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName, s.Ports = corev1.ServiceTypeExternalName, "files.cpas-seraing.svc.cluster.local", nil
		}), dryRun))
		accepted(t, admin.Create(ctx, svc("web", func(*corev1.ServiceSpec) {}), dryRun))
		// the rule holds for everyone: the cluster's admin (and mutualis) cannot point into another tenant either
		refused(t, k8s.Create(ctx, svc("into-herstal", func(s *corev1.ServiceSpec) {
			s.Type, s.ExternalName, s.Ports = corev1.ServiceTypeExternalName, "files.commune-herstal.svc.cluster.local", nil
		}), dryRun), "may only point to a Service of the partner tenant")
	})

	t.Run("publishes only its own domains", func(t *testing.T) {
		ingress := func(name string, hosts ...string) *networkingv1.Ingress {
			in := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
			backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
			for _, h := range hosts {
				in.Spec.Rules = append(in.Spec.Rules, networkingv1.IngressRule{Host: h, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend}}}}})
			}
			return in
		}
		refused(t, admin.Create(ctx, ingress("steal", "herstal.be"), dryRun), "host herstal.be is not among the domains of this tenant")
		refused(t, admin.Create(ctx, ingress("deep", "a.b.seraing.be"), dryRun), "host a.b.seraing.be is not among the domains")
		refused(t, admin.Create(ctx, ingress("catch-all", ""), dryRun), "must name a host")
		withDefault := ingress("default", "www.seraing.be")
		withDefault.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
		refused(t, admin.Create(ctx, withDefault, dryRun), "defaultBackend")
		tls := ingress("tls", "www.seraing.be")
		tls.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"www.seraing.be", "herstal.be"}}}
		refused(t, admin.Create(ctx, tls, dryRun), "a TLS host of this Ingress is not among the domains")
		accepted(t, admin.Create(ctx, ingress("site", "seraing.be", "www.seraing.be"), dryRun))

		// the shared controller as a confused deputy: annotations outside the cell's list
		annotated := func(key, value string) *networkingv1.Ingress {
			in := ingress("annotated", "www.seraing.be")
			in.Annotations = map[string]string{key: value}
			return in
		}
		for key, value := range map[string]string{
			"nginx.ingress.kubernetes.io/server-alias":    "herstal.be",
			"nginx.ingress.kubernetes.io/auth-url":        "http://files.commune-herstal.svc.cluster.local/",
			"nginx.ingress.kubernetes.io/mirror-target":   "http://files.commune-herstal.svc.cluster.local$request_uri",
			"nginx.ingress.kubernetes.io/auth-tls-secret": "commune-herstal/tls",
			"nginx.ingress.kubernetes.io/default-backend": "files",
		} {
			refused(t, admin.Create(ctx, annotated(key, value), dryRun), "annotation "+key+" is not allowed")
		}
		for _, key := range []string{"nginx.ingress.kubernetes.io/configuration-snippet", "nginx.ingress.kubernetes.io/server-snippet", "nginx.ingress.kubernetes.io/Auth-Snippet"} {
			refused(t, admin.Create(ctx, annotated(key, "proxy_pass http://commune-herstal;"), dryRun), "configuration snippets are refused")
			// for everyone: the cell too
			refused(t, k8s.Create(ctx, annotated(key, "proxy_pass http://commune-herstal;"), dryRun), "configuration snippets are refused")
		}
		accepted(t, admin.Create(ctx, annotated("nginx.ingress.kubernetes.io/proxy-body-size", "64m"), dryRun))
		accepted(t, admin.Create(ctx, annotated("cert-manager.io/cluster-issuer", "letsencrypt"), dryRun))
		accepted(t, admin.Create(ctx, annotated("meta.helm.sh/release-name", "site"), dryRun)) // a chart the commune installs with Helm

		// every host field in the one spelling that the check compares
		for _, host := range []string{"HERSTAL.BE", "www.seraing.be.", "WWW.SERAING.BE", "192.0.2.10", "*.be"} {
			odd := ingress("odd-tls", "www.seraing.be")
			odd.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}}}
			// the API server refuses some spellings itself, admission the others: either names the host
			refused(t, admin.Create(ctx, odd, dryRun), host)
		}
		for _, host := range []string{"*.be", "xn--lige-bpa.be", "guichet.herstal.be"} {
			refused(t, admin.Create(ctx, ingress("foreign", host), dryRun), "host "+host)
		}
		accepted(t, admin.Create(ctx, ingress("one-level-down", "guichet.seraing.be"), dryRun))
	})

	t.Run("cannot get a privileged or host-path pod admitted", func(t *testing.T) {
		pod := func(name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.37"}}}}
			mutate(&p.Spec)
			return p
		}
		refused(t, admin.Create(ctx, pod("privileged", func(p *corev1.PodSpec) {
			p.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		}), dryRun), "violates PodSecurity")
		refused(t, admin.Create(ctx, pod("hostpath", func(p *corev1.PodSpec) {
			p.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		}), dryRun), "violates PodSecurity")
	})

	t.Run("cannot preempt the cell's pods, pin a node or tolerate the cell's taints", func(t *testing.T) {
		// a pod that Pod Security restricted admits, so that only the rule under test can refuse it
		pod := func(name string, mutate func(*corev1.PodSpec)) *corev1.Pod {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PodSpec{
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "c", Image: "busybox:1.37", SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
			mutate(&p.Spec)
			return p
		}
		for _, class := range []string{"system-node-critical", "system-cluster-critical"} {
			refused(t, admin.Create(ctx, pod("urgent", func(p *corev1.PodSpec) { p.PriorityClassName = class }), dryRun), "priority class "+class+" is not allowed")
		}
		refused(t, admin.Create(ctx, pod("pinned", func(p *corev1.PodSpec) { p.NodeName = "control-plane" }), dryRun), "may not choose its node")
		refused(t, admin.Create(ctx, pod("selected", func(p *corev1.PodSpec) {
			p.NodeSelector = map[string]string{"kubernetes.io/hostname": "control-plane"}
		}), dryRun), "may not choose its node")
		for name, toleration := range map[string]corev1.Toleration{
			"every taint":   {Operator: corev1.TolerationOpExists},
			"control plane": {Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			"cell nodes":    {Key: "mutualis.crtpl.be/dedicated", Operator: corev1.TolerationOpEqual, Value: "cell"},
		} {
			refused(t, admin.Create(ctx, pod("tolerant", func(p *corev1.PodSpec) { p.Tolerations = []corev1.Toleration{toleration} }), dryRun),
				"may not tolerate the cell's taints")
			t.Logf("(%s)", name)
		}
		accepted(t, admin.Create(ctx, pod("patient", func(p *corev1.PodSpec) {
			p.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](60)}}
		}), dryRun))
	})

	t.Run("runs its own roles and network policies within bounds", func(t *testing.T) {
		accepted(t, admin.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "patch"}}}}))
		accepted(t, admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "deployer"},
			Subjects: []rbacv1.Subject{{Kind: "Group", Name: "seraing-it", APIGroup: rbacv1.GroupName}}}))
		// RBAC keeps it from granting what it does not hold
		refused(t, admin.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "greedy", Namespace: ns},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"resourcequotas"}, Verbs: []string{"update"}}}}, dryRun), "forbidden")
		refused(t, admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "everyone", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "deployer"},
			Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:authenticated", APIGroup: rbacv1.GroupName}}}, dryRun), "never name a system: user or group")
		refused(t, admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "neighbour", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "deployer"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: other}}}, dryRun), "ServiceAccounts of other namespaces")

		selfOnly := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}
		accepted(t, admin.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "web-to-db", Namespace: ns},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{selfOnly}}}}}))
		for name, rule := range map[string]networkingv1.NetworkPolicyEgressRule{
			"to-the-internet": {To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}}},
			"to-herstal": {To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: other}}}}},
			"to-anywhere": {},
		} {
			refused(t, admin.Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
					Egress: []networkingv1.NetworkPolicyEgressRule{rule}}}, dryRun), "may allow egress only to pods of its own namespace")
		}
	})

	t.Run("cannot pass its objects off as the operator's", func(t *testing.T) {
		forged := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "forged", "namespace": ns,
				"labels": map[string]any{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelTenant: ns}},
			"data": map[string]any{"payload": strings.Repeat("x", 4096)}}}
		// kubectl apply --server-side --field-manager=mutualis
		refused(t, admin.Patch(ctx, forged, client.Apply, client.FieldOwner(v1alpha1.FieldOwner)), "the field manager mutualis is the cell's own")
		// nor by taking over one of its own objects under that name
		accepted(t, admin.Patch(ctx, forged, client.Apply, client.FieldOwner("kubectl")))
		forged.SetManagedFields(nil)
		forged.SetResourceVersion("")
		refused(t, admin.Patch(ctx, forged, client.Apply, client.FieldOwner(v1alpha1.FieldOwner), client.ForceOwnership), "the field manager mutualis is the cell's own")
		accepted(t, admin.Delete(ctx, forged))
	})

	// the operator itself is not disturbed by the tenant's own objects, and the tenant stays Ready
	eventually(t, wait, conditionIs(seraing, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	if err := conditionIs(seraing, v1alpha1.ConditionNetworkReady, metav1.ConditionTrue, "")(); err != nil {
		t.Fatal(fmt.Errorf("after the tenant's own policies: %w", err))
	}
}

// Objects that merely carry mutualis's labels are not mutualis's: they wake no tenant, the cache
// keeps only their identity, and they are never pruned (TestUnsubscribePrunesExactlyTheInventory).
func TestLabelledObjectsOfATenantAreNotTheOperators(t *testing.T) {
	ctx := context.Background()
	c := newCommune("flemalle", "62120", func(c *v1alpha1.Commune) {
		c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "flemalle-it"}}
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	admin := asUser(t, "it@flemalle.be", "flemalle-it")
	big := strings.Repeat("x", 512*1024)
	forged := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "looks-like-mutualis", Namespace: "commune-flemalle",
		Labels: map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelTenant: "commune-flemalle", v1alpha1.LabelPartOf: "x"}},
		Data: map[string]string{"payload": big}}
	accepted(t, admin.Create(ctx, forged))

	// the operator's cache sees it, as a stub without its data
	eventually(t, wait, func() error {
		cached := &corev1.ConfigMap{}
		if err := operatorCache.Get(ctx, client.ObjectKeyFromObject(forged), cached); err != nil {
			return err
		}
		if len(cached.Data) != 0 || len(cached.Annotations) != 0 {
			return fmt.Errorf("the cache holds the whole object: %d bytes of data", len(cached.Data["payload"]))
		}
		return nil
	})
	// while what mutualis applied is cached whole
	quota := &corev1.ResourceQuota{}
	if err := operatorCache.Get(ctx, client.ObjectKey{Namespace: "commune-flemalle", Name: tenant.QuotaName}, quota); err != nil || len(quota.Spec.Hard) == 0 || len(quota.ManagedFields) == 0 {
		t.Fatalf("the quota mutualis applied should be cached whole: %v %v", err, quota.Spec.Hard)
	}
	r := &TenantReconciler{Kind: v1alpha1.KindCommune}
	if reqs := r.tenantOfManagedObject(ctx, forged); len(reqs) != 0 {
		t.Errorf("a labelled object that mutualis did not apply wakes %v", reqs)
	}
	if reqs := r.tenantOfManagedObject(ctx, quota); len(reqs) != 1 || reqs[0].Name != "flemalle" {
		t.Errorf("the quota mutualis applied wakes %v, want flemalle", reqs)
	}
}

// The operator's own ClusterRole holds no escalate, and bind only on the two tenant ClusterRoles;
// the suite runs the operator under exactly this role, which proves it is enough.
func TestOperatorRoleCannotEscalate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", "generated", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(data, role); err != nil {
		t.Fatal(err)
	}
	for _, rule := range role.Rules {
		for _, verb := range rule.Verbs {
			switch verb {
			case "escalate", "impersonate", "*":
				t.Errorf("the operator may %s: %+v", verb, rule)
			case "bind":
				names := strings.Join(rule.ResourceNames, ",")
				if names != tenant.AdminRoleName+","+tenant.ViewerRoleName || strings.Join(rule.Resources, ",") != "clusterroles" {
					t.Errorf("the operator may bind more than the tenant ClusterRoles: %+v", rule)
				}
			}
		}
	}
	// and the API server agrees: it may not bind cluster-admin
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: operatorUser,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "bind", Group: rbacv1.GroupName, Resource: "clusterroles", Name: "cluster-admin"}}}
	if err := k8s.Create(context.Background(), review); err != nil {
		t.Fatal(err)
	}
	if review.Status.Allowed {
		t.Error("the operator may bind cluster-admin")
	}
}

// A host belongs to one tenant: the oldest keeps it, a later tenant whose domains overlap it is
// Stalled and creates nothing, and wins once the first lets it go. The domains reach the namespace,
// where the admission policy reads them.
func TestDomainsAreUniqueAcrossTenants(t *testing.T) {
	ctx := context.Background()
	first := newCommune("ans", "62003", func(c *v1alpha1.Commune) { c.Spec.Domains = []v1alpha1.Domain{"*.ans.be", "ans.be"} })
	create(t, first)
	eventually(t, wait, conditionIs(first, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	ns := &corev1.Namespace{}
	get(t, "commune-ans", ns)
	if got := ns.Annotations[v1alpha1.AnnotationDomains]; got != "*.ans.be,ans.be" {
		t.Errorf("namespace domains annotation %q", got)
	}
	// the commune's own CPAS claims a host under the commune's wildcard: a host belongs to one
	// tenant, partners included
	second := newCPAS("awans", "ans", func(c *v1alpha1.CPAS) { c.Spec.Domains = []v1alpha1.Domain{"www.ans.be"} })
	create(t, second)
	stalledSaying(t, second, v1alpha1.ReasonDuplicateDomain, "Commune ans")
	namespaceAbsent(t, "cpas-awans")

	// the holder gives the wildcard up: the CPAS wins at once
	patch(t, first, func() { first.Spec.Domains = []v1alpha1.Domain{"ans.be"} })
	eventually(t, wait, conditionIs(second, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	if err := k8s.Get(ctx, client.ObjectKey{Name: "cpas-awans"}, ns); err != nil || ns.Annotations[v1alpha1.AnnotationDomains] != "www.ans.be" {
		t.Fatalf("the CPAS namespace and its domains: %v %v", err, ns.Annotations)
	}
}

// A subscription never takes over an object that the tenant made under the same name: the
// conflict is the application's condition, the tenant's object stays as it is, and unsubscribing
// leaves it there.
func TestSubscriptionNeverAdoptsATenantsObject(t *testing.T) {
	ctx := context.Background()
	create(t, webApp("condroz", "nginxinc/nginx-unprivileged:1.26"))
	c := newCommune("nandrin", "61043", func(c *v1alpha1.Commune) {
		c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "nandrin-it", APIGroup: rbacv1.GroupName}}
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	const ns = "commune-nandrin"
	admin := asUser(t, "it@nandrin.be", "nandrin-it")
	own := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "condroz", Namespace: ns, Labels: map[string]string{"made-by": "nandrin"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "our-site"}, Ports: []corev1.ServicePort{{Port: 8443, TargetPort: intstr.FromInt32(8443)}}}}
	accepted(t, admin.Create(ctx, own))

	patch(t, c, func() { c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "condroz"}} })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonObjectConflict))
	if msg := message(c, v1alpha1.ConditionApplicationsReady); !strings.Contains(msg, "Service/condroz already exists and mutualis did not make it") {
		t.Errorf("the condition should name the object: %s", msg)
	}
	check := func() {
		t.Helper()
		svc := &corev1.Service{}
		get(t, ns+"/condroz", svc)
		if svc.Spec.Selector["app"] != "our-site" || svc.Spec.Ports[0].Port != 8443 || svc.Labels["made-by"] != "nandrin" {
			t.Fatalf("the tenant's Service was changed: %v %v %v", svc.Labels, svc.Spec.Selector, svc.Spec.Ports)
		}
		for _, f := range svc.ManagedFields {
			if f.Manager == v1alpha1.FieldOwner {
				t.Fatalf("mutualis wrote to the tenant's Service: %+v", f)
			}
		}
	}
	check()

	patch(t, c, func() { c.Spec.Applications = nil })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	check()
	// the rest of the application, which mutualis did make, is gone
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "condroz"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("the application's Deployment should be pruned with the subscription: %v", err)
	}
}
