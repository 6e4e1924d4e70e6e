package controllers

import (
	"context"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/api/validation"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/backup"
)

// managedObjectChanged passes the updates of a managed object that a reconcile would read
// differently. Status writes of other controllers are most updates in a busy namespace and most of
// them say nothing to mutualis: the quota controller rewrites a ResourceQuota's usage at every
// object created in the namespace, the volume binder a claim's phase, the endpoint controllers a
// Service's; of a Deployment or a StatefulSet, only the health verdict that the tenant reports
// matters, not every replica count on the way. Drift (anything outside the status) always passes.
func managedObjectChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		if known, same := sameOutsideStatus(e.ObjectOld, e.ObjectNew); !known || !same {
			return true
		}
		oldOK, oldWhy, isWorkload := healthOf(e.ObjectOld)
		if !isWorkload {
			return false
		}
		newOK, newWhy, _ := healthOf(e.ObjectNew)
		return oldOK != newOK || oldWhy != newWhy
	}}
}

// sameOutsideStatus compares two versions of an object but for their status, resource version and
// managed fields, for the kinds whose status only other controllers write (known is false for any
// other kind). It compares in place: the predicate sees every status write of the cluster's
// controllers, and copies would cost more than the reconciles they save.
func sameOutsideStatus(old, updated client.Object) (known, same bool) {
	if !sameMetadata(old, updated) {
		return true, false
	}
	switch o := old.(type) {
	case *appsv1.Deployment:
		n, ok := updated.(*appsv1.Deployment)
		return true, ok && equality.Semantic.DeepEqual(o.Spec, n.Spec)
	case *appsv1.StatefulSet:
		n, ok := updated.(*appsv1.StatefulSet)
		return true, ok && equality.Semantic.DeepEqual(o.Spec, n.Spec)
	case *corev1.ResourceQuota:
		n, ok := updated.(*corev1.ResourceQuota)
		return true, ok && equality.Semantic.DeepEqual(o.Spec, n.Spec)
	case *corev1.PersistentVolumeClaim:
		n, ok := updated.(*corev1.PersistentVolumeClaim)
		return true, ok && equality.Semantic.DeepEqual(o.Spec, n.Spec)
	case *corev1.Service:
		n, ok := updated.(*corev1.Service)
		return true, ok && equality.Semantic.DeepEqual(o.Spec, n.Spec)
	}
	return false, false
}

// sameMetadata compares what a reconcile reads of an object's metadata.
func sameMetadata(a, b client.Object) bool {
	return a.GetGeneration() == b.GetGeneration() &&
		a.GetDeletionTimestamp().Equal(b.GetDeletionTimestamp()) &&
		equality.Semantic.DeepEqual(a.GetLabels(), b.GetLabels()) &&
		equality.Semantic.DeepEqual(a.GetAnnotations(), b.GetAnnotations()) &&
		equality.Semantic.DeepEqual(a.GetOwnerReferences(), b.GetOwnerReferences()) &&
		equality.Semantic.DeepEqual(a.GetFinalizers(), b.GetFinalizers())
}

// healthOf is the verdict the applications step gives a Deployment or a StatefulSet.
func healthOf(o client.Object) (ok bool, why string, isWorkload bool) {
	var kind string
	switch o.(type) {
	case *appsv1.Deployment:
		kind = "Deployment"
	case *appsv1.StatefulSet:
		kind = "StatefulSet"
	default:
		return false, "", false
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return false, err.Error(), true
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetKind(kind)
	ok, why = apply.WorkloadAvailable(u)
	return ok, why, true
}

// partnerChanged passes the updates of a tenant that its partner and rivals read: its spec, its
// deletion, and the applications it reports (a CPAS reports the commune's instances it shares).
// The rest of a status changes at every step of a reconcile, and would wake the partner for
// nothing: a commune and its CPAS would wake each other with each status write.
func partnerChanged() predicate.Funcs {
	return tenantChanged(func(old, updated v1alpha1.Tenant) bool {
		return !equality.Semantic.DeepEqual(old.TenantStatus().Applications, updated.TenantStatus().Applications)
	})
}

// tenantChanged passes the updates of a tenant whose spec or deletion changed, or for which
// statusChanged (when given) says so; creations and deletions always pass.
func tenantChanged(statusChanged func(old, updated v1alpha1.Tenant) bool) predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, oldOK := e.ObjectOld.(v1alpha1.Tenant)
		updated, newOK := e.ObjectNew.(v1alpha1.Tenant)
		if !oldOK || !newOK {
			return true
		}
		return old.GetGeneration() != updated.GetGeneration() ||
			!old.GetDeletionTimestamp().Equal(updated.GetDeletionTimestamp()) ||
			(statusChanged != nil && statusChanged(old, updated))
	}}
}

