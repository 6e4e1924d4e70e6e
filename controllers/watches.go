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
)

// managedObjectChanged passes the updates of a managed object that a reconcile would read
// differently. Status writes of other controllers are most updates in a busy namespace and most of
// them say nothing to mutualis: the quota controller rewrites a ResourceQuota's usage at every
// object created in the namespace, the volume binder a claim's phase, the endpoint controllers a
// Service's; of a Deployment or a StatefulSet, only the health verdict that the tenant reports
// matters, not every replica count on the way. Drift (anything outside the status) always passes.
func managedObjectChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		oldRest, newRest := outsideStatus(e.ObjectOld), outsideStatus(e.ObjectNew)
		if oldRest == nil || newRest == nil || !equality.Semantic.DeepEqual(oldRest, newRest) {
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

// outsideStatus is a copy of the object without its status, resource version and managed fields,
// for the kinds whose status only other controllers write; nil for any other kind.
func outsideStatus(o client.Object) client.Object {
	var c client.Object
	switch t := o.(type) {
	case *appsv1.Deployment:
		d := t.DeepCopy()
		d.Status = appsv1.DeploymentStatus{}
		c = d
	case *appsv1.StatefulSet:
		s := t.DeepCopy()
		s.Status = appsv1.StatefulSetStatus{}
		c = s
	case *corev1.ResourceQuota:
		q := t.DeepCopy()
		q.Status = corev1.ResourceQuotaStatus{}
		c = q
	case *corev1.PersistentVolumeClaim:
		p := t.DeepCopy()
		p.Status = corev1.PersistentVolumeClaimStatus{}
		c = p
	case *corev1.Service:
		s := t.DeepCopy()
		s.Status = corev1.ServiceStatus{}
		c = s
	default:
		return nil
	}
	c.SetResourceVersion("")
	c.SetManagedFields(nil)
	return c
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
