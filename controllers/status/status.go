// Package status turns what one reconcile of a tenant observed into the tenant's status, as a pure
// function: the part conditions, the informative ones, and the kstatus summary (Ready, Reconciling,
// Stalled). Which parts gate Ready and which only inform is declared once, in Parts; every rule
// is table-tested here, without a control plane. The reconciler's steps record their findings in
// an Observations (OK, Stall, Wait, Decided, Failed) and Compute writes them.
package status

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/audit"
)

// Part is one condition of the tenant contract.
type Part struct {
	Type string
	// GatesReady says that the tenant is not Ready while this part is False. A part that does not
	// gate Ready only informs: the tenant serves its communes without it.
	GatesReady bool
}

// Parts are the part conditions, in the order of the reconciler's steps.
var Parts = []Part{
	{Type: v1alpha1.ConditionNamespaceReady, GatesReady: true},
	{Type: v1alpha1.ConditionQuotaReady, GatesReady: true},
	{Type: v1alpha1.ConditionAccessReady, GatesReady: true},
	{Type: v1alpha1.ConditionNetworkReady, GatesReady: true},
	// a tenant short of seats runs on the seats it holds; one that holds none waits through
	// ApplicationsReady
	{Type: v1alpha1.ConditionLicencesReady, GatesReady: false},
	{Type: v1alpha1.ConditionApplicationsReady, GatesReady: true},
	// backups protect the tenant's data, they do not serve it: a missing Velero or a failed backup
	// is the cell's to fix and is reported here, on the audit and in metrics; a bad schedule or a
	// final backup that cannot be taken stalls or holds the tenant (Stall, Wait) and so gates Ready
	{Type: v1alpha1.ConditionBackupReady, GatesReady: false},
}

// Informative are the conditions outside the tenant contract's parts; they never change Ready.
var Informative = []string{v1alpha1.ConditionNISCurrent, v1alpha1.ConditionAuditClean, v1alpha1.ConditionRestoreVerified, v1alpha1.ConditionOffboarding}

// Observations are what one reconcile read, decided and observed of a tenant.
type Observations struct {
	// Conds are the part conditions observed in this reconcile.
	Conds map[string]*metav1.Condition
	// NIS is the NISCurrent condition of a Commune, when the registry was consulted.
	NIS *metav1.Condition
	// Stalled is the first configuration error: nothing more is done until the object changes.
	Stalled *metav1.Condition
	// Waiting is the first missing dependency or unfinished operation.
	Waiting *metav1.Condition
	// Failure is the first error of the API server; the reconcile is retried with backoff.
	Failure *metav1.Condition

	// Tier is the tenant's tier, once resolved; NISCode a CPAS's commune's code.
	Tier, NISCode string
	// Apps is the status of each application, when the applications step ran (AppsReported).
	Apps         []v1alpha1.ApplicationStatus
	Licences     []v1alpha1.LicenceStatus
	LicenceShort []string
	AppsReported bool
	// Backup is what Velero's Backups say, when the backup step ran.
	Backup *v1alpha1.BackupStatus
	// Audit is the summary of the audit evaluated in this reconcile; AuditFailure why it could not be.
	Audit        *v1alpha1.AuditSummary
	AuditFailure string
	Suspended    bool
	// RestoreVerified is what the restore drill step found, when it ran.
	RestoreVerified *metav1.Condition
}

// NewObservations is an empty record.
func NewObservations() Observations {
	return Observations{Conds: map[string]*metav1.Condition{}}
}

