package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/render"
)

// kindRetry is how often a tenant whose application uses a kind the cluster does not serve looks
// again: mutualis does not watch CRDs.
const kindRetry = 15 * time.Second

// appOutcome is what one subscription came to in this reconcile.
type appOutcome struct {
	status v1alpha1.ApplicationStatus
	// invalid marks a configuration error (a bad base, a bad subscription): nothing was applied.
	invalid bool
	// missing marks a SharedApplication that does not exist: nothing was touched.
	missing bool
	// dependencyMissing marks a render that uses kinds the cluster does not serve yet.
	dependencyMissing bool
	// conflict marks an object of the render that exists and that mutualis did not make.
	conflict bool
}

// reconcileApplications renders, applies and prunes each subscribed application, then reads its
// health. One application's failure never stops the others.
func (r *TenantReconciler) reconcileApplications(ctx context.Context, s *scope) error {
	t := s.tenant
	previous := map[string]v1alpha1.ApplicationStatus{}
	for _, a := range t.TenantStatus().Applications {
		previous[a.Name] = a
	}
	subscribed := map[string]bool{}
	subs := plan.Subscriptions(t)
	for _, sub := range subs {
		subscribed[sub.Name] = true
	}

	var outcomes []appOutcome
	var applyErrs []error
	var plans []*appPlan
	for _, sub := range subs {
		p, err := r.planApplication(ctx, s, sub, previous[sub.Name])
		if err != nil {
			applyErrs = append(applyErrs, fmt.Errorf("%s: %w", sub.Name, err))
			outcomes = append(outcomes, p.out)
			continue
		}
		plans = append(plans, p)
	}
	// the subscriptions must fit the tenant's quota together, before anything is applied: a
	// workload the quota cannot hold only leaves ReplicaSets failing
	shortfalls, err := quotaShortfalls(s, plans)
	if err != nil {
		return s.failed(v1alpha1.ConditionApplicationsReady, err)
	}
	var toApply []*appPlan
	for _, plan := range plans {
		if plan.objs == nil {
			outcomes = append(outcomes, plan.out)
			continue
		}
		if len(shortfalls) > 0 {
			// what runs already keeps running as it is; nothing new is applied
			plan.out.status.Ready = plan.prev.Ready
			plan.out.status.Message = "not applied: the subscribed applications do not fit the tenant's quota (see ApplicationsReady)"
			if len(plan.prev.Resources) > 0 {
				plan.out.status.Message = "not updated: the subscribed applications do not fit the tenant's quota (see ApplicationsReady)"
			}
			outcomes = append(outcomes, plan.out)
			continue
		}
		toApply = append(toApply, plan)
	}
	// the applications at once, each one's objects in its render's order: they share nothing, and
	// one after the other a commune's first reconcile waited on the API server for every object of
	// every application in turn (at 5,000 tenants, nine seconds, its communes' queue the bound)
	applied := make([]appOutcome, len(toApply))
	errs := make([]error, len(toApply))
	_ = atOnce(ctx, len(toApply), func(ctx context.Context, i int) error {
		applied[i], errs[i] = r.applyApplication(ctx, s, toApply[i])
		return nil
	})
	for i, o := range applied {
		if errs[i] != nil {
			applyErrs = append(applyErrs, fmt.Errorf("%s: %w", o.status.Name, errs[i]))
		}
		outcomes = append(outcomes, o)
	}
	// unsubscribed applications: prune everything their inventory lists
	var pruneErrs []error
	for name, prev := range previous {
		if _, still := subscribed[name]; still {
			continue
		}
		left, err := apply.Prune(ctx, r.Client, r.RESTMapper(), s.res.Namespace, name, refs(prev.Resources), nil)
		if err != nil {
			pruneErrs = append(pruneErrs, err)
			prev.Resources = strs(left)
			prev.Ready, prev.Message = false, "unsubscribed; pruning failed and is retried: "+err.Error()
			outcomes = append(outcomes, appOutcome{status: prev})
		}
	}
	sort.Slice(outcomes, func(i, j int) bool { return outcomes[i].status.Name < outcomes[j].status.Name })
	s.apps = nil
	sort.Slice(s.licences, func(i, j int) bool { return s.licences[i].Application < s.licences[j].Application })
	for _, o := range outcomes {
		s.apps = append(s.apps, o.status)
	}
	s.appsReported = true

	s.licenceCondition()

	const part = v1alpha1.ConditionApplicationsReady
	if err := errors.Join(append(applyErrs, pruneErrs...)...); err != nil {
		return s.failed(part, err)
	}
	var invalid, missing, dependencies, conflicts, progressing []string
	ready := 0
	for _, o := range outcomes {
		switch {
		case o.invalid:
			invalid = append(invalid, o.status.Message)
		case o.missing:
			missing = append(missing, o.status.Message)
		case o.dependencyMissing:
			dependencies = append(dependencies, o.status.Message)
		case o.conflict:
			conflicts = append(conflicts, fmt.Sprintf("%s: %s", o.status.Name, o.status.Message))
		case !o.status.Ready:
			progressing = append(progressing, fmt.Sprintf("%s: %s", o.status.Name, o.status.Message))
		default:
			ready++
		}
	}
	switch v := plan.ApplicationsVerdict(s.res.Tier.Name, shortfalls, invalid, missing); {
	case v != nil:
		s.decided(v)
	case len(dependencies) > 0:
		s.wait(part, v1alpha1.ReasonKindNotInstalled, "%s", strings.Join(dependencies, "; "))
	case len(conflicts) > 0:
		// the tenant's objects wake no reconcile: look again in a while
		s.wait(part, v1alpha1.ReasonObjectConflict, "%s", strings.Join(conflicts, "; "))
		s.requeueAfter(time.Minute)
	case len(progressing) > 0:
		s.wait(part, v1alpha1.ReasonApplicationsProgressing, "%s", strings.Join(progressing, "; "))
	case len(outcomes) == 0:
		s.conds[part] = condition(part, metav1.ConditionTrue, v1alpha1.ReasonNoApplications, "no application subscribed")
	default:
		s.conds[part] = condition(part, metav1.ConditionTrue, v1alpha1.ReasonApplicationsReady, "%d applications ready", ready)
	}
	return nil
}

