package controllers

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/workqueue"
	testingclock "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
)

// A commune's status writes wake its CPAS only when what the CPAS reads changed: the commune's
// spec, its deletion, or the applications it reports (the instances the CPAS shares).
func TestPartnerWatchPassesOnlyWhatThePartnerReads(t *testing.T) {
	base := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "partner-watch", Generation: 3}}
	base.Status.Applications = []v1alpha1.ApplicationStatus{{Name: "nextcloud", Ready: false}}
	changed := func(mutate func(*v1alpha1.Commune)) bool {
		updated := base.DeepCopy()
		mutate(updated)
		return partnerChanged().Update(event.UpdateEvent{ObjectOld: base, ObjectNew: updated})
	}
	if changed(func(c *v1alpha1.Commune) {
		c.Status.ObservedGeneration = 3
		c.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse}}
	}) {
		t.Error("a status write that leaves the reported applications alone woke the partner")
	}
	if !changed(func(c *v1alpha1.Commune) { c.Status.Applications[0].Ready = true }) {
		t.Error("the commune's instance became ready and the CPAS that shares it was not woken")
	}
	if !changed(func(c *v1alpha1.Commune) { c.Generation = 4 }) {
		t.Error("a spec change did not wake the partner")
	}
	if !changed(func(c *v1alpha1.Commune) { now := metav1.Now(); c.DeletionTimestamp = &now }) {
		t.Error("the deletion of the commune did not wake its CPAS")
	}
}

// A burst of subscriber events becomes one reconcile of the catalogue entry, after the delay,
// which grows with the entry's subscribers beyond a thousand. The queue runs on a fake clock, so
// nothing depends on how fast the machine sends the events.
func TestSubscriberEventsAreBatched(t *testing.T) {
	for _, tt := range []struct {
		subscribed int32
		delay      time.Duration
	}{{0, 2 * time.Second}, {522, 2 * time.Second}, {5000, 10 * time.Second}} {
		app := &v1alpha1.SharedApplication{ObjectMeta: metav1.ObjectMeta{Name: "batched-app"}}
		app.Status.Subscribed = tt.subscribed
		r := &SharedApplicationReconciler{Client: fake.NewClientBuilder().WithScheme(k8s.Scheme()).WithObjects(app).Build()}
		clock := testingclock.NewFakeClock(time.Now())
		q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request](),
			workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{Clock: clock})
		h := enqueueAfter(applicationsOf, r.batchOf)
		ctx := context.Background()
		for i := 0; i < 50; i++ {
			old := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "batched"}, Spec: v1alpha1.CommuneSpec{
				TenantSpec: v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{{Name: "batched-app"}}}}}
			updated := old.DeepCopy()
			updated.Status.ObservedGeneration = int64(i)
			h.Update(ctx, event.TypedUpdateEvent[client.Object]{ObjectOld: old, ObjectNew: updated}, q)
		}
		clock.Step(tt.delay - time.Millisecond)
		time.Sleep(50 * time.Millisecond) // the queue's own goroutine moves ready items
		if q.Len() != 0 {
			t.Fatalf("%d subscribers: %d requests were queued before %s", tt.subscribed, q.Len(), tt.delay)
		}
		clock.Step(time.Millisecond)
		deadline := time.Now().Add(5 * time.Second)
		for q.Len() == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // any second request would be there by now
		if q.Len() != 1 {
			t.Fatalf("%d subscribers: 50 events of one subscriber queued %d reconciles of the entry, want 1", tt.subscribed, q.Len())
		}
		req, _ := q.Get()
		if req.Name != "batched-app" {
			t.Errorf("queued %q, want the application batched-app", req.Name)
		}
		q.ShutDown()
	}
}

// Of an object that mutualis applied, the cache keeps the managed fields that the appliers read
// (mutualis's and the suspension's) and drops the others, such as the workload controller's.
func TestCacheKeepsOnlyMutualisManagedFields(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	u.SetName("trimmed")
	u.SetManagedFields([]metav1.ManagedFieldsEntry{
		{Manager: v1alpha1.FieldOwner, Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}},
		{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"},
		{Manager: apply.SuspendOwner, Operation: metav1.ManagedFieldsOperationApply},
	})
	out, err := stubUnlessApplied(u)
	if err != nil {
		t.Fatal(err)
	}
	var managers []string
	for _, f := range out.(*unstructured.Unstructured).GetManagedFields() {
		managers = append(managers, f.Manager)
		if f.FieldsV1 != nil {
			t.Errorf("the field set of %s is kept, but nothing reads it for a Deployment", f.Manager)
		}
	}
	if len(managers) != 2 || managers[0] != v1alpha1.FieldOwner || managers[1] != apply.SuspendOwner {
		t.Errorf("cached managers %v, want [%s %s]", managers, v1alpha1.FieldOwner, apply.SuspendOwner)
	}
	if !apply.AppliedByMutualis(out.(client.Object)) {
		t.Error("the trimmed object no longer reads as applied by mutualis")
	}

	// a typed object of the contract loses its field sets too: the applier compares by hash and
	// content, never by managed fields
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "contract", ManagedFields: []metav1.ManagedFieldsEntry{
		{Manager: v1alpha1.FieldOwner, Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}},
		{Manager: "someone-else", Operation: metav1.ManagedFieldsOperationUpdate},
	}}}
	if _, err := stubUnlessApplied(np); err != nil {
		t.Fatal(err)
	}
	if len(np.ManagedFields) != 1 || np.ManagedFields[0].FieldsV1 != nil || !apply.AppliedByMutualis(np) {
		t.Errorf("a NetworkPolicy keeps mutualis's entry only, without its field set: %+v", np.ManagedFields)
	}
}

// The quota controller's usage writes and a workload's intermediate status writes wake no tenant;
// drift and a change of the health verdict do.
func TestManagedObjectWatchPassesDriftAndHealthOnly(t *testing.T) {
	passes := func(old, updated client.Object) bool {
		return managedObjectChanged().Update(event.UpdateEvent{ObjectOld: old, ObjectNew: updated})
	}
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "mutualis-quota", ResourceVersion: "1"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}}
	used := quota.DeepCopy()
	used.ResourceVersion = "2"
	used.Status.Used = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3")}
	if passes(quota, used) {
		t.Error("the quota controller's usage write woke the tenant")
	}
	edited := quota.DeepCopy()
	edited.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
	if !passes(quota, edited) {
		t.Error("a tenant admin raising the quota did not wake the tenant")
	}

	one := int32(1)
	deployment := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 1}, Spec: appsv1.DeploymentSpec{Replicas: &one},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 1}}
	noisy := deployment.DeepCopy()
	noisy.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "ReplicaSetUpdated"}}
	if passes(deployment, noisy) {
		t.Error("a status write that leaves the Deployment unavailable for the same reason woke the tenant")
	}
	available := deployment.DeepCopy()
	available.Status.AvailableReplicas, available.Status.ReadyReplicas = 1, 1
	if !passes(deployment, available) {
		t.Error("the Deployment became available and the tenant was not woken")
	}
	scaled := deployment.DeepCopy()
	zero := int32(0)
	scaled.Spec.Replicas = &zero
	if !passes(deployment, scaled) {
		t.Error("someone scaling the Deployment (drift) did not wake the tenant")
	}
}
