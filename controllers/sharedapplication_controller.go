package controllers

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/status"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// SharedApplicationReconciler checks each catalogue entry against the tenant contract and counts
// the tenants that subscribe to it, run its current generation, and have it ready.
type SharedApplicationReconciler struct {
	client.Client
	// APIReader reads around the cache, for a namespace that mutualis does not manage.
	APIReader client.Reader
	// Renders keeps the shared instances' last renders; nil renders every time.
	Renders *render.Memo

	// verdicts keeps the verdict on each application, per generation and policy version.
	verdictsMu sync.Mutex
	verdicts   map[string]verdict
}

// +kubebuilder:rbac:groups=mutualis.crtpl.be,resources=sharedapplications/status,verbs=get;update;patch

// Reconcile computes the status of one SharedApplication.
func (r *SharedApplicationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &v1alpha1.SharedApplication{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	policy := &v1alpha1.TenancyPolicy{}
	if err := r.Get(ctx, client.ObjectKey{Name: v1alpha1.TenancyPolicyName}, policy); apierrors.IsNotFound(err) {
		policy = nil
	} else if err != nil {
		return ctrl.Result{}, err
	}
	effective := tenant.EffectivePolicy(policy)
	before := app.Status.DeepCopy()
	st := &app.Status
	st.ObservedGeneration = app.Generation

	var result ctrl.Result
	verdict, err := r.catalogueVerdict(app, policy, effective)
	if err != nil {
		return ctrl.Result{}, err
	}
	base := verdict.base
	st.Tiers = verdict.fits
	if base.Reason == v1alpha1.ReasonKindNotInstalled {
		result.RequeueAfter = kindRetry
	}
	meta.SetStatusCondition(&st.Conditions, base)
	ready := base
	ready.Type = v1alpha1.ConditionReady
	switch {
	case app.Spec.Instance == v1alpha1.InstanceShared && base.Status == metav1.ConditionTrue:
		instance, cond, err := r.reconcileInstance(ctx, app, effective)
		if err != nil {
			return ctrl.Result{}, err
		}
		st.Instance = instance
		meta.SetStatusCondition(&st.Conditions, cond)
		if cond.Status != metav1.ConditionTrue {
			ready.Status, ready.Reason, ready.Message = cond.Status, cond.Reason, cond.Message
		}
	case app.Spec.Instance != v1alpha1.InstanceShared:
		// an instance left from when the application was Shared keeps running, and the status
		// stops reporting it
		st.Instance = nil
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionInstanceReady)
	}
	meta.SetStatusCondition(&st.Conditions, ready)
	endpoints, err := r.reconcileEndpoints(ctx, app, effective)
	if err != nil {
		return ctrl.Result{}, err
	}
	if endpoints != nil {
		meta.SetStatusCondition(&st.Conditions, *endpoints)
	} else {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionEndpointsApproved)
	}
	// a base that breaks the contract waits for the cell to change it; a missing kind, or an
	// instance on its way, for time
	configurationError := base.Status == metav1.ConditionFalse && base.Reason != v1alpha1.ReasonKindNotInstalled
	reconciling, stalled := status.Kstatus(ready, configurationError)
	meta.SetStatusCondition(&st.Conditions, reconciling)
	meta.SetStatusCondition(&st.Conditions, stalled)

	st.Subscribed, st.Updated, st.Ready = 0, 0, 0
	tenants, err := tenantsUsing(ctx, r.Client, app.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, t := range tenants {
		st.Subscribed++
		for _, a := range t.TenantStatus().Applications {
			if a.Name != app.Name {
				continue
			}
			if a.ObservedGeneration == app.Generation {
				st.Updated++
			}
			if a.Ready {
				st.Ready++
			}
		}
	}
	if equality.Semantic.DeepEqual(before, st) && before.ObservedGeneration != 0 {
		return result, nil
	}
	// the whole status, zero counts included, so that kubectl's columns read 0 rather than nothing;
	// this controller is the status's only writer
	return result, apply.Status(ctx, r.Client, app, st)
}

// verdictKey is what the verdict on a catalogue entry depends on: the application's generation and
// the policy's version.
type verdictKey struct {
	generation    int64
	policyVersion string
}

// verdict is whether a catalogue entry follows the tenant contract, and what fits each tier.
type verdict struct {
	key  verdictKey
	base metav1.Condition
	fits []v1alpha1.TierFit
}

// catalogueVerdict checks the base the way every tenant will render it, with a sample tenant, and
// renders it for each tier of the policy to say whether it fits a commune and a CPAS of that
// tier. The verdict is kept per generation of the application and version of the policy: this
// controller runs at every change of a subscriber, and tenants change far more often than the
// catalogue. A verdict that waits for a CRD is not kept: it changes when the CRD arrives.
func (r *SharedApplicationReconciler) catalogueVerdict(app *v1alpha1.SharedApplication, policy *v1alpha1.TenancyPolicy, effective v1alpha1.TenancyPolicySpec) (verdict, error) {
	key := verdictKey{generation: app.Generation}
	if policy != nil {
		key.policyVersion = policy.ResourceVersion
	}
	r.verdictsMu.Lock()
	defer r.verdictsMu.Unlock()
	if v, ok := r.verdicts[app.Name]; ok && v.key == key {
		return v, nil
	}
	v := verdict{key: key, base: metav1.Condition{Type: v1alpha1.ConditionBaseValid, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonBaseValid,
		Message: "the base renders and follows the tenant contract", ObservedGeneration: app.Generation}}
	problem, fits, err := plan.CatalogueVerdict(app, effective, namespacedBy(r.RESTMapper()))
	if err != nil {
		return verdict{}, err
	}
	v.fits = fits
	if app.Spec.Instance == v1alpha1.InstanceExternal {
		v.base.Message = "hosted outside the cell: nothing to render"
	}
	if problem != nil {
		v.base.Status, v.base.Reason, v.base.Message = metav1.ConditionFalse, problem.Reason, problem.Message
		if problem.Wait {
			return v, nil // it changes when the CRD arrives
		}
	}
	if r.verdicts == nil {
		r.verdicts = map[string]verdict{}
	}
	r.verdicts[app.Name] = v
	return v, nil
}

