package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/licence"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
	"github.com/crtpl/mutualis/controllers/token"
)

// kindRetry is how often a tenant whose application uses a kind the cluster does not serve looks
// again: mutualis does not watch CRDs.
const kindRetry = 15 * time.Second

// appOutcome is what one subscription came to in this reconcile: its status, and whether an
// object of its render belongs to someone else (the tenant), which the apply found.
type appOutcome struct {
	status v1alpha1.ApplicationStatus
	// conflict marks an object of the render that exists and that mutualis did not make.
	conflict bool
}

// reconcileApplications decides the tenant's subscriptions with the planner, applies and prunes
// what it decided, then reads each application's health. One application's failure never stops
// the others.
func (r *TenantReconciler) reconcileApplications(ctx context.Context, s *scope) error {
	const part = v1alpha1.ConditionApplicationsReady
	previous := map[string]v1alpha1.ApplicationStatus{}
	for _, a := range s.tenant.TenantStatus().Applications {
		previous[a.Name] = a
	}
	in, err := r.applicationsInput(ctx, s, previous)
	if err != nil {
		return s.Failed(part, err)
	}
	decided, err := plan.Applications(in)
	if err != nil {
		// the render could not ask the cluster what a kind is: retried, never blamed on the tenant
		return s.Failed(part, err)
	}
	s.Licences, s.LicenceShort = decided.Licences, decided.LicenceShort

	var outcomes []appOutcome
	var toApply []plan.SubscriptionPlan
	for _, sub := range decided.Subscriptions {
		prev := previous[sub.Name]
		out := appOutcome{status: v1alpha1.ApplicationStatus{Name: sub.Name, Version: prev.Version, ObservedGeneration: prev.ObservedGeneration, Resources: prev.Resources}}
		switch {
		case sub.Outcome != plan.OutcomeApply:
			if sub.Outcome == plan.OutcomeKindMissing {
				s.requeueAfter(kindRetry) // nothing tells mutualis when a CRD arrives: it looks again
			}
			out.status.Message = sub.Message
		case len(decided.Shortfalls) > 0:
			// what runs already keeps running as it is; nothing new is applied
			out.status.Ready = prev.Ready
			out.status.Message = "not applied: the subscribed applications do not fit the tenant's quota (see ApplicationsReady)"
			if len(prev.Resources) > 0 {
				out.status.Message = "not updated: the subscribed applications do not fit the tenant's quota (see ApplicationsReady)"
			}
		default:
			toApply = append(toApply, sub)
			continue
		}
		outcomes = append(outcomes, out)
	}
	// the applications at once, each one's objects in its render's order: they share nothing, and
	// one after the other a commune's first reconcile waited on the API server for every object of
	// every application in turn (at 5,000 tenants, nine seconds, its communes' queue the bound)
	applied := make([]appOutcome, len(toApply))
	errs := make([]error, len(toApply))
	_ = apply.AtOnce(ctx, len(toApply), func(ctx context.Context, i int) error {
		applied[i], errs[i] = r.applyApplication(ctx, s, toApply[i], previous[toApply[i].Name])
		return nil
	})
	var applyErrs []error
	for i, o := range applied {
		if errs[i] != nil {
			applyErrs = append(applyErrs, fmt.Errorf("%s: %w", o.status.Name, errs[i]))
		}
		outcomes = append(outcomes, o)
	}
	// unsubscribed applications: prune everything their inventory lists
	for name, prev := range previous {
		if subscribes(decided, name) {
			continue
		}
		left, pruned, err := apply.Prune(ctx, r.Client, r.RESTMapper(), s.res.Namespace, name, apply.Refs(prev.Resources), nil)
		s.changes.Add(pruned...)
		if err != nil {
			applyErrs = append(applyErrs, err)
			prev.Resources = apply.Strings(left)
			prev.Ready, prev.Message = false, "unsubscribed; pruning failed and is retried: "+err.Error()
			outcomes = append(outcomes, appOutcome{status: prev})
		}
	}
	sort.Slice(outcomes, func(i, j int) bool { return outcomes[i].status.Name < outcomes[j].status.Name })
	s.Apps = nil
	for _, o := range outcomes {
		s.Apps = append(s.Apps, o.status)
	}
	s.AppsReported = true
	s.LicenceCondition()

	if err := errors.Join(applyErrs...); err != nil {
		return s.Failed(part, err)
	}
	var conflicts, progressing []string
	ready := 0
	for _, o := range outcomes {
		switch {
		case o.conflict:
			conflicts = append(conflicts, fmt.Sprintf("%s: %s", o.status.Name, o.status.Message))
		case !o.status.Ready:
			progressing = append(progressing, fmt.Sprintf("%s: %s", o.status.Name, o.status.Message))
		default:
			ready++
		}
	}
	switch {
	case decided.Verdict != nil:
		s.decided(decided.Verdict)
	case len(conflicts) > 0:
		// the tenant's objects wake no reconcile: look again in a while
		s.Wait(part, v1alpha1.ReasonObjectConflict, "%s", strings.Join(conflicts, "; "))
		s.requeueAfter(time.Minute)
	case len(progressing) > 0:
		s.Wait(part, v1alpha1.ReasonApplicationsProgressing, "%s", strings.Join(progressing, "; "))
	case len(outcomes) == 0:
		s.Observe(part, true, v1alpha1.ReasonNoApplications, "no application subscribed")
	default:
		s.Observe(part, true, v1alpha1.ReasonApplicationsReady, "%d applications ready", ready)
	}
	return nil
}

