package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/status"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// scope is what one reconcile of a tenant read, decided and observed. The steps fill it; the
// deferred writeStatus turns it into the status.
type scope struct {
	// Observations are what the steps found, which writeStatus turns into the status.
	status.Observations

	tenant v1alpha1.Tenant
	before v1alpha1.Tenant
	policy v1alpha1.TenancyPolicySpec
	res    *tenant.Resolved

	// identity is who the planner says the tenant is (its partner included), once resolved.
	identity *plan.Identity

	// accessPending is set when the access step found no namespace of this tenant to bind yet;
	// namespaceCreated when the namespace step created it in this reconcile.
	accessPending    bool
	namespaceCreated bool
	// withdrawn says what was removed from the namespace because the tenant may no longer have it.
	withdrawn []string
	// changes are what the appliers of this reconcile created, configured, pruned or left as it was.
	changes apply.ChangeSet

	// backups are the tenant's Velero Backups, as the backup step listed them.
	backups []unstructured.Unstructured
	// findings are the keys of the audit's findings (info aside), when the audit was evaluated in
	// this reconcile; nil when it was not.
	findings []string

	// tokenProblems say, by Shared application, why the tenant got no subscriber token.
	tokenProblems map[string]string

	requeue time.Duration
	// released is set once the finalizer is gone: the object may no longer exist.
	released bool
}

func newScope(t v1alpha1.Tenant) *scope {
	return &scope{Observations: status.NewObservations(), tenant: t, before: t.DeepCopyObject().(v1alpha1.Tenant)}
}

// decided records a verdict of the planner: a configuration error stalls, a missing dependency
// waits.
func (s *scope) decided(v *plan.Verdict) {
	if v.Wait {
		s.Wait(v.Part, v.Reason, "%s", v.Message)
		return
	}
	s.Stall(v.Part, v.Reason, "%s", v.Message)
}

func (s *scope) requeueAfter(d time.Duration) {
	if s.requeue == 0 || d < s.requeue {
		s.requeue = d
	}
}

// tokenProblem records why the tenant got no token of an application.
func (s *scope) tokenProblem(application, problem string) {
	if s.tokenProblems == nil {
		s.tokenProblems = map[string]string{}
	}
	s.tokenProblems[application] = problem
}

func (s *scope) result() ctrl.Result { return ctrl.Result{RequeueAfter: s.requeue} }

// computeStatus writes the observations of the scope into the tenant's status (status.Compute).
func computeStatus(s *scope) {
	if s.res != nil {
		s.Tier, s.NISCode = s.res.Tier.Name, s.res.NIS
	}
	status.Compute(s.tenant, &s.Observations)
}

func statusOf(t v1alpha1.Tenant) any {
	switch o := t.(type) {
	case *v1alpha1.Commune:
		return &o.Status
	case *v1alpha1.CPAS:
		return &o.Status
	case *v1alpha1.Province:
		return &o.Status
	}
	return nil
}

// writeStatus computes the status and patches it only when it differs from what was read, then
// raises events on the transitions.
func (r *TenantReconciler) writeStatus(ctx context.Context, s *scope) error {
	if s.released {
		return nil
	}
	computeStatus(s)
	if equality.Semantic.DeepEqual(statusOf(s.before), statusOf(s.tenant)) {
		return nil
	}
	if err := r.Status().Patch(ctx, s.tenant, client.MergeFrom(s.before)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	r.transitionEvents(s)
	return nil
}

func (r *TenantReconciler) transitionEvents(s *scope) {
	old, cur := s.before.TenantStatus().Conditions, s.tenant.TenantStatus().Conditions
	became := func(condType string, status metav1.ConditionStatus) (*metav1.Condition, bool) {
		c := meta.FindStatusCondition(cur, condType)
		if c == nil || c.Status != status {
			return nil, false
		}
		o := meta.FindStatusCondition(old, condType)
		return c, o == nil || o.Status != status || o.Reason != c.Reason
	}
	if c, ok := became(v1alpha1.ConditionReady, metav1.ConditionTrue); ok {
		r.event(s.tenant, corev1.EventTypeNormal, v1alpha1.ReasonReady, "Reconcile", "%s", c.Message)
	}
	if c, ok := became(v1alpha1.ConditionStalled, metav1.ConditionTrue); ok {
		r.event(s.tenant, corev1.EventTypeWarning, c.Reason, "Reconcile", "%s", c.Message)
	}
	if c, ok := became(v1alpha1.ConditionNISCurrent, metav1.ConditionFalse); ok {
		r.event(s.tenant, corev1.EventTypeWarning, c.Reason, "Reconcile", "%s", c.Message)
	}
}
