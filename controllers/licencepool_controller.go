package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/licence"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/status"
)

// LicencePoolReconciler allocates the seats of each pool to the tenants that request them.
type LicencePoolReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	// Now is the clock; tests set it.
	Now func() time.Time
}

// +kubebuilder:rbac:groups=mutualis.crtpl.be,resources=licencepools/status,verbs=get;update;patch

// Reconcile computes the allocation of one pool and writes it when it changed.
func (r *LicencePoolReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pool := &v1alpha1.LicencePool{}
	if err := r.Get(ctx, req.NamespacedName, pool); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	now := r.Now()
	before := pool.DeepCopy()
	st := &pool.Status
	st.ObservedGeneration = pool.Generation
	set := func(condType string, status metav1.ConditionStatus, reason, format string, args ...any) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: condType, Status: status, Reason: reason,
			Message: fmt.Sprintf(format, args...), ObservedGeneration: pool.Generation})
	}

	active, err := activePool(ctx, r.Client, pool.Spec.Application)
	if err != nil {
		return ctrl.Result{}, err
	}
	if active == nil {
		return ctrl.Result{}, nil // the pool is being deleted
	}
	if active.Name != pool.Name {
		st.Allocations, st.AllocatedSeats, st.AvailableSeats = nil, 0, 0
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonDuplicatePool,
			"LicencePool %s already holds the seats of %s: add these seats to it and delete this pool", active.Name, pool.Spec.Application)
		setKstatus(st, pool.Generation)
		return ctrl.Result{}, r.writeStatus(ctx, before, pool)
	}

	// the seat rule is the planner's, the one the tenants' own status follows
	entries := map[string]*v1alpha1.SharedApplication{}
	app := &v1alpha1.SharedApplication{}
	switch err := r.Get(ctx, client.ObjectKey{Name: pool.Spec.Application}, app); {
	case err == nil:
		entries[app.Name] = app
	case !apierrors.IsNotFound(err):
		return ctrl.Result{}, err
	}
	tenants, err := tenantsUsing(ctx, r.Client, pool.Spec.Application)
	if err != nil {
		return ctrl.Result{}, err
	}
	var requests []licence.Request
	for _, t := range tenants {
		if !t.GetDeletionTimestamp().IsZero() {
			continue
		}
		if seats := plan.SeatRequests(t, entries)[pool.Spec.Application]; seats > 0 {
			requests = append(requests, licence.Request{Tenant: t.TenantNamespace(), Tier: t.TenantStatus().Tier, Created: t.GetCreationTimestamp().Time, Seats: seats})
		}
	}
	expired := licence.Expired(pool, now)
	res := licence.Allocate(licence.Pool{Seats: pool.Spec.Seats, Reservations: pool.Spec.Reservations, Expired: expired}, st.Allocations, requests)
	st.Allocations, st.AllocatedSeats, st.AvailableSeats, st.Reservations = res.Allocations, res.Allocated, res.Available, res.Reservations

	var requeue time.Duration
	switch {
	case expired:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonExpired,
			"the licence ended on %s: existing grants are kept, no new seat is granted; renew the licence and set spec.validUntil", pool.Spec.ValidUntil.Format(time.DateOnly))
	default:
		set(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonAllocated, "%d of %d seats allocated to %d tenants", res.Allocated, pool.Spec.Seats, len(res.Allocations))
	}
	if len(res.Unmet) > 0 {
		unmet := strings.Join(res.Unmet, ", ")
		if len(res.HeldBack) > 0 {
			unmet += fmt.Sprintf(" (%s held back by the reservations of other tiers)", strings.Join(res.HeldBack, ", "))
		}
		set(v1alpha1.ConditionExhausted, metav1.ConditionTrue, v1alpha1.ReasonPoolExhausted,
			"%d seats available; not met: %s: buy more seats or lower the requests", res.Available, unmet)
		if !expired {
			// the pool still serves the grants it made, but a subscriber waits for seats the cell
			// must buy: the GitOps engine must not report the catalogue as healthy
			set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted,
				"%d of %d seats allocated; not met: %s: buy more seats or lower the requests", res.Allocated, pool.Spec.Seats, unmet)
		}
	} else {
		set(v1alpha1.ConditionExhausted, metav1.ConditionFalse, v1alpha1.ReasonSeatsLeft, "every request is met")
	}
	if until := pool.Spec.ValidUntil; until != nil && !expired {
		left := until.Sub(now)
		if left <= licence.ExpiryNotice {
			set(v1alpha1.ConditionExpiringSoon, metav1.ConditionTrue, v1alpha1.ConditionExpiringSoon, "the licence ends on %s: renew it", until.Format(time.DateOnly))
			requeue = left
		} else {
			set(v1alpha1.ConditionExpiringSoon, metav1.ConditionFalse, v1alpha1.ReasonNotExpiring, "the licence ends on %s", until.Format(time.DateOnly))
			requeue = left - licence.ExpiryNotice
		}
	}
	setKstatus(st, pool.Generation)
	if err := r.writeStatus(ctx, before, pool); err != nil {
		return ctrl.Result{}, err
	}
	was := meta.FindStatusCondition(before.Status.Conditions, v1alpha1.ConditionExpiringSoon)
	if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionExpiringSoon); c != nil && c.Status == metav1.ConditionTrue && (was == nil || was.Status != metav1.ConditionTrue) {
		r.Recorder.Eventf(pool, nil, corev1.EventTypeWarning, v1alpha1.ConditionExpiringSoon, "Allocate", "%s", c.Message)
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// tierChanged wakes a tenant's pools when its tier is first known or changes: reservations are per
// tier.
func tierChanged(old, updated v1alpha1.Tenant) bool {
	return old.TenantStatus().Tier != updated.TenantStatus().Tier
}

// writeStatus writes the whole status when it changed (zero counts included, for kubectl's
// columns); this controller is the status's only writer.
func (r *LicencePoolReconciler) writeStatus(ctx context.Context, before, pool *v1alpha1.LicencePool) error {
	if equality.Semantic.DeepEqual(before.Status, pool.Status) && before.Status.ObservedGeneration != 0 {
		return nil
	}
	return apply.Status(ctx, r.Client, pool, &pool.Status)
}

// activePool is the pool that holds an application's seats: the oldest, then by name. A second
// pool for the same application says so and grants nothing.
func activePool(ctx context.Context, c client.Client, application string) (*v1alpha1.LicencePool, error) {
	list := &v1alpha1.LicencePoolList{}
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	return licence.Active(list.Items, application), nil
}

// SetupWithManager wakes a pool for its own changes, its application's and its tenants'.
func (r *LicencePoolReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	poolsOf := func(ctx context.Context, apps []string) []reconcile.Request {
		list := &v1alpha1.LicencePoolList{}
		if err := r.List(ctx, list); err != nil {
			return nil
		}
		wanted := map[string]bool{}
		for _, a := range apps {
			wanted[a] = true
		}
		var out []reconcile.Request
		for _, p := range list.Items {
			if wanted[p.Spec.Application] {
				out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}})
			}
		}
		return out
	}
	fromTenant := func(ctx context.Context, obj client.Object) []reconcile.Request {
		var apps []string
		for _, req := range applicationsOf(ctx, obj) {
			apps = append(apps, req.Name)
		}
		return poolsOf(ctx, apps)
	}
	fromApp := func(ctx context.Context, obj client.Object) []reconcile.Request {
		return poolsOf(ctx, []string{obj.GetName()})
	}
	fromPool := func(ctx context.Context, obj client.Object) []reconcile.Request {
		return poolsOf(ctx, []string{obj.(*v1alpha1.LicencePool).Spec.Application})
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("licencepool").
		For(&v1alpha1.LicencePool{}).
		Watches(&v1alpha1.LicencePool{}, handler.EnqueueRequestsFromMapFunc(fromPool)).
		Watches(&v1alpha1.SharedApplication{}, handler.EnqueueRequestsFromMapFunc(fromApp)).
		// the seats a tenant asks for are in its spec: its status writes change nothing here
		Watches(&v1alpha1.Commune{}, handler.EnqueueRequestsFromMapFunc(fromTenant), builder.WithPredicates(tenantChanged(tierChanged))).
		Watches(&v1alpha1.CPAS{}, handler.EnqueueRequestsFromMapFunc(fromTenant), builder.WithPredicates(tenantChanged(tierChanged))).
		Watches(&v1alpha1.Province{}, handler.EnqueueRequestsFromMapFunc(fromTenant), builder.WithPredicates(tenantChanged(tierChanged))).
		Complete(r)
}

// setKstatus adds Reconciling and Stalled to the pool's Ready: every Ready=False of a pool (a
// duplicate, an expired licence, requests beyond its seats) waits for the cell to act.
func setKstatus(st *v1alpha1.LicencePoolStatus, generation int64) {
	ready := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	if ready == nil {
		return
	}
	ready.ObservedGeneration = generation
	reconciling, stalled := status.Kstatus(*ready, true)
	meta.SetStatusCondition(&st.Conditions, reconciling)
	meta.SetStatusCondition(&st.Conditions, stalled)
}