// subscribes says whether the plan holds a subscription to an application.
func subscribes(p *plan.ApplicationsPlan, name string) bool {
	for _, sub := range p.Subscriptions {
		if sub.Name == name {
			return true
		}
	}
	return false
}

// applicationsInput reads what the planner decides a tenant's subscriptions on, from the cache:
// the catalogue entries they name and the seats the pools granted the tenant.
func (r *TenantReconciler) applicationsInput(ctx context.Context, s *scope, previous map[string]v1alpha1.ApplicationStatus) (plan.ApplicationsInput, error) {
	in := plan.ApplicationsInput{
		Tenant: s.tenant, Identity: s.identity, Entries: map[string]*v1alpha1.SharedApplication{}, Deployed: map[string]bool{},
		Render: func(app *v1alpha1.SharedApplication, t render.Tenant) ([]*unstructured.Unstructured, error) {
			return r.Renders.Render(app, t, render.Options{AllowedServiceTypes: s.policy.AllowedServiceTypes, IsNamespaced: namespacedBy(r.RESTMapper())})
		},
	}
	for name, prev := range previous {
		in.Deployed[name] = len(prev.Resources) > 0
	}
	licensed := false
	for _, sub := range plan.Subscriptions(s.tenant) {
		app := &v1alpha1.SharedApplication{}
		switch err := r.Get(ctx, client.ObjectKey{Name: sub.Name}, app); {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return in, err
		}
		in.Entries[sub.Name] = app
		licensed = licensed || app.Spec.Licence.Model != "" && app.Spec.Licence.Model != v1alpha1.LicenceOpenSource
		if err := r.subscriberToken(ctx, s, app, &in); err != nil {
			return in, err
		}
	}
	if !licensed {
		return in, nil
	}
	// an error reading the pools says nothing of the seats: it is retried, never reported as an
	// exhausted or missing pool
	pools := &v1alpha1.LicencePoolList{}
	if err := r.List(ctx, pools); err != nil {
		return in, fmt.Errorf("reading the LicencePools: %w", err)
	}
	in.Grants = map[string]plan.Grant{}
	for name := range in.Entries {
		if pool := licence.Active(pools.Items, name); pool != nil {
			in.Grants[name] = grantOf(pool, s.res.Namespace, s.res.Tier.Name)
		}
	}
	return in, nil
}

// subscriberToken decides the tenant's token of a Shared application that issues them: kept while
// it is good, issued anew otherwise (package token), and the reconcile comes back when it is due.
// When the cell's signing secret cannot be used, the tenant gets no token (an old one goes with
// the inventory) and the application's status says why.
func (r *TenantReconciler) subscriberToken(ctx context.Context, s *scope, app *v1alpha1.SharedApplication, in *plan.ApplicationsInput) error {
	spec := app.Spec.SharedInstance.SubscriberTokens
	if app.Spec.Instance != v1alpha1.InstanceShared || spec == nil {
		return nil
	}
	// the cell's Secret carries no mutualis label, so the cache does not hold it: read it live
	instanceNamespace := tenant.InstanceNamespaceName(app.Name)
	signing := &corev1.Secret{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: instanceNamespace, Name: spec.SigningSecret.Name}, signing)
	switch {
	case apierrors.IsNotFound(err):
		s.tokenProblem(app.Name, fmt.Sprintf("no token yet: the signing Secret %s/%s is missing; list it in spec.sharedInstance.generatedSecrets or create it (key %s)", instanceNamespace, spec.SigningSecret.Name, spec.SigningSecret.Key))
		// nothing wakes the tenant when the Secret comes: look again in a while
		s.requeueAfter(30 * time.Second)
		return nil
	case err != nil:
		return fmt.Errorf("reading the signing Secret of %s: %w", app.Name, err)
	}
	key := signing.Data[spec.SigningSecret.Key]
	current := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: s.res.Namespace, Name: token.SecretName(app.Name)}, current); client.IgnoreNotFound(err) != nil {
		return err
	}
	now := time.Now()
	d, err := token.Decide(spec, key, s.res.Namespace, plan.DisplayName(s.tenant, s.identity.NIS), string(current.Data[token.KeyToken]), now)
	if err != nil {
		s.tokenProblem(app.Name, fmt.Sprintf("no token: the signing Secret %s/%s, key %s: %v", instanceNamespace, spec.SigningSecret.Name, spec.SigningSecret.Key, err))
		s.requeueAfter(time.Minute)
		return nil
	}
	if in.Tokens == nil {
		in.Tokens = map[string]*unstructured.Unstructured{}
	}
	in.Tokens[app.Name] = token.Secret(s.res.Namespace, app.Name, d)
	s.requeueAfter(d.Renew.Sub(now))
	return nil
}

