package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// SharedApplicationReconciler checks each catalogue entry against the tenant contract and counts
// the tenants that subscribe to it, run its current generation, and have it ready.
type SharedApplicationReconciler struct {
	client.Client
	// APIReader reads around the cache, for a namespace that mutualis does not manage.
	APIReader client.Reader

	// fits keeps the tier fits of each application, per generation and policy version.
	fitsMu sync.Mutex
	fits   map[string]fitsEntry
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
	// the base is checked the way every tenant will render it, with a sample tenant
	base := metav1.Condition{Type: v1alpha1.ConditionBaseValid, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonBaseValid,
		Message: "the base renders and follows the tenant contract", ObservedGeneration: app.Generation}
	if _, err := render.Render(app, sampleTenant(app), render.Options{
		AllowedServiceTypes: effective.AllowedServiceTypes, IsNamespaced: namespacedBy(r.RESTMapper()),
	}); err != nil {
		var rerr *render.Error
		var missing *render.MissingKindsError
		switch {
		case errors.As(err, &rerr):
			base.Status, base.Reason, base.Message = metav1.ConditionFalse, v1alpha1.ReasonInvalidBase, rerr.Error()+": no tenant gets this version; fix the catalogue entry"
		case errors.As(err, &missing):
			base.Status, base.Reason, base.Message = metav1.ConditionFalse, v1alpha1.ReasonKindNotInstalled, missing.Error()
			result.RequeueAfter = kindRetry
		default:
			return ctrl.Result{}, err
		}
	}
	if base.Status == metav1.ConditionTrue {
		fits, problem, err := r.tierFits(app, policy, effective)
		if err != nil {
			return ctrl.Result{}, err
		}
		st.Tiers = fits
		if problem != "" {
			base.Status, base.Reason, base.Message = metav1.ConditionFalse, v1alpha1.ReasonUnknownTier, problem
		}
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
	return result, r.Status().Update(ctx, app)
}

// fitsKey is what a tier fit depends on: the application's generation and the policy's version.
type fitsKey struct {
	generation    int64
	policyVersion string
}

type fitsEntry struct {
	key     fitsKey
	fits    []v1alpha1.TierFit
	problem string
}

// tierFits renders the application for a commune of each tier of the policy and says whether it
// fits the quota of a commune and of a CPAS of that tier. It refuses sizes for tiers the policy
// does not define. The answer is kept per generation of the application and version of the
// policy: tenants change far more often than the catalogue.
func (r *SharedApplicationReconciler) tierFits(app *v1alpha1.SharedApplication, policy *v1alpha1.TenancyPolicy, effective v1alpha1.TenancyPolicySpec) ([]v1alpha1.TierFit, string, error) {
	key := fitsKey{generation: app.Generation}
	if policy != nil {
		key.policyVersion = policy.ResourceVersion
	}
	r.fitsMu.Lock()
	defer r.fitsMu.Unlock()
	if e, ok := r.fits[app.Name]; ok && e.key == key {
		return e.fits, e.problem, nil
	}
	fits, problem, err := catalogueFits(app, effective, namespacedBy(r.RESTMapper()))
	if err != nil {
		return nil, "", err
	}
	if r.fits == nil {
		r.fits = map[string]fitsEntry{}
	}
	r.fits[app.Name] = fitsEntry{key: key, fits: fits, problem: problem}
	return fits, problem, nil
}

// catalogueFits is the pure part of tierFits.
func catalogueFits(app *v1alpha1.SharedApplication, policy v1alpha1.TenancyPolicySpec, isNamespaced func(string, string) (bool, error)) ([]v1alpha1.TierFit, string, error) {
	known := map[string]bool{}
	var names []string
	for _, t := range policy.Tiers {
		known[t.Name] = true
		names = append(names, t.Name)
	}
	for _, size := range app.Spec.Sizes {
		if !known[size.Tier] {
			return nil, fmt.Sprintf("spec.sizes names tier %q, which the TenancyPolicy does not define (tiers: %s): rename it or add the tier to the policy", size.Tier, strings.Join(names, ", ")), nil
		}
	}
	var fits []v1alpha1.TierFit
	for _, tier := range policy.Tiers {
		sample := sampleTenant(app)
		sample.Tier = tier.Name
		objs, err := render.Render(app, sample, render.Options{AllowedServiceTypes: policy.AllowedServiceTypes, IsNamespaced: isNamespaced})
		if err != nil {
			var rerr *render.Error
			if errors.As(err, &rerr) {
				return nil, fmt.Sprintf("the render for tier %s fails: %v", tier.Name, rerr), nil
			}
			return nil, "", err
		}
		need, err := render.Requirements(objs, render.Defaults{Request: tier.DefaultRequest, Limit: tier.DefaultLimit})
		if err != nil {
			return nil, "", err
		}
		commune := render.Shortfalls(need, tier.Quota)
		cpas := render.Shortfalls(need, tenant.ScaleQuota(tier.Quota, policy.CPASQuotaPercent))
		fit := v1alpha1.TierFit{Tier: tier.Name, Commune: len(commune) == 0, CPAS: len(cpas) == 0}
		var msgs []string
		if len(commune) > 0 {
			msgs = append(msgs, "a commune needs "+strings.Join(commune, ", "))
		}
		if len(cpas) > 0 {
			msgs = append(msgs, "a CPAS needs "+strings.Join(cpas, ", "))
		}
		fit.Message = strings.Join(msgs, "; ")
		fits = append(fits, fit)
	}
	return fits, "", nil
}

// sampleTenant fills every parameter, so that the check covers the base and not a subscription.
func sampleTenant(app *v1alpha1.SharedApplication) render.Tenant {
	params := map[string]string{}
	for _, p := range app.Spec.Parameters {
		if p.Required {
			params[p.Name] = "example"
		}
	}
	return render.Tenant{Kind: v1alpha1.KindCommune, Name: "sample", Namespace: "commune-sample", NIS: "62063",
		DisplayName: "Sample", Tier: "S", Seats: 1, Parameters: params}
}

// tenantsUsing lists, through the index, the Communes and CPAS that use an application.
func tenantsUsing(ctx context.Context, c client.Client, app string) ([]v1alpha1.Tenant, error) {
	communes := &v1alpha1.CommuneList{}
	if err := c.List(ctx, communes, client.MatchingFields{indexApplication: app}); err != nil {
		return nil, err
	}
	cpas := &v1alpha1.CPASList{}
	if err := c.List(ctx, cpas, client.MatchingFields{indexApplication: app}); err != nil {
		return nil, err
	}
	out := make([]v1alpha1.Tenant, 0, len(communes.Items)+len(cpas.Items))
	for i := range communes.Items {
		out = append(out, &communes.Items[i])
	}
	for i := range cpas.Items {
		out = append(out, &cpas.Items[i])
	}
	return out, nil
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
		Watches(&v1alpha1.Commune{}, handler.EnqueueRequestsFromMapFunc(applicationsOf)).
		Watches(&v1alpha1.CPAS{}, handler.EnqueueRequestsFromMapFunc(applicationsOf)).
		Watches(&v1alpha1.TenancyPolicy{}, handler.EnqueueRequestsFromMapFunc(all))
	// the objects of shared instances: drift and health
	for _, obj := range append(managedObjects(), applicationObjects()...) {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(instanceOfObject))
	}
	return b.Complete(r)
}