// appPlan is one subscription rendered and not applied yet: its objects, or the outcome that says
// why there is nothing to apply.
type appPlan struct {
	out    appOutcome
	app    *v1alpha1.SharedApplication
	prev   v1alpha1.ApplicationStatus
	shared bool
	// instance marks a subscription to a Shared application's instance.
	instance bool
	// objs are the rendered objects; nil when there is nothing to apply.
	objs []*unstructured.Unstructured
}

// planApplication reads the catalogue entry and the licence of one subscription and renders it.
func (r *TenantReconciler) planApplication(ctx context.Context, s *scope, sub plan.Subscription, prev v1alpha1.ApplicationStatus) (*appPlan, error) {
	p := &appPlan{prev: prev, shared: sub.Shared,
		out: appOutcome{status: v1alpha1.ApplicationStatus{Name: sub.Name, Version: prev.Version, ObservedGeneration: prev.ObservedGeneration, Resources: prev.Resources}}}
	objs, err := r.renderSubscription(ctx, s, sub, p)
	p.objs = objs
	return p, err
}

// renderSubscription fills the plan's catalogue entry and outcome, and returns the objects to
// apply: nil, with the outcome saying why, when there are none.
func (r *TenantReconciler) renderSubscription(ctx context.Context, s *scope, sub plan.Subscription, p *appPlan) ([]*unstructured.Unstructured, error) {
	out, shared := &p.out, p.shared
	app := &v1alpha1.SharedApplication{}
	if err := r.Get(ctx, client.ObjectKey{Name: sub.Name}, app); apierrors.IsNotFound(err) {
		out.missing = true
		out.status.Message = plan.MissingApplication(sub.Name, len(out.status.Resources) > 0)
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	p.app = app

	seats, deploy, problem, err := r.licenceFor(ctx, s, app, sub)
	if err != nil {
		return nil, err
	}
	if problem != "" {
		out.invalid = true
		out.status.Message = problem
		return nil, nil
	}
	if !deploy {
		out.status.Message = fmt.Sprintf("waiting for licence seats of %s: see LicencesReady", app.Name)
		return nil, nil
	}

	var objs []*unstructured.Unstructured
	switch {
	case app.Spec.Instance == v1alpha1.InstanceShared:
		// the tenant reaches the cell's one instance; its values go to the subscribers list
		if problem := plan.UndeclaredParameters(app, sub.ApplicationSubscription); problem != "" {
			out.invalid = true
			out.status.Message = problem
			return nil, nil
		}
		p.instance = true
		objs = instanceServices(s.res.Namespace, app)
	case shared:
		var problem string
		objs, problem = r.synergyServices(s, app)
		if problem != "" {
			out.invalid = true
			out.status.Message = problem
			return nil, nil
		}
	default:
		var err error
		objs, err = r.Renders.Render(app, plan.RenderTenant(s.tenant, s.res.NIS, s.res.Tier.Name, sub.ApplicationSubscription, seats), render.Options{AllowedServiceTypes: s.policy.AllowedServiceTypes, IsNamespaced: namespacedBy(r.RESTMapper())})
		var rerr *render.Error
		var missing *render.MissingKindsError
		switch {
		case errors.As(err, &rerr):
			out.invalid = true
			out.status.Message = rerr.Error()
			return nil, nil
		case errors.As(err, &missing):
			// a missing dependency waits; nothing tells mutualis when a CRD arrives, so it looks again
			out.dependencyMissing = true
			out.status.Message = missing.Error()
			s.requeueAfter(kindRetry)
			return nil, nil
		case err != nil:
			return nil, err
		}
	}
	return objs, nil
}

// applyApplication applies a rendered subscription, prunes what left its render and reads its
// health.
func (r *TenantReconciler) applyApplication(ctx context.Context, s *scope, plan *appPlan) (appOutcome, error) {
	out, app, objs, shared := plan.out, plan.app, plan.objs, plan.shared
	// an object that the cache does not hold is looked for on the API server, so that one a tenant
	// made under that name is never adopted; a namespace created in this reconcile holds none
	var uncached client.Reader = r.APIReader
	if s.namespaceCreated {
		uncached = nil
	}
	resources, err := applyAll(ctx, r.Client, uncached, r.RESTMapper(), s.res.Namespace, app.Name, plan.prev.Resources, objs)
	out.status.Resources = resources
	if conflict := (*apply.ConflictError)(nil); errors.As(err, &conflict) {
		// the tenant's own object is left alone; the application waits until its name is free
		out.conflict = true
		out.status.Message = err.Error()
		return out, nil
	}
	if err != nil {
		out.status.Message = err.Error()
		return out, err
	}
	out.status.Version = app.Spec.Version
	out.status.ObservedGeneration = app.Generation
	if plan.instance {
		out.status.Ready, out.status.Message = instanceHealth(app)
		return out, nil
	}
	out.status.Ready, out.status.Message = r.health(ctx, s, objs, shared, app.Name)
	return out, nil
}

// applyAll applies the objects of one application in namespace and prunes what the previous
// inventory lists and the objects no longer have. The inventory grows before anything is applied,
// so that an object is never applied without being listed, and shrinks only once the pruning
// succeeded: the inventory it returns keeps what could not be pruned.
func applyAll(ctx context.Context, c client.Client, uncached client.Reader, mapper meta.RESTMapper, namespace, application string, previous []string, objs []*unstructured.Unstructured) ([]string, error) {
	current := make([]apply.Ref, 0, len(objs))
	for _, obj := range objs {
		current = append(current, apply.RefOf(obj))
	}
	inventory := strs(union(refs(previous), current))
	// one after the other, in the render's order (kustomize puts what workloads read first):
	// applying them at once (two waves, run 15 of docs/benchmarks.md) was slower at 522 tenants;
	// a tenant's applications, on the other hand, go at once (reconcileApplications)
	for _, obj := range objs {
		if _, err := apply.Object(ctx, c, uncached, obj); err != nil {
			return inventory, fmt.Errorf("apply failed: %w", err)
		}
		if apply.IsWorkload(obj) {
			// a tenant back from suspend: hand the replica count back to the application
			if _, err := apply.Resume(ctx, c, obj); err != nil {
				return inventory, err
			}
		}
	}
	left, err := apply.Prune(ctx, c, mapper, namespace, application, refs(previous), current)
	return strs(union(current, left)), err
}

// workloadsWaiting says, for each Deployment and StatefulSet of a render that is not available
// at its current generation, why.
func workloadsWaiting(ctx context.Context, c client.Reader, objs []*unstructured.Unstructured) []string {
	var waiting []string
	for _, obj := range objs {
		if !apply.IsWorkload(obj) {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(obj.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			waiting = append(waiting, fmt.Sprintf("%s %s: %v", obj.GetKind(), obj.GetName(), err))
			continue
		}
		if ok, why := workloadAvailable(live); !ok {
			waiting = append(waiting, fmt.Sprintf("%s %s %s", obj.GetKind(), obj.GetName(), why))
		}
	}
	return waiting
}

// instanceHealth is a subscription's view of the shared instance it reaches.
func instanceHealth(app *v1alpha1.SharedApplication) (bool, string) {
	in := app.Status.Instance
	switch {
	case in == nil:
		return false, fmt.Sprintf("the shared instance of %s is not running yet", app.Name)
	case !in.Ready:
		return false, fmt.Sprintf("the shared instance in %s is not ready: %s", in.Namespace, in.Message)
	}
	return true, "uses the shared instance in " + in.Namespace
}

// quotaShortfalls sums what the rendered subscriptions take of the tenant's quota and says what
// exceeds it.
func quotaShortfalls(s *scope, plans []*appPlan) ([]string, error) {
	var renders []plan.Rendered
	for _, p := range plans {
		if p.objs != nil {
			renders = append(renders, plan.Rendered{Application: p.out.status.Name, Objects: p.objs})
		}
	}
	return plan.QuotaShortfalls(s.res.Tier, s.res.Quota, renders)
}

// synergyServices gives a CPAS the commune's instance of a shared application: one ExternalName
// Service per exposed Service, pointing into the commune's namespace. The network policies already
// let the CPAS reach the commune's exposed ports.
func (r *TenantReconciler) synergyServices(s *scope, app *v1alpha1.SharedApplication) ([]*unstructured.Unstructured, string) {
	if problem := plan.SynergyProblem(s.tenant, s.partner, app.Name); problem != "" {
		return nil, problem
	}
	return externalNames(s.res.Namespace, app, s.res.Partner), ""
}

// health reads the workloads of a render: ready when every Deployment and StatefulSet is available
// at its current generation. The message carries the reason the workload controller gives, such as
// a ReplicaSet that cannot create pods because of the quota or Pod Security.
func (r *TenantReconciler) health(ctx context.Context, s *scope, objs []*unstructured.Unstructured, shared bool, app string) (bool, string) {
	if shared {
		for _, a := range s.partner.TenantStatus().Applications {
			if a.Name == app {
				if a.Ready {
					return true, "uses the commune's instance"
				}
				return false, "the commune's instance is not ready: " + a.Message
			}
		}
		return false, "the commune's instance is not deployed yet"
	}
	waiting := workloadsWaiting(ctx, r.Client, objs)
	if len(waiting) > 0 {
		return false, strings.Join(waiting, "; ")
	}
	return true, "available"
}

// workloadAvailable reads a Deployment's or StatefulSet's status the way kubectl rollout status
// does.
func workloadAvailable(u *unstructured.Unstructured) (bool, string) {
	generation := u.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	replicas, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	updated, _, _ := unstructured.NestedInt64(u.Object, "status", "updatedReplicas")
	available, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
	if u.GetKind() == "StatefulSet" {
		available, _, _ = unstructured.NestedInt64(u.Object, "status", "readyReplicas")
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] == "ReplicaFailure" && m["status"] == "True" {
			return false, fmt.Sprintf("cannot create pods: %v", m["message"])
		}
		if m["type"] == "Progressing" && m["status"] == "False" {
			return false, fmt.Sprintf("is not progressing: %v", m["message"])
		}
	}
	switch {
	case observed < generation:
		return false, "is not yet observed by its controller"
	case updated < replicas:
		return false, fmt.Sprintf("has %d of %d replicas updated", updated, replicas)
	case available < replicas:
		return false, fmt.Sprintf("has %d of %d replicas available", available, replicas)
	}
	return true, ""
}

// namespacedBy answers render's question "is this kind namespaced?" from the API server's REST
// mapping.
func namespacedBy(mapper meta.RESTMapper) func(apiVersion, kind string) (bool, error) {
	return func(apiVersion, kind string) (bool, error) {
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return false, err
		}
		m, err := mapper.RESTMapping(gv.WithKind(kind).GroupKind(), gv.Version)
		if meta.IsNoMatchError(err) {
			return false, &render.UnknownKindError{APIVersion: apiVersion, Kind: kind}
		}
		if err != nil {
			return false, err
		}
		return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
	}
}