// grantOf is what a pool's status grants a tenant, and what it has left for the tenant's tier.
func grantOf(pool *v1alpha1.LicencePool, namespace, tier string) plan.Grant {
	g := plan.Grant{Pool: pool.Name, Available: licence.AvailableTo(pool.Status.AvailableSeats, pool.Status.Reservations, tier)}
	for _, a := range pool.Status.Allocations {
		if a.Tenant == namespace {
			g.Granted = a.Seats
		}
	}
	if c := meta.FindStatusCondition(pool.Status.Conditions, v1alpha1.ConditionReady); c != nil && c.Reason == v1alpha1.ReasonExpired && pool.Spec.ValidUntil != nil {
		g.Ended = pool.Spec.ValidUntil.Format(time.DateOnly)
	}
	return g
}

// applyApplication applies a decided subscription, prunes what left its render and reads its
// health.
func (r *TenantReconciler) applyApplication(ctx context.Context, s *scope, sub plan.SubscriptionPlan, prev v1alpha1.ApplicationStatus) (appOutcome, error) {
	out := appOutcome{status: v1alpha1.ApplicationStatus{Name: sub.Name, Version: prev.Version, ObservedGeneration: prev.ObservedGeneration, Resources: prev.Resources}}
	// an object that the cache does not hold is looked for on the API server, so that one a tenant
	// made under that name is never adopted; a namespace created in this reconcile holds none
	var uncached client.Reader = r.APIReader
	if s.namespaceCreated {
		uncached = nil
	}
	resources, changes, err := apply.Application(ctx, r.Client, uncached, r.RESTMapper(), s.res.Namespace, sub.Name, prev.Resources, sub.Objects)
	s.changes.Add(changes...)
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
	out.status.Version = sub.Entry.Spec.Version
	out.status.ObservedGeneration = sub.Entry.Generation
	switch sub.Serving {
	case plan.ServedByInstance:
		out.status.Ready, out.status.Message = instanceHealth(sub.Entry)
		if problem := s.tokenProblems[sub.Name]; problem != "" {
			out.status.Ready, out.status.Message = false, out.status.Message+"; "+problem
		}
	case plan.ServedExternally:
		out.status.Ready, out.status.Message = true, externalHealth(sub.Entry)
	case plan.ServedBySynergy:
		out.status.Ready, out.status.Message = synergyHealth(s.identity.Partner, sub.Name)
	default:
		out.status.Ready, out.status.Message = true, "available"
		if waiting := apply.WorkloadsWaiting(ctx, r.Client, sub.Objects); len(waiting) > 0 {
			out.status.Ready, out.status.Message = false, strings.Join(waiting, "; ")
		}
	}
	return out, nil
}

// externalHealth is what a subscription to an application hosted outside the cell says: mutualis
// cannot see it run, only who runs it.
func externalHealth(app *v1alpha1.SharedApplication) string {
	h := app.Spec.HostedBy
	if h == nil {
		return "hosted outside the cell"
	}
	msg := fmt.Sprintf("hosted outside the cell by %s (%s)", h.Operator, h.Country)
	if h.URL != "" {
		msg += " at " + h.URL
	}
	return msg + "; mutualis runs nothing for it"
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

// synergyHealth is a CPAS's view of the commune's copy it uses through synergy.
func synergyHealth(commune v1alpha1.Tenant, app string) (bool, string) {
	if commune != nil {
		for _, a := range commune.TenantStatus().Applications {
			if a.Name == app {
				if a.Ready {
					return true, "uses the commune's instance"
				}
				return false, "the commune's instance is not ready: " + a.Message
			}
		}
	}
	return false, "the commune's instance is not deployed yet"
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