// The mappings from a changed object to the tenants it wakes ------------------------------------

// instanceReadinessChanged passes the updates of a SharedApplication whose shared instance became
// ready or stopped being ready: its subscribers report it.
func instanceReadinessChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		ready := func(o client.Object) bool {
			app, ok := o.(*v1alpha1.SharedApplication)
			return ok && app.Status.Instance != nil && app.Status.Instance.Ready
		}
		return ready(e.ObjectOld) != ready(e.ObjectNew)
	}}
}

// tokenKeyChanged passes a SharedApplication whose instance signs its subscribers' tokens with
// another key (status.instance.tokenKey): each subscriber's token must be signed again at once, or
// the application refuses it until the tenant's next reconcile.
func tokenKeyChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		key := func(o client.Object) string {
			if app, ok := o.(*v1alpha1.SharedApplication); ok && app.Status.Instance != nil {
				return app.Status.Instance.TokenKey
			}
			return ""
		}
		return key(e.ObjectOld) != key(e.ObjectNew)
	}}
}

// tenantOfManagedObject maps a managed object to its tenant through the tenant label, whose value
// is the tenant namespace: commune-<name>, cpas-<name> or province-<name>. Only objects that mutualis applied itself
// wake a tenant: anyone may copy the labels onto objects of a tenant namespace. Velero's objects
// live in Velero's namespace, which tenants cannot write, and Velero's Schedules create the Backups
// there: their labels are trusted.
func (r *TenantReconciler) tenantOfManagedObject(_ context.Context, obj client.Object) []reconcile.Request {
	if obj.GetObjectKind().GroupVersionKind().Group != backup.BackupGVK.Group && !apply.AppliedByMutualis(obj) {
		return nil
	}
	if drilled, isScratch := obj.GetLabels()[v1alpha1.LabelRestoreDrill]; isScratch && obj.GetNamespace() == "" {
		return r.wokenByScratch(obj, drilled)
	}
	ns := obj.GetLabels()[v1alpha1.LabelTenant]
	prefix := r.Kind.NamespacePrefix()
	if name, ok := strings.CutPrefix(ns, prefix); ok && name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
	}
	return nil
}

// listTenants lists tenants of the reconciler's kind for the watches' mappings, which read their
// names only: the cache's own objects, not copies.
func (r *TenantReconciler) listTenants(ctx context.Context, opts ...client.ListOption) []v1alpha1.Tenant {
	opts = append(opts, client.UnsafeDisableDeepCopy)
	list := r.newTenantList()
	if err := r.List(ctx, list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing tenants", "kind", r.Kind.Kind())
		return nil
	}
	return tenantsOf(list)
}

func requests(tenants []v1alpha1.Tenant, keep func(v1alpha1.Tenant) bool) []reconcile.Request {
	var out []reconcile.Request
	for _, t := range tenants {
		if keep == nil || keep(t) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: t.GetName()}})
		}
	}
	return out
}

func (r *TenantReconciler) allTenants(ctx context.Context, _ client.Object) []reconcile.Request {
	return requests(r.listTenants(ctx), nil)
}

func (r *TenantReconciler) subscribers(ctx context.Context, obj client.Object) []reconcile.Request {
	return requests(r.listTenants(ctx, client.MatchingFields{indexApplication: obj.GetName()}), nil)
}

