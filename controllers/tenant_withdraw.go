package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/api/validation"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// What admission checked when a tenant's objects were written must still hold when the tenant's
// spec changes: the namespace publishes what the tenant may have (its domains, its partner, the
// shared instances it subscribes to), and before it publishes less, the operator removes what the
// tenant no longer may have. A tenant that cannot be served (stalled, waiting, suspended) publishes
// nothing new, but still loses what it lost.

// publication is what a tenant namespace publishes for the admission policies.
type publication struct {
	domains   []string
	partner   string
	instances []string
	subjects  string
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func publicationOf(ns *corev1.Namespace) publication {
	a := ns.Annotations
	return publication{
		domains:   splitList(a[v1alpha1.AnnotationDomains]),
		partner:   a[v1alpha1.AnnotationPartner],
		instances: splitList(a[v1alpha1.AnnotationSharedInstances]),
		subjects:  a[v1alpha1.AnnotationSubjects],
	}
}

// desiredPublication is what a tenant that is served publishes.
func desiredPublication(res *tenant.Resolved) publication {
	p := publication{domains: res.Domains, partner: res.Partner, subjects: tenant.SpecSubjects(res)}
	for _, si := range res.SharedInstances {
		p.instances = append(p.instances, si.Namespace)
	}
	return p
}

// stillSubscribed are the instances of before that the tenant's spec still subscribes to: an
// instance whose catalogue entry went keeps running untouched, and so do its subscribers' ways in.
func stillSubscribed(t v1alpha1.Tenant, before []string) []string {
	subscribed := map[string]bool{}
	for _, sub := range plan.Subscriptions(t) {
		subscribed[tenant.InstanceNamespaceName(sub.Name)] = true
	}
	var out []string
	for _, ns := range before {
		if subscribed[ns] {
			out = append(out, ns)
		}
	}
	return out
}

// lost says whether after publishes less than before in one of the lists.
func lost(before, after []string) bool {
	for _, x := range before {
		if !slices.Contains(after, x) {
			return true
		}
	}
	return false
}

// withdraw removes from the tenant namespace what after no longer allows and before did: the
// tenant's Ingresses with a host outside its domains, and its ExternalName Services into a namespace
// that is neither its partner's nor a shared instance's it subscribes to. Whoever made them, an
// Event on the tenant names each one; the returned lines say what went, for the condition.
func (r *TenantReconciler) withdraw(ctx context.Context, s *scope, before, after publication) ([]string, error) {
	ns := s.res.Namespace
	var removed []string
	if lost(before.domains, after.domains) {
		list := &networkingv1.IngressList{}
		if err := r.APIReader.List(ctx, list, client.InNamespace(ns)); err != nil {
			return removed, err
		}
		for i := range list.Items {
			in := &list.Items[i]
			if host := foreignHost(in, after.domains); host != "" {
				why := fmt.Sprintf("Ingress %s (host %s is no longer among the tenant's domains)", in.Name, host)
				if done, err := r.withdrawOne(ctx, s, in, why); err != nil {
					return removed, err
				} else if done {
					removed = append(removed, why)
				}
			}
		}
	}
	// a partner gained takes nothing away; one lost or changed does
	if (before.partner != "" && before.partner != after.partner) || lost(before.instances, after.instances) {
		list := &corev1.ServiceList{}
		if err := r.APIReader.List(ctx, list, client.InNamespace(ns)); err != nil {
			return removed, err
		}
		for i := range list.Items {
			svc := &list.Items[i]
			if svc.Spec.Type != corev1.ServiceTypeExternalName {
				continue
			}
			target := validation.ExternalNameNamespace(svc.Spec.ExternalName)
			if target == "" || target == after.partner || slices.Contains(after.instances, target) {
				continue
			}
			why := fmt.Sprintf("Service %s (it points into %s, which the tenant no longer reaches: not its partner, not a shared instance it subscribes to)", svc.Name, target)
			if done, err := r.withdrawOne(ctx, s, svc, why); err != nil {
				return removed, err
			} else if done {
				removed = append(removed, why)
			}
		}
	}
	return removed, nil
}

// foreignHost is the first host of an Ingress, in its rules or its TLS section, that domains do
// not allow; empty when there is none.
func foreignHost(in *networkingv1.Ingress, domains []string) string {
	for _, rule := range in.Spec.Rules {
		if rule.Host != "" && !validation.HostOfDomains(rule.Host, domains) {
			return rule.Host
		}
	}
	for _, tls := range in.Spec.TLS {
		for _, h := range tls.Hosts {
			if !validation.HostOfDomains(h, domains) {
				return h
			}
		}
	}
	return ""
}

func (r *TenantReconciler) withdrawOne(ctx context.Context, s *scope, obj client.Object, why string) (bool, error) {
	if apply.AppliedByMutualis(obj) {
		// the applications step renders and prunes what mutualis applied itself
		return false, nil
	}
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	if err := r.Delete(ctx, obj, client.Preconditions{UID: &uid, ResourceVersion: &rv}); client.IgnoreNotFound(err) != nil {
		return false, err
	}
	ctrl.LoggerFrom(ctx).Info("withdrew an object the tenant may no longer have", "namespace", obj.GetNamespace(), "object", why)
	r.event(s.tenant, corev1.EventTypeNormal, v1alpha1.ReasonWithdrawn, "Withdraw", "deleted %s", why)
	return true, nil
}

// publishWhileBlocked narrows what the namespace of a tenant that cannot be served publishes to
// what it may still have, and withdraws the rest: the domains an older tenant now holds or its spec
// dropped, the shared instances it left, the people its spec no longer names. It never publishes
// more: that waits until the tenant can be served.
func (r *TenantReconciler) publishWhileBlocked(ctx context.Context, s *scope, live *corev1.Namespace) error {
	before := publicationOf(live)
	after := before
	var err error
	if after.domains, err = plan.HeldDomains(ctx, cacheView{r.Client}, s.tenant, s.policy, before.domains); err != nil {
		return err
	}
	after.instances = stillSubscribed(s.tenant, before.instances)
	after.subjects = tenant.SpecSubjects(s.res)
	removed, err := r.withdraw(ctx, s, before, after)
	if err != nil {
		return s.Failed(v1alpha1.ConditionNamespaceReady, err)
	}
	if len(removed) > 0 {
		s.withdrawn = append(s.withdrawn, removed...)
	}
	if slices.Equal(before.domains, after.domains) && slices.Equal(before.instances, after.instances) && before.subjects == after.subjects {
		return nil
	}
	patch := client.MergeFrom(live.DeepCopy())
	if live.Annotations == nil {
		live.Annotations = map[string]string{}
	}
	live.Annotations[v1alpha1.AnnotationDomains] = strings.Join(after.domains, ",")
	live.Annotations[v1alpha1.AnnotationSharedInstances] = strings.Join(after.instances, ",")
	live.Annotations[v1alpha1.AnnotationSubjects] = after.subjects
	// the instances it left no longer admit it
	for _, ns := range before.instances {
		if !slices.Contains(after.instances, ns) {
			delete(live.Labels, v1alpha1.InstanceSubscriberLabel(strings.TrimPrefix(ns, v1alpha1.NamespacePrefixInstance)))
		}
	}
	if err := r.Patch(ctx, live, patch, client.FieldOwner(v1alpha1.FieldOwner)); err != nil {
		return s.Failed(v1alpha1.ConditionNamespaceReady, err)
	}
	return nil
}

// stillPublished holds back the domains a tenant gains while another tenant namespace still
// publishes one that overlaps them: the tenant that had a domain withdraws its Ingresses for it
// before its namespace stops publishing it, and until then the new holder waits, so that no host
// is ever published by two namespaces. It returns the domains to publish now and, for each domain
// held back, the namespace that still publishes it.
func (r *TenantReconciler) stillPublished(ctx context.Context, own string, published, domains []string) ([]string, map[string]string, error) {
	var now []string
	waiting := map[string]string{}
	for _, d := range domains {
		if slices.Contains(published, d) {
			now = append(now, d)
			continue
		}
		holder, err := r.publisherOf(ctx, own, d)
		if err != nil {
			return nil, nil, err
		}
		if holder != "" {
			waiting[d] = holder
			continue
		}
		now = append(now, d)
	}
	return now, waiting, nil
}

// publisherOf is another tenant namespace that publishes a domain overlapping d, from the cache.
func (r *TenantReconciler) publisherOf(ctx context.Context, own, d string) (string, error) {
	for _, key := range validation.DomainLookupKeys(d) {
		list := &corev1.NamespaceList{}
		if err := r.List(ctx, list, client.MatchingFields{indexPublishedDomain: key}, client.UnsafeDisableDeepCopy); err != nil {
			return "", err
		}
		for _, ns := range list.Items {
			if ns.Name == own {
				continue
			}
			for _, theirs := range splitList(ns.Annotations[v1alpha1.AnnotationDomains]) {
				if validation.DomainsOverlap(d, theirs) {
					return ns.Name, nil
				}
			}
		}
	}
	return "", nil
}