// Condition builds a condition with a formatted message.
func Condition(condType string, status metav1.ConditionStatus, reason, format string, args ...any) *metav1.Condition {
	return &metav1.Condition{Type: condType, Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// OK records a part in place.
func (o *Observations) OK(part, format string, args ...any) {
	o.Conds[part] = Condition(part, metav1.ConditionTrue, v1alpha1.ReasonApplied, format, args...)
}

// Stall records a configuration error; part may be empty when the error is about the tenant as a
// whole (its NIS code, its commune).
func (o *Observations) Stall(part, reason, format string, args ...any) {
	o.block(&o.Stalled, v1alpha1.ConditionStalled, part, reason, fmt.Sprintf(format, args...))
}

// Wait records a missing dependency or an operation under way.
func (o *Observations) Wait(part, reason, format string, args ...any) {
	o.block(&o.Waiting, v1alpha1.ConditionReconciling, part, reason, fmt.Sprintf(format, args...))
}

// block records what holds the tenant as the summary condition of its kind, the first one
// winning, and as its part's condition, False, when it concerns a part.
func (o *Observations) block(first **metav1.Condition, summary, part, reason, msg string) {
	if *first == nil {
		*first = Condition(summary, metav1.ConditionTrue, reason, "%s", msg)
	}
	if part != "" {
		o.Conds[part] = Condition(part, metav1.ConditionFalse, reason, "%s", msg)
	}
}

// Observe records a part True or False as observed, without stalling or waiting: a False part
// that gates Ready (Parts) still makes the tenant not Ready; one that informs does not.
func (o *Observations) Observe(part string, ok bool, reason, format string, args ...any) {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	o.Conds[part] = Condition(part, s, reason, format, args...)
}

// Failed records an error of the API server on a part and returns it, so that the reconcile is
// retried with backoff.
func (o *Observations) Failed(part string, err error) error {
	c := Condition(part, metav1.ConditionFalse, v1alpha1.ReasonApplyFailed, "%v", err)
	o.Conds[part] = c
	if o.Failure == nil {
		o.Failure = c
	}
	return err
}

// FailedPart tells whether this reconcile found a part False.
func (o *Observations) FailedPart(part string) bool {
	c := o.Conds[part]
	return c != nil && c.Status == metav1.ConditionFalse
}

// PartReady tells whether this reconcile observed a part in place.
func (o *Observations) PartReady(part string) bool {
	c := o.Conds[part]
	return c != nil && c.Status == metav1.ConditionTrue
}

// Blocked says that the tenant stalled or waits: what follows in the reconcile is not done.
func (o *Observations) Blocked() bool { return o.Stalled != nil || o.Waiting != nil }

// LicenceCondition turns the licences observed by the applications step into LicencesReady.
func (o *Observations) LicenceCondition() {
	const part = v1alpha1.ConditionLicencesReady
	switch {
	case len(o.LicenceShort) > 0:
		o.Observe(part, false, v1alpha1.ReasonPoolExhausted, "%s", strings.Join(o.LicenceShort, "; "))
	case len(o.Licences) == 0:
		o.Observe(part, true, v1alpha1.ReasonNoLicences, "no licensed application")
	default:
		o.Observe(part, true, v1alpha1.ReasonApplied, "%d licensed applications have their seats", len(o.Licences))
	}
}

// Compute writes the observations into the tenant's status: the part conditions, the informative
// ones, then the kstatus summary derived from them.
func Compute(t v1alpha1.Tenant, o *Observations) {
	st := t.TenantStatus()
	gen := t.GetGeneration()
	st.ObservedGeneration = gen
	st.Namespace = t.TenantNamespace()
	if o.Tier != "" {
		st.Tier = o.Tier
	}
	if o.AppsReported {
		st.Applications = o.Apps
		st.Licences = o.Licences
	}
	if o.Backup != nil {
		st.Backup = o.Backup
	}
	ready := 0
	for _, a := range st.Applications {
		if a.Ready {
			ready++
		}
	}
	st.ApplicationSummary = fmt.Sprintf("%d/%d", ready, len(st.Applications))
	if cpas, ok := t.(*v1alpha1.CPAS); ok && o.NISCode != "" {
		cpas.Status.NIS = o.NISCode
	}
	set := func(c *metav1.Condition) {
		c.ObservedGeneration = gen
		meta.SetStatusCondition(&st.Conditions, *c)
	}
	deleting := !t.GetDeletionTimestamp().IsZero()
	for _, part := range Parts {
		if c := o.Conds[part.Type]; c != nil {
			set(c)
		} else if stale := Unobserved(o, deleting, meta.FindStatusCondition(st.Conditions, part.Type), gen); stale != nil {
			set(stale)
		}
	}
	if o.NIS != nil {
		set(o.NIS)
	}
	if o.RestoreVerified != nil {
		set(o.RestoreVerified)
	}
	if c := offboarding(t.GetAnnotations()[v1alpha1.AnnotationOffboarding]); c != nil {
		set(c)
	} else {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionOffboarding)
	}
	if o.Audit != nil {
		st.Audit = o.Audit
	}
	set(auditCondition(o, st.Audit, t.GetName()))
	readyC, reconciling, stalled := Summary(o, deleting, st.Namespace)
	set(readyC)
	set(reconciling)
	set(stalled)
}

// Summary is the kstatus summary of the observations: Ready, Reconciling and Stalled. A
// configuration error comes first, then deletion, suspension, a wait, an error of the API server,
// then any part that gates Ready and was found False.
func Summary(o *Observations, deleting bool, namespace string) (ready, reconciling, stalled *metav1.Condition) {
	notStalled := Condition(v1alpha1.ConditionStalled, metav1.ConditionFalse, v1alpha1.ReasonReady, "no configuration error")
	notReconciling := Condition(v1alpha1.ConditionReconciling, metav1.ConditionFalse, v1alpha1.ReasonReady, "nothing in progress")
	notReady := func(reason, format string, args ...any) *metav1.Condition {
		return Condition(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, format, args...)
	}
	switch {
	case o.Stalled != nil:
		return notReady(o.Stalled.Reason, "%s", o.Stalled.Message), notReconciling, o.Stalled
	case deleting:
		reason, msg := v1alpha1.ReasonDeleting, "the tenant is being deleted"
		if o.Waiting != nil {
			reason, msg = o.Waiting.Reason, o.Waiting.Message
		}
		return notReady(reason, "%s", msg), Condition(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, "%s", msg), notStalled
	case o.Suspended:
		return notReady(v1alpha1.ReasonSuspended, "spec.suspend is true: changes are not applied; set it to false to resume"), notReconciling, notStalled
	case o.Waiting != nil:
		return notReady(o.Waiting.Reason, "%s", o.Waiting.Message), o.Waiting, notStalled
	case o.Failure != nil:
		return notReady(o.Failure.Reason, "%s: %s", o.Failure.Type, o.Failure.Message),
			Condition(v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressing, "retrying after an error of the API server"),
			notStalled
	}
	for _, part := range Parts {
		if c := o.Conds[part.Type]; part.GatesReady && c != nil && c.Status == metav1.ConditionFalse {
			return notReady(c.Reason, "%s: %s", c.Type, c.Message),
				Condition(v1alpha1.ConditionReconciling, metav1.ConditionTrue, c.Reason, "%s: %s", c.Type, c.Message), notStalled
		}
	}
	return Condition(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady, "tenant is ready in namespace %s", namespace),
		notReconciling, notStalled
}

// Unobserved turns a part condition that this reconcile did not check into Unknown, when keeping it
// would tell something false: the tenant stalled, waits, is suspended or being deleted before the
// part's step ran, or the condition describes an older generation. A part left out only because an
// error of the API server cut this reconcile short keeps what the last check of the same
// generation found.
func Unobserved(o *Observations, deleting bool, old *metav1.Condition, gen int64) *metav1.Condition {
	if old == nil || old.Status == metav1.ConditionUnknown {
		return nil
	}
	reason, why := v1alpha1.ReasonNotChecked, "the tenant changed since this part was checked"
	switch {
	case o.Stalled != nil:
		reason, why = o.Stalled.Reason, o.Stalled.Message
	case deleting:
		reason, why = v1alpha1.ReasonDeleting, "the tenant is being deleted"
	case o.Suspended:
		reason, why = v1alpha1.ReasonSuspended, "spec.suspend is true"
	case o.Waiting != nil:
		reason, why = o.Waiting.Reason, o.Waiting.Message
	case old.ObservedGeneration == gen:
		return nil
	}
	return Condition(old.Type, metav1.ConditionUnknown, reason, "not checked: %s", why)
}

// auditCondition is AuditClean from the latest summary, or the reason the latest audit failed.
func auditCondition(o *Observations, summary *v1alpha1.AuditSummary, name string) *metav1.Condition {
	if o.AuditFailure != "" {
		return Condition(v1alpha1.ConditionAuditClean, metav1.ConditionUnknown, v1alpha1.ReasonAuditFailed,
			"the audit could not read what it checks (%s): retried in a minute", o.AuditFailure)
	}
	status, reason, msg := audit.Clean(summary, name)
	return Condition(v1alpha1.ConditionAuditClean, status, reason, "%s", msg)
}

// Kstatus completes the Ready condition of a catalogue entry or a licence pool with the two
// conditions kstatus reads, as the tenants carry them: kstatus (and so Flux's wait and Argo CD's
// health) looks at Reconciling and Stalled, never at Ready, and without them reads a broken object
// as Current. A Ready=False that only a change of the object (or of what it names) can fix is
// Stalled; one that time fixes is Reconciling.
func Kstatus(ready metav1.Condition, configurationError bool) (reconciling, stalled metav1.Condition) {
	reconciling = metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonReady,
		Message: "nothing in progress", ObservedGeneration: ready.ObservedGeneration}
	stalled = metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonReady,
		Message: "no configuration error", ObservedGeneration: ready.ObservedGeneration}
	if ready.Status == metav1.ConditionTrue {
		return reconciling, stalled
	}
	if configurationError {
		stalled.Status, stalled.Reason, stalled.Message = metav1.ConditionTrue, ready.Reason, ready.Message
	} else {
		reconciling.Status, reconciling.Reason, reconciling.Message = metav1.ConditionTrue, ready.Reason, ready.Message
	}
	return reconciling, stalled
}

// offboarding is the condition Offboarding of a tenant whose annotation says that kubectl
// mutualis offboard takes it out of the cell, nil when it does not.
func offboarding(stepName string) *metav1.Condition {
	reason, ok := map[string]string{"export": v1alpha1.ReasonOffboardingExport, "purge": v1alpha1.ReasonOffboardingPurge, "delete": v1alpha1.ReasonOffboardingDelete}[stepName]
	if stepName == "" {
		return nil
	}
	if !ok {
		return Condition(v1alpha1.ConditionOffboarding, metav1.ConditionTrue, v1alpha1.ReasonProgressing,
			"the annotation %s names no step of kubectl mutualis offboard (%q): export, purge or delete", v1alpha1.AnnotationOffboarding, stepName)
	}
	return Condition(v1alpha1.ConditionOffboarding, metav1.ConditionTrue, reason,
		"kubectl mutualis offboard is taking this tenant out of the cell, at step %s: its export, then the purge of its records in the shared instances, then its deletion", stepName)
}