func refs(in []string) []apply.Ref {
	out := make([]apply.Ref, 0, len(in))
	for _, s := range in {
		out = append(out, apply.Ref(s))
	}
	return out
}

// strs turns refs into the sorted inventory of a status; empty is nil, so that an unchanged status
// compares equal to the one read.
func strs(in []apply.Ref) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, r := range in {
		out = append(out, string(r))
	}
	sort.Strings(out)
	return out
}

func union(a, b []apply.Ref) []apply.Ref {
	seen := map[apply.Ref]bool{}
	var out []apply.Ref
	for _, r := range append(append([]apply.Ref{}, a...), b...) {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// licenceFor works out the seats of one subscription: an OpenSource application takes none; a
// PerSeat or PerInstance one takes them from its LicencePool. deploy is false while the tenant has
// no grant at all; with a grant smaller than its request, the application runs on its grant.
func (r *TenantReconciler) licenceFor(ctx context.Context, s *scope, app *v1alpha1.SharedApplication, sub plan.Subscription) (seats int32, deploy bool, problem string, err error) {
	requested, pooled, problem := plan.LicenceRequest(app, sub)
	if problem != "" || !pooled {
		return 0, problem == "", problem, nil
	}
	// an error reading the pools says nothing of the seats: it is retried, never reported as an
	// exhausted or missing pool
	pool, err := activePool(ctx, r.Client, app.Name)
	if err != nil {
		return 0, false, "", fmt.Errorf("reading the LicencePools of %s: %w", app.Name, err)
	}
	entry := v1alpha1.LicenceStatus{Application: app.Name, Requested: requested}
	defer func() { s.licences = append(s.licences, entry) }()
	if pool == nil {
		s.licenceShort = append(s.licenceShort, fmt.Sprintf("%s: no LicencePool holds its seats: create one", app.Name))
		return 0, false, "", nil
	}
	for _, a := range pool.Status.Allocations {
		if a.Tenant == s.res.Namespace {
			entry.Granted = a.Seats
		}
	}
	if entry.Granted < requested {
		s.licenceShort = append(s.licenceShort, fmt.Sprintf("%s: %d seats requested, %d granted; pool %s has %d available: buy seats or lower the request",
			app.Name, requested, entry.Granted, pool.Name, pool.Status.AvailableSeats))
	}
	return entry.Granted, entry.Granted > 0, "", nil
}
