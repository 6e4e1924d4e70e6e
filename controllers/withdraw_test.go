package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// siteIngress is a tenant's Ingress for one host, towards its Service web.
func siteIngress(namespace, name, host string) *networkingv1.Ingress {
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: networkingv1.IngressSpec{
		Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend}}}}}}}}
}

func gone(obj client.Object) func() error {
	return func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("%T %s/%s is still there (%v)", obj, obj.GetNamespace(), obj.GetName(), err)
	}
}

// becomesRefused waits until a request is refused with a message that says want: the namespace
// publishes less right after the operator withdrew what went with it.
func becomesRefused(t *testing.T, request func() error, want string) {
	t.Helper()
	eventually(t, wait, func() error {
		err := request()
		if err == nil || !strings.Contains(err.Error(), want) {
			return fmt.Errorf("not refused with %q yet: %v", want, err)
		}
		return nil
	})
}

func itAdmins(name string) []rbacv1.Subject {
	return []rbacv1.Subject{{Kind: "Group", Name: name + "-it", APIGroup: rbacv1.GroupName}}
}

// What admission checked when an object was written still holds when the spec changes: a domain
// that moves to another tenant takes the old tenant's Ingresses for it along, whether the old
// tenant gave it up or an older tenant claimed it; nothing is published twice.
func TestALostDomainTakesItsIngressesAlong(t *testing.T) {
	ctx := context.Background()
	dryRun := client.DryRunAll

	t.Run("moved in the GitOps repository", func(t *testing.T) {
		from := newCommune("marchin", "61039", func(c *v1alpha1.Commune) {
			c.Spec.Admins, c.Spec.Domains = itAdmins("marchin"), []v1alpha1.Domain{"marchin.be", "tourisme-condroz.be"}
		})
		to := newCommune("modave", "61041", func(c *v1alpha1.Commune) {
			c.Spec.Admins, c.Spec.Domains = itAdmins("modave"), []v1alpha1.Domain{"modave.be"}
		})
		create(t, from)
		create(t, to)
		eventually(t, wait, conditionIs(from, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		eventually(t, wait, conditionIs(to, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		fromAdmin, toAdmin := asUser(t, "it@marchin.be", "marchin-it"), asUser(t, "it@modave.be", "modave-it")
		moving := siteIngress("commune-marchin", "tourisme", "tourisme-condroz.be")
		staying := siteIngress("commune-marchin", "site", "marchin.be")
		accepted(t, fromAdmin.Create(ctx, moving))
		accepted(t, fromAdmin.Create(ctx, staying))

		patch(t, from, func() { from.Spec.Domains = []v1alpha1.Domain{"marchin.be"} })
		patch(t, to, func() { to.Spec.Domains = []v1alpha1.Domain{"modave.be", "tourisme-condroz.be"} })
		eventually(t, wait, gone(moving))
		eventually(t, wait, eventWith(from, v1alpha1.ReasonWithdrawn, "Ingress tourisme (host tourisme-condroz.be is no longer among the tenant's domains)"))
		get(t, "commune-marchin/site", &networkingv1.Ingress{})
		eventually(t, wait, conditionIs(to, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		eventually(t, wait, func() error {
			return toAdmin.Create(ctx, siteIngress("commune-modave", "tourisme", "tourisme-condroz.be"), dryRun)
		})
		becomesRefused(t, func() error {
			return fromAdmin.Create(ctx, siteIngress("commune-marchin", "back", "tourisme-condroz.be"), dryRun)
		}, "host tourisme-condroz.be is not among the domains")
	})

	t.Run("claimed by an older tenant", func(t *testing.T) {
		older := newCommune("chaudfontaine", "62022", func(c *v1alpha1.Commune) {
			c.Spec.Admins, c.Spec.Domains = itAdmins("chaudfontaine"), []v1alpha1.Domain{"chaudfontaine.be"}
		})
		create(t, older)
		eventually(t, wait, conditionIs(older, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		younger := newCommune("trooz", "62122", func(c *v1alpha1.Commune) {
			c.Spec.Admins, c.Spec.Domains = itAdmins("trooz"), []v1alpha1.Domain{"trooz.be", "thermes-vesdre.be"}
		})
		create(t, younger)
		eventually(t, wait, conditionIs(younger, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
		youngAdmin := asUser(t, "it@trooz.be", "trooz-it")
		contested := siteIngress("commune-trooz", "thermes", "thermes-vesdre.be")
		accepted(t, youngAdmin.Create(ctx, contested))

		patch(t, older, func() { older.Spec.Domains = []v1alpha1.Domain{"chaudfontaine.be", "thermes-vesdre.be"} })
		stalledSaying(t, younger, v1alpha1.ReasonDuplicateDomain, "thermes-vesdre.be")
		eventually(t, wait, gone(contested))
		eventually(t, wait, func() error {
			ns := &corev1.Namespace{}
			get(t, "commune-trooz", ns)
			if got := ns.Annotations[v1alpha1.AnnotationDomains]; got != "trooz.be" {
				return fmt.Errorf("the stalled tenant still publishes %q, want trooz.be only", got)
			}
			return nil
		})
		refused(t, youngAdmin.Create(ctx, siteIngress("commune-trooz", "again", "thermes-vesdre.be"), dryRun), "host thermes-vesdre.be is not among the domains")
		// what it still holds stays published
		accepted(t, youngAdmin.Create(ctx, siteIngress("commune-trooz", "site", "trooz.be"), dryRun))
		eventually(t, wait, conditionIs(older, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	})
}

// A tenant that leaves a shared instance loses its own ways in: its ExternalName Service towards
// the instance goes, and the instance's network policy no longer admits it.
func TestLeavingASharedInstanceTakesTheWayInAlong(t *testing.T) {
	ctx := context.Background()
	create(t, sharedApp("webinaire"))
	c := newCommune("hamoir", "61024", func(c *v1alpha1.Commune) {
		c.Spec.Admins = itAdmins("hamoir")
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "webinaire"}}
	})
	create(t, c)
	markAvailable(t, "mutualis-app-webinaire", "webinaire")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	admin := asUser(t, "it@hamoir.be", "hamoir-it")
	own := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "salle-du-conseil", Namespace: "commune-hamoir"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeExternalName, ExternalName: "webinaire.mutualis-app-webinaire.svc.cluster.local"}}
	accepted(t, admin.Create(ctx, own))
	web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "commune-hamoir"}, Spec: corev1.ServiceSpec{
		Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	accepted(t, admin.Create(ctx, web))

	patch(t, c, func() { c.Spec.Applications = nil })
	eventually(t, wait, gone(own))
	eventually(t, wait, eventWith(c, v1alpha1.ReasonWithdrawn, "Service salle-du-conseil (it points into mutualis-app-webinaire"))
	get(t, "commune-hamoir/web", &corev1.Service{})
	eventually(t, wait, func() error {
		ns := &corev1.Namespace{}
		get(t, "commune-hamoir", ns)
		if _, admitted := ns.Labels[v1alpha1.InstanceSubscriberLabel("webinaire")]; admitted {
			return fmt.Errorf("the instance still admits the tenant that left it")
		}
		return nil
	})
	becomesRefused(t, func() error {
		again := own.DeepCopy()
		again.ResourceVersion = ""
		return admin.Create(ctx, again, client.DryRunAll)
	}, "may only point to a Service of the partner tenant")
}

// A tenant's egress never reaches the cluster's own networks: a spec that asks for them stalls
// with the reason, and the egress policy keeps what it allowed before.
func TestEgressIntoTheClusterIsRefused(t *testing.T) {
	c := newCommune("tinlot", "61081", func(c *v1alpha1.Commune) { c.Spec.Network.EgressCIDRs = []v1alpha1.CIDR{"192.0.2.0/24"} })
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	for _, cidr := range []v1alpha1.CIDR{"0.0.0.0/0", "10.96.0.0/12", "169.254.169.254/32"} {
		patch(t, c, func() { c.Spec.Network.EgressCIDRs = []v1alpha1.CIDR{"192.0.2.0/24", cidr} })
		stalledSaying(t, c, v1alpha1.ReasonEgressNotAllowed, "one of the cluster's own networks")
	}
	np := &networkingv1.NetworkPolicy{}
	get(t, "commune-tinlot/mutualis-egress-cidrs", np)
	var cidrs []string
	for _, rule := range np.Spec.Egress {
		for _, peer := range rule.To {
			if peer.IPBlock != nil {
				cidrs = append(cidrs, peer.IPBlock.CIDR)
			}
		}
	}
	if len(cidrs) != 1 || cidrs[0] != "192.0.2.0/24" {
		t.Errorf("the egress policy allows %v; want 192.0.2.0/24 only", cidrs)
	}
	patch(t, c, func() { c.Spec.Network.EgressCIDRs = []v1alpha1.CIDR{"192.0.2.0/24", "198.51.100.0/24"} })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
}

// No host is ever published by two namespaces: a tenant that gains a domain another tenant
// namespace still publishes waits (DomainReleasing) until that namespace lets it go.
func TestAGainedDomainWaitsUntilItIsReleased(t *testing.T) {
	ctx := context.Background()
	// a namespace that still publishes the domain, as a tenant's does until it has withdrawn its
	// Ingresses (planted here as mutualis would apply it, so that nothing releases it before the
	// test does)
	holder := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": "commune-former-holder",
			"labels":      map[string]any{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelTenant: "commune-former-holder"},
			"annotations": map[string]any{v1alpha1.AnnotationDomains: "*.ourthe-ambleve.be"}}}}
	if err := k8s.Patch(ctx, holder, client.Apply, client.FieldOwner(v1alpha1.FieldOwner)); err != nil {
		t.Fatal(err)
	}
	c := newCommune("comblain-au-pont", "62026", func(c *v1alpha1.Commune) {
		c.Spec.Domains = []v1alpha1.Domain{"comblain-au-pont.be", "tourisme.ourthe-ambleve.be"}
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonDomainReleasing))
	if msg := message(c, v1alpha1.ConditionReconciling); !strings.Contains(msg, "tourisme.ourthe-ambleve.be is still published by namespace commune-former-holder") {
		t.Errorf("the wait should name the domain and its holder: %s", msg)
	}
	ns := &corev1.Namespace{}
	get(t, "commune-comblain-au-pont", ns)
	if got := ns.Annotations[v1alpha1.AnnotationDomains]; got != "comblain-au-pont.be" {
		t.Errorf("published %q while another namespace holds a domain; want comblain-au-pont.be only", got)
	}
	// released: published at once
	holder.SetManagedFields(nil)
	holder.SetAnnotations(map[string]string{v1alpha1.AnnotationDomains: ""})
	if err := k8s.Patch(ctx, holder, client.Apply, client.FieldOwner(v1alpha1.FieldOwner)); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	get(t, "commune-comblain-au-pont", ns)
	if got := ns.Annotations[v1alpha1.AnnotationDomains]; got != "comblain-au-pont.be,tourisme.ourthe-ambleve.be" {
		t.Errorf("published %q once released", got)
	}
	_ = k8s.Delete(ctx, holder)
}
