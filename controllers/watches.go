package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/crtpl/mutualis/api/v1alpha1"
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
	ok, why = workloadAvailable(u)
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
