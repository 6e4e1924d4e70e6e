package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/audit"
	"github.com/crtpl/mutualis/controllers/incident"
)

// +kubebuilder:rbac:groups="",resources=pods,verbs=list

// lastAudit is the latest audit this process computed for a tenant, and whether the tenant was
// Ready then.
type lastAudit struct {
	summary *v1alpha1.AuditSummary
	ready   bool
}

// auditRetry is how soon an audit that could not read its inputs is tried again.
const auditRetry = time.Minute

// reconcileAudit evaluates the tenant's security audit when it is due (audit.Due): it reads the
// namespace live, decides in the audit package, and leaves the counts to the status. It never
// changes whether the tenant is Ready, and an audit that fails only says so in AuditClean.
func (r *TenantReconciler) reconcileAudit(ctx context.Context, s *scope) {
	t := s.tenant
	interval := r.AuditInterval
	if interval <= 0 {
		interval = audit.DefaultInterval
	}
	ready := s.Stalled == nil && s.Waiting == nil && s.Failure == nil
	wasReady := meta.IsStatusConditionTrue(s.before.TenantStatus().Conditions, v1alpha1.ConditionReady)
	now := time.Now()
	// the cache may not show the summary written a moment ago: the one this process computed last
	// is as good, and saves an audit (and its live reads) per wake-up until the cache catches up
	prev := t.TenantStatus().Audit
	if last, ok := r.lastAudit.Load(t.GetUID()); ok {
		if mine := last.(lastAudit); prev == nil || mine.summary.LastEvaluationTime.After(prev.LastEvaluationTime.Time) {
			prev, s.Audit = mine.summary, mine.summary
			wasReady = wasReady || mine.ready
		}
	}
	due, next := audit.Due(prev, wasReady, ready, t.GetGeneration(), t.GetCreationTimestamp().Time, now, interval)
	if !due {
		s.requeueAfter(next)
		return
	}
	in, err := r.auditInputs(ctx, s, now)
	if err != nil {
		s.AuditFailure = err.Error()
		s.requeueAfter(auditRetry)
		return
	}
	findings := audit.Evaluate(in)
	s.Audit = audit.Summary(findings, now, t.GetGeneration())
	s.findings = []string{}
	for _, f := range findings {
		if f.Severity != audit.Info {
			s.findings = append(s.findings, string(f.Check)+" "+f.Object+" "+f.Field)
		}
	}
	r.lastAudit.Store(t.GetUID(), lastAudit{summary: s.Audit, ready: ready})
	if s.Audit.High > 0 && (prev == nil || prev.High == 0) {
		var high []string
		for _, f := range findings {
			if f.Severity == audit.High {
				high = append(high, string(f.Check)+" "+f.Object)
			}
		}
		r.incident(ctx, t, incident.HighFinding, fmt.Sprintf("the audit found %d high findings (%s): kubectl mutualis audit %s says what to do",
			s.Audit.High, strings.Join(high[:min(len(high), 5)], ", "), strings.ToLower(t.TenantKind().Kind())+"/"+t.GetName()))
	}
	log.FromContext(ctx).V(1).Info("audited", "high", s.Audit.High, "medium", s.Audit.Medium, "low", s.Audit.Low,
		"info", s.Audit.Info, "peers", len(in.Peers), "networkPolicies", len(in.NetworkPolicies), "findings", findings)
	s.requeueAfter(interval)
}

func (r *TenantReconciler) auditInputs(ctx context.Context, s *scope, now time.Time) (audit.Inputs, error) {
	peers, err := audit.Peers(ctx, r.Client)
	if err != nil {
		return audit.Inputs{}, err
	}
	var pools v1alpha1.LicencePoolList
	if err := r.List(ctx, &pools); err != nil {
		return audit.Inputs{}, err
	}
	partner := ""
	if s.res != nil {
		partner = s.res.Partner
	}
	in, err := audit.Gather(ctx, r.APIReader, s.tenant, partner, s.policy, peers, pools.Items, now)
	if err == nil && len(in.Unread) > 0 {
		// the operator's rights cover every input: a refusal is a broken install, not a
		// narrower audit to report as clean
		err = fmt.Errorf("the operator may not read %v: its ClusterRole (config/rbac) lacks a right", in.Unread)
	}
	return in, err
}
