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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// partConditions are the conditions of the parts of the tenant contract, in the order of the steps.
var partConditions = []string{
	v1alpha1.ConditionNamespaceReady, v1alpha1.ConditionQuotaReady, v1alpha1.ConditionAccessReady,
	v1alpha1.ConditionNetworkReady, v1alpha1.ConditionLicencesReady, v1alpha1.ConditionApplicationsReady,
	v1alpha1.ConditionBackupReady,
}

// scope is what one reconcile of a tenant read, decided and observed. The steps fill it; the
// deferred writeStatus turns it into the status.
type scope struct {
	tenant v1alpha1.Tenant
	before v1alpha1.Tenant
	policy v1alpha1.TenancyPolicySpec
	res    *tenant.Resolved

	// conds are the part conditions observed in this reconcile.
	conds map[string]*metav1.Condition
	// nis is the NISCurrent condition of a Commune, when the registry was consulted.
	nis *metav1.Condition
	// stalled is the first configuration error: nothing more is done until the object changes.
	stalled *metav1.Condition
	// waiting is the first missing dependency or unfinished operation.
	waiting *metav1.Condition
	// failure is the first error of the API server; the reconcile is retried with backoff.
	failure *metav1.Condition

	// partner is the partner tenant (a commune's CPAS, a CPAS's commune), when there is one.
	partner v1alpha1.Tenant
	// apps is the status of each application, when the applications step ran.
	apps         []v1alpha1.ApplicationStatus
	licences     []v1alpha1.LicenceStatus
	licenceShort []string
	appsReported bool
	// backupStatus is what Velero's Backups say, when the backup step ran.
	backupStatus *v1alpha1.BackupStatus
	// audit is the summary of the audit evaluated in this reconcile; auditFailure why it could not be.
	audit        *v1alpha1.AuditSummary
	auditFailure string

	// accessPending is set when the access step found no namespace of this tenant to bind yet;
	// namespaceCreated when the namespace step created it in this reconcile.
	accessPending    bool
	namespaceCreated bool
	// withdrawn says what was removed from the namespace because the tenant may no longer have it.
	withdrawn []string

	requeue   time.Duration
	suspended bool
	// released is set once the finalizer is gone: the object may no longer exist.
	released bool
}

func newScope(t v1alpha1.Tenant) *scope {
	return &scope{tenant: t, before: t.DeepCopyObject().(v1alpha1.Tenant), conds: map[string]*metav1.Condition{}}
}