// tenantsUsing lists, through the index, the Communes and CPAS that use an application.
func tenantsUsing(ctx context.Context, c client.Reader, app string) ([]v1alpha1.Tenant, error) {
	return tenantsIndexed(ctx, c, indexApplication, app)
}

// tenantsIndexed lists the Communes and CPAS whose field index holds a value. The tenants are
// the cache's own objects, not copies (a catalogue entry's reconcile reads every subscriber, at
// every change of one): they are read, never modified.
func tenantsIndexed(ctx context.Context, c client.Reader, index, value string) ([]v1alpha1.Tenant, error) {
	return v1alpha1.ListTenants(ctx, c, client.MatchingFields{index: value}, client.UnsafeDisableDeepCopy)
}

// usedApplications are the applications a tenant subscribes to or shares from its commune.
func usedApplications(t v1alpha1.Tenant) []string {
	var out []string
	for _, a := range t.TenantSpec().Applications {
		out = append(out, a.Name)
	}
	if cpas, ok := t.(*v1alpha1.CPAS); ok {
		out = append(out, cpas.Spec.Synergy.SharedApplications...)
	}
	return out
}

// applicationsOf maps a tenant to the applications it subscribes to or reports.
func applicationsOf(_ context.Context, obj client.Object) []reconcile.Request {
	t, ok := obj.(v1alpha1.Tenant)
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	var out []reconcile.Request
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
		}
	}
	for _, a := range t.TenantSpec().Applications {
		add(a.Name)
	}
	for _, a := range t.TenantStatus().Applications {
		add(a.Name)
	}
	if cpas, ok := t.(*v1alpha1.CPAS); ok {
		for _, name := range cpas.Spec.Synergy.SharedApplications {
			add(name)
		}
	}
	return out
}

// subscriberBatch is how long a catalogue entry waits after a change of a subscriber before it
// counts them again: a GitOps sync of many tenants, or their reconciles, change hundreds of them
// within seconds, and each change would otherwise be a reconcile of the entry, a render of its
// shared instance and a write of its status. A new subscriber reaches the shared instance at most
// this much later (subscriberBatchFor beyond a thousand subscribers).
const subscriberBatch = 2 * time.Second

// subscriberBatchPerSubscriber lengthens the batch of an entry beyond a thousand subscribers.
const subscriberBatchPerSubscriber = 2 * time.Millisecond

// subscriberBatchFor is the batch of an entry with that many subscribers. A shared instance's
// subscriber list grows with them and is written whole at each reconcile that changes it (about
// 150 bytes a subscriber), so beyond a thousand the batch grows with the list: the API server then
// gets about as many bytes a second from it at five thousand subscribers (10 s) as at a thousand.
func subscriberBatchFor(subscribed int32) time.Duration {
	return max(subscriberBatch, time.Duration(subscribed)*subscriberBatchPerSubscriber)
}

// enqueueAfter maps events to requests like handler.EnqueueRequestsFromMapFunc, but adds them
// after the delay it gives each: a request already waiting is not added twice, so a burst of
// events is one reconcile.
func enqueueAfter(mapping handler.MapFunc, delay func(ctx context.Context, req reconcile.Request) time.Duration) handler.EventHandler {
	add := func(ctx context.Context, obj client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range mapping(ctx, obj) {
			q.AddAfter(req, delay(ctx, req))
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.ObjectOld, q)
			add(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			add(ctx, e.Object, q)
		},
	}
}

// batchOf is the subscriber batch of a catalogue entry, from the subscribers its status counts in
// the cache (the shortest batch when it is not there yet). It runs at every tenant event, so it
// reads the cache's own object rather than a copy of the whole entry.
func (r *SharedApplicationReconciler) batchOf(ctx context.Context, req reconcile.Request) time.Duration {
	app := &v1alpha1.SharedApplication{}
	if err := r.Get(ctx, req.NamespacedName, app, client.UnsafeDisableDeepCopy); err != nil {
		return subscriberBatch
	}
	return subscriberBatchFor(app.Status.Subscribed)
}

// SetupWithManager wakes an application for its own changes, its tenants' and the policy's.
func (r *SharedApplicationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	all := func(ctx context.Context, _ client.Object) []reconcile.Request {
		list := &v1alpha1.SharedApplicationList{}
		if err := r.List(ctx, list); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for _, a := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: a.Name}})
		}
		return out
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("sharedapplication").
		For(&v1alpha1.SharedApplication{}).
		Watches(&v1alpha1.Commune{}, enqueueAfter(applicationsOf, r.batchOf)).
		Watches(&v1alpha1.CPAS{}, enqueueAfter(applicationsOf, r.batchOf)).
		Watches(&v1alpha1.Province{}, enqueueAfter(applicationsOf, r.batchOf)).
		Watches(&v1alpha1.TenancyPolicy{}, handler.EnqueueRequestsFromMapFunc(all))
	// the objects of shared instances: drift and health
	for _, obj := range append(managedObjects(), applicationObjects()...) {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(instanceOfObject), builder.WithPredicates(managedObjectChanged()))
	}
	// the Secrets the operator generated there, which it created rather than applied: a key the
	// cell rotates must reach the subscribers' tokens (status.instance.tokenKey)
	b = b.Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(instanceOfSecret))
	return b.Complete(r)
}