// poolSubscribers wakes the tenants of a pool's application when its allocation changes.
func (r *TenantReconciler) poolSubscribers(ctx context.Context, obj client.Object) []reconcile.Request {
	app := obj.(*v1alpha1.LicencePool).Spec.Application
	return requests(r.listTenants(ctx, client.MatchingFields{indexApplication: app}), nil)
}

// relatedToCommune wakes, for a changed Commune, the Communes that share its NIS code (one of them
// may now win) or the CPAS that serve it.
func (r *TenantReconciler) relatedToCommune(ctx context.Context, obj client.Object) []reconcile.Request {
	c := obj.(*v1alpha1.Commune)
	rivals := r.domainRivals(ctx, c)
	switch r.Kind {
	case v1alpha1.KindProvince:
		return rivals
	case v1alpha1.KindCommune:
		return append(rivals, requests(r.listTenants(ctx, client.MatchingFields{indexCommuneNIS: c.Spec.NIS}),
			func(t v1alpha1.Tenant) bool { return t.GetName() != c.Name })...)
	}
	return append(rivals, requests(r.listTenants(ctx, client.MatchingFields{indexCPASCommuneRef: c.Name}), nil)...)
}

// relatedToProvince wakes, for a changed Province, the Provinces that share its code (one of them
// may now win) and the tenants whose domains may overlap its own.
func (r *TenantReconciler) relatedToProvince(ctx context.Context, obj client.Object) []reconcile.Request {
	p := obj.(*v1alpha1.Province)
	rivals := r.domainRivals(ctx, p)
	if r.Kind != v1alpha1.KindProvince {
		return rivals
	}
	return append(rivals, requests(r.listTenants(ctx), func(t v1alpha1.Tenant) bool {
		return t.GetName() != p.Name && v1alpha1.NISOf(t) == p.Spec.NIS
	})...)
}

// relatedToCPAS wakes, for a changed CPAS, its Commune (network partner) or the other CPAS of the
// same commune (one of them may now win).
func (r *TenantReconciler) relatedToCPAS(ctx context.Context, obj client.Object) []reconcile.Request {
	c := obj.(*v1alpha1.CPAS)
	rivals := r.domainRivals(ctx, c)
	switch r.Kind {
	case v1alpha1.KindProvince:
		return rivals
	case v1alpha1.KindCommune:
		return append(rivals, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Spec.CommuneRef}})
	}
	return append(rivals, requests(r.listTenants(ctx, client.MatchingFields{indexCPASCommuneRef: c.Spec.CommuneRef}),
		func(t v1alpha1.Tenant) bool { return t.GetName() != c.Name })...)
}

// domainRivals wakes, for a changed tenant, the tenants of this reconciler's kind whose domains
// may overlap its own: one of them may now win a domain, or lose it.
func (r *TenantReconciler) domainRivals(ctx context.Context, changed v1alpha1.Tenant) []reconcile.Request {
	var out []reconcile.Request
	for _, d := range changed.TenantSpec().Domains {
		for _, key := range validation.DomainLookupKeys(string(d)) {
			out = append(out, requests(r.listTenants(ctx, client.MatchingFields{indexDomain: key}), func(t v1alpha1.Tenant) bool {
				return t.TenantKind() != changed.TenantKind() || t.GetName() != changed.GetName()
			})...)
		}
	}
	return out
}

// wokenByScratch maps a drill's scratch namespace to the tenant it drills and, once the namespace
// is going, to the tenants of the reconciler's kind that wait longest for a drill slot (a few, as
// a drill may end while others end too).
func (r *TenantReconciler) wokenByScratch(obj client.Object, drilled string) []reconcile.Request {
	var out []reconcile.Request
	prefix := r.Kind.NamespacePrefix()
	if name, ok := strings.CutPrefix(drilled, prefix); ok && name != "" {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
	}
	if obj.GetDeletionTimestamp() != nil {
		for _, name := range r.drillSlots().waiters(r.Kind, 4) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
		}
	}
	return out
}