func condition(condType string, status metav1.ConditionStatus, reason, format string, args ...any) *metav1.Condition {
	return &metav1.Condition{Type: condType, Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func (s *scope) ok(part, format string, args ...any) {
	s.conds[part] = condition(part, metav1.ConditionTrue, v1alpha1.ReasonApplied, format, args...)
}

// stall records a configuration error; part may be empty when the error is about the tenant as a
// whole (its NIS code, its commune).
func (s *scope) stall(part, reason, format string, args ...any) {
	c := condition(v1alpha1.ConditionStalled, metav1.ConditionTrue, reason, format, args...)
	if s.stalled == nil {
		s.stalled = c
	}
	if part != "" {
		s.conds[part] = condition(part, metav1.ConditionFalse, reason, "%s", c.Message)
	}
}

func (s *scope) wait(part, reason, format string, args ...any) {
	c := condition(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, format, args...)
	if s.waiting == nil {
		s.waiting = c
	}
	if part != "" {
		s.conds[part] = condition(part, metav1.ConditionFalse, reason, "%s", c.Message)
	}
}

// decided records a verdict of the planner: a configuration error stalls, a missing dependency
// waits.
func (s *scope) decided(v *plan.Verdict) {
	if v.Wait {
		s.wait(v.Part, v.Reason, "%s", v.Message)
		return
	}
	s.stall(v.Part, v.Reason, "%s", v.Message)
}

// failed records an error of the API server on a part and returns it, so that the reconcile is
// retried with backoff.
func (s *scope) failed(part string, err error) error {
	c := condition(part, metav1.ConditionFalse, v1alpha1.ReasonApplyFailed, "%v", err)
	s.conds[part] = c
	if s.failure == nil {
		s.failure = c
	}
	return err
}

func (s *scope) failedPart(part string) bool {
	c := s.conds[part]
	return c != nil && c.Status == metav1.ConditionFalse
}

// partReady tells whether this reconcile observed a part in place.
func (s *scope) partReady(part string) bool {
	c := s.conds[part]
	return c != nil && c.Status == metav1.ConditionTrue
}

func (s *scope) blocked() bool { return s.stalled != nil || s.waiting != nil }

func (s *scope) requeueAfter(d time.Duration) {
	if s.requeue == 0 || d < s.requeue {
		s.requeue = d
	}
}

func (s *scope) result() ctrl.Result { return ctrl.Result{RequeueAfter: s.requeue} }

// computeStatus writes the observations of the scope into the tenant's status: the part
// conditions, then the kstatus summary (Ready, Reconciling, Stalled) derived from them.
func computeStatus(s *scope) {
	t := s.tenant
	st := t.TenantStatus()
	gen := t.GetGeneration()
	st.ObservedGeneration = gen
	st.Namespace = t.TenantNamespace()
	if s.res != nil {
		st.Tier = s.res.Tier.Name
	}
	if s.appsReported {
		st.Applications = s.apps
		st.Licences = s.licences
	}
	if s.backupStatus != nil {
		st.Backup = s.backupStatus
	}
	ready := 0
	for _, a := range st.Applications {
		if a.Ready {
			ready++
		}
	}
	st.ApplicationSummary = fmt.Sprintf("%d/%d", ready, len(st.Applications))
	if cpas, ok := t.(*v1alpha1.CPAS); ok && s.res != nil {
		cpas.Status.NIS = s.res.NIS
	}
	set := func(c *metav1.Condition) {
		c.ObservedGeneration = gen
		meta.SetStatusCondition(&st.Conditions, *c)
	}
	for _, part := range partConditions {
		if c := s.conds[part]; c != nil {
			set(c)
		} else if stale := unobserved(s, meta.FindStatusCondition(st.Conditions, part), gen); stale != nil {
			set(stale)
		}
	}
	if s.nis != nil {
		set(s.nis)
	}
	if s.audit != nil {
		st.Audit = s.audit
	}
	set(auditCondition(s))

	summary := func(ready, reconciling, stalled *metav1.Condition) {
		set(ready)
		set(reconciling)
		set(stalled)
	}
	notStalled := condition(v1alpha1.ConditionStalled, metav1.ConditionFalse, v1alpha1.ReasonReady, "no configuration error")
	notReconciling := condition(v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonReady, "nothing in progress")
	switch {
	case s.stalled != nil:
		summary(condition(v1alpha1.ConditionReady, metav1.ConditionFalse, s.stalled.Reason, "%s", s.stalled.Message),
			notReconciling, s.stalled)
	case !t.GetDeletionTimestamp().IsZero():
		reason, msg := v1alpha1.ReasonDeleting, "the tenant is being deleted"
		if s.waiting != nil {
			reason, msg = s.waiting.Reason, s.waiting.Message
		}
		summary(condition(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, "%s", msg),
			condition(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, "%s", msg), notStalled)
	case s.suspended:
		summary(condition(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSuspended,
			"spec.suspend is true: changes are not applied; set it to false to resume"), notReconciling, notStalled)
	case s.waiting != nil:
		summary(condition(v1alpha1.ConditionReady, metav1.ConditionFalse, s.waiting.Reason, "%s", s.waiting.Message),
			s.waiting, notStalled)
	case s.failure != nil:
		summary(condition(v1alpha1.ConditionReady, metav1.ConditionFalse, s.failure.Reason, "%s: %s", s.failure.Type, s.failure.Message),
			condition(v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressing, "retrying after an error of the API server"),
			notStalled)
	default:
		summary(condition(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady, "tenant is ready in namespace %s", st.Namespace),
			notReconciling, notStalled)
	}
}

// unobserved turns a part condition that this reconcile did not check into Unknown, when keeping it
// would tell something false: the tenant stalled, waits, is suspended or being deleted before the
// part's step ran, or the condition describes an older generation. A part left out only because an
// error of the API server cut this reconcile short keeps what the last check of the same
// generation found.
func unobserved(s *scope, old *metav1.Condition, gen int64) *metav1.Condition {
	if old == nil || old.Status == metav1.ConditionUnknown {
		return nil
	}
	reason, why := v1alpha1.ReasonNotChecked, "the tenant changed since this part was checked"
	switch {
	case s.stalled != nil:
		reason, why = s.stalled.Reason, s.stalled.Message
	case !s.tenant.GetDeletionTimestamp().IsZero():
		reason, why = v1alpha1.ReasonDeleting, "the tenant is being deleted"
	case s.suspended:
		reason, why = v1alpha1.ReasonSuspended, "spec.suspend is true"
	case s.waiting != nil:
		reason, why = s.waiting.Reason, s.waiting.Message
	case old.ObservedGeneration == gen:
		return nil
	}
	return condition(old.Type, metav1.ConditionUnknown, reason, "not checked: %s", why)
}

func statusOf(t v1alpha1.Tenant) any {
	switch o := t.(type) {
	case *v1alpha1.Commune:
		return &o.Status
	case *v1alpha1.CPAS:
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

// licenceCondition turns the licences observed by the applications step into LicencesReady.
func (s *scope) licenceCondition() {
	const part = v1alpha1.ConditionLicencesReady
	switch {
	case len(s.licenceShort) > 0:
		s.conds[part] = condition(part, metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted, "%s", strings.Join(s.licenceShort, "; "))
	case len(s.licences) == 0:
		s.conds[part] = condition(part, metav1.ConditionTrue, v1alpha1.ReasonNoLicences, "no licensed application")
	default:
		s.conds[part] = condition(part, metav1.ConditionTrue, v1alpha1.ReasonApplied, "%d licensed applications have their seats", len(s.licences))
	}
}
