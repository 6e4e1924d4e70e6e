// Package audit owns the security audit of a tenant: pure checks from what was observed of one
// tenant (its namespace, network policies, pods, Services, Ingresses, role bindings, backups and
// licence pools) to findings, each with a severity, the object and field that show it, and the
// remedy, in French, English or German. The operator keeps their counts in the tenant's status
// (status.audit, the AuditClean condition, a metric); kubectl mutualis audit prints them, and its
// barometer sums them over the cell. Both gather the same inputs (Gather) and decide here.
package audit

import (
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Severity ranks a finding. High breaks the tenant's isolation or data safety; medium weakens its
// security; low is good practice not followed; info is a fact to review.
type Severity string

const (
	High   Severity = "high"
	Medium Severity = "medium"
	Low    Severity = "low"
	Info   Severity = "info"
)

// Severities in the order reports show them.
var Severities = []Severity{High, Medium, Low, Info}

func (s Severity) rank() int {
	for i, o := range Severities {
		if o == s {
			return i
		}
	}
	return len(Severities)
}

// Check names one rule of the audit. docs/audit.md explains each.
type Check string

const (
	CheckPodSecurityMissing     Check = "PodSecurityMissing"
	CheckPodSecurityWeaker      Check = "PodSecurityWeaker"
	CheckNetworkPolicyMissing   Check = "NetworkPolicyMissing"
	CheckNetworkPolicyModified  Check = "NetworkPolicyModified"
	CheckNetworkPolicyUnmanaged Check = "NetworkPolicyUnmanaged"
	CheckTenantReachable        Check = "TenantReachable"
	CheckReachesTenant          Check = "ReachesTenant"
	CheckPartnerPortOpen        Check = "PartnerPortOpen"
	CheckRunAsRoot              Check = "RunAsNonRootMissing"
	CheckPrivileged             Check = "PrivilegedContainer"
	CheckCapabilitiesAdded      Check = "CapabilitiesAdded"
	CheckLimitsMissing          Check = "ResourceLimitsMissing"
	CheckWritableRootFS         Check = "WritableRootFilesystem"
	CheckMutableImage           Check = "MutableImageTag"
	CheckRegistryNotAllowed     Check = "RegistryNotAllowed"
	CheckServiceOutside         Check = "ServiceExposedOutside"
	CheckIngressWithoutTLS      Check = "IngressWithoutTLS"
	CheckBackupFailing          Check = "BackupFailing"
	CheckBackupStale            Check = "BackupStale"
	CheckBackupMissing          Check = "BackupMissing"
	CheckLicenceExpired         Check = "LicenceExpired"
	CheckLicenceExpiring        Check = "LicenceExpiringSoon"
	CheckRoleBindingUnmanaged   Check = "RoleBindingUnmanaged"
	CheckAccess                 Check = "AccessReview"
	CheckExcludedFromBackup     Check = "ExcludedFromBackup"
	CheckRestoreDrillFailed     Check = "RestoreDrillFailed"
	CheckRestoreNotVerified     Check = "RestoreNotVerified"
	// CheckRetainedNamespaceOverdue is of the cell's view (EvaluateRetained), not of a tenant's.
	CheckRetainedNamespaceOverdue Check = "RetainedNamespaceOverdue"
)

// Finding is one result of the audit. Args fill the check's sentences, by the names of fields.go.
type Finding struct {
	Check    Check    `json:"check"`
	Severity Severity `json:"severity"`
	// Object is Kind/name of the object that shows the finding, with its workload for a pod.
	Object string `json:"object"`
	// Field is the path of the field in the object, empty when the object as a whole is the evidence.
	Field string   `json:"field,omitempty"`
	Args  []string `json:"-"`
}

// Subject is the audited tenant as the checks see it.
type Subject struct {
	Kind      v1alpha1.TenantKind
	Name      string
	Namespace string
	// Partner is the namespace of the partner tenant (a commune's CPAS, a CPAS's commune).
	Partner string
	// Created is when the tenant was created: a tenant younger than a day has no backup to miss.
	Created time.Time
}

// Peer is another tenant's namespace, as the connectivity check needs it.
type Peer struct {
	Namespace string
	Labels    map[string]string
}

// Workload is the pod template of a workload: its object (Kind/name) and its pod spec.
type Workload struct {
	Object string
	Spec   corev1.PodSpec
}

// Inputs are what the audit of one tenant reads. Gather fills them from a cluster.
type Inputs struct {
	Subject Subject
	// Policy is the effective TenancyPolicy (tenant.EffectivePolicy).
	Policy v1alpha1.TenancyPolicySpec
	// Namespace is the tenant namespace, nil when it does not exist.
	Namespace *corev1.Namespace
	// NetworkPolicies are every policy of the namespace, with their managed fields.
	NetworkPolicies []networkingv1.NetworkPolicy
	// Peers are the namespaces of every other tenant.
	Peers []Peer
	// Services of the tenant namespace and of the partner's (PartnerServices).
	Services        []corev1.Service
	PartnerServices []corev1.Service
	// InstanceServices are the Services of each shared instance the tenant subscribes to (the
	// namespaces its namespace publishes), by namespace: reaching those on their ports is the
	// subscription, not a finding.
	InstanceServices map[string][]corev1.Service
	Pods             []corev1.Pod
	// Workloads are the pod templates of the namespace's Deployments, StatefulSets, DaemonSets,
	// Jobs and CronJobs: a workload whose pods are refused, scaled to zero or not due yet is
	// audited all the same. A Job that a CronJob made is its CronJob's.
	Workloads []Workload
	// JobOwners names, for each Job a CronJob made, that CronJob (CronJob/<name>): its pods are
	// reported under it.
	JobOwners    map[string]string
	Ingresses    []networkingv1.Ingress
	RoleBindings []rbacv1.RoleBinding
	// BackupReady is the tenant's BackupReady condition; Backup its status.backup.
	BackupReady *metav1.Condition
	Backup      *v1alpha1.BackupStatus
	// ExcludedFromBackup are the objects of the namespace (Kind/name, the Namespace itself
	// included) that Velero leaves out of every backup, by their label velero.io/exclude-from-backup.
	ExcludedFromBackup []string
	// Pools are the licence pools the tenant holds seats of.
	Pools []v1alpha1.LicencePool
	Now   time.Time
	// Unread are the inputs the reader's rights refused: the checks that need them are not made
	// (Unchecked), rather than made on nothing. Empty for the operator, which reads them all.
	Unread []Input
}

// Input names a read beyond the tenant's own objects that the reader's rights may refuse. The
// plugin reads with the rights of whoever runs it, and a tenant's people read their own tenant,
// namespace and catalogue entries only: not the TenancyPolicy, the other tenants, the pools or
// (for a viewer) the RoleBindings.
type Input string

const (
	InputPolicy       Input = "TenancyPolicy"
	InputPeers        Input = "Namespaces"
	InputPools        Input = "LicencePools"
	InputPartner      Input = "PartnerServices"
	InputInstances    Input = "InstanceServices"
	InputRoleBindings Input = "RoleBindings"
	// InputSecrets: a tenant's viewer may not read its Secrets, nor so their backup labels
	InputSecrets Input = "Secrets"
)

// needs are the checks that cannot be made without each input.
var needs = map[Input][]Check{
	InputPolicy:       {CheckPodSecurityWeaker, CheckRegistryNotAllowed},
	InputPeers:        {CheckTenantReachable, CheckReachesTenant, CheckPartnerPortOpen},
	InputPartner:      {CheckPartnerPortOpen},
	InputSecrets:      {CheckExcludedFromBackup},
	InputInstances:    {CheckReachesTenant},
	InputPools:        {CheckLicenceExpired, CheckLicenceExpiring},
	InputRoleBindings: {CheckRoleBindingUnmanaged, CheckAccess},
}

// Unchecked are the checks that the unread inputs leave out, in the order of their names.
func Unchecked(unread []Input) []Check {
	set := map[Check]bool{}
	for _, in := range unread {
		for _, c := range needs[in] {
			set[c] = true
		}
	}
	out := make([]Check, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Evaluate runs every check on the inputs and returns the findings, the most severe first.
func Evaluate(in Inputs) []Finding {
	var out findings
	checkNamespace(&out, in)
	checkNetworkPolicies(&out, in)
	checkConnectivity(&out, in)
	checkPods(&out, in)
	checkExposure(&out, in)
	checkBackups(&out, in)
	checkLicences(&out, in)
	checkAccess(&out, in)
	if len(in.Unread) == 0 {
		return out.sorted()
	}
	// a check made on what could not be read would report on nothing: drop what it found
	skip := map[Check]bool{}
	for _, c := range Unchecked(in.Unread) {
		skip[c] = true
	}
	kept := out.list[:0]
	for _, f := range out.list {
		if !skip[f.Check] {
			kept = append(kept, f)
		}
	}
	out.list = kept
	return out.sorted()
}

// findings collects findings once each: the pods of one Deployment say the same thing.
type findings struct {
	list []Finding
	seen map[string]bool
}

func (f *findings) add(check Check, sev Severity, object, field string, args ...string) {
	key := string(check) + "\x00" + object + "\x00" + field
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if f.seen[key] {
		return
	}
	f.seen[key] = true
	f.list = append(f.list, Finding{Check: check, Severity: sev, Object: object, Field: field, Args: args})
}

func (f *findings) sorted() []Finding {
	sort.SliceStable(f.list, func(i, j int) bool {
		a, b := f.list[i], f.list[j]
		if a.Severity != b.Severity {
			return a.Severity.rank() < b.Severity.rank()
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return a.Field < b.Field
	})
	return f.list
}

// Counts are the findings by severity.
type Counts map[Severity]int32

// Count counts findings by severity.
func Count(fs []Finding) Counts {
	c := Counts{}
	for _, f := range fs {
		c[f.Severity]++
	}
	return c
}

// Summary is what the operator keeps of an evaluation in the tenant's status.
func Summary(fs []Finding, at time.Time, generation int64) *v1alpha1.AuditSummary {
	c := Count(fs)
	return &v1alpha1.AuditSummary{
		LastEvaluationTime: metav1.NewTime(at.UTC().Truncate(time.Second)),
		ObservedGeneration: generation,
		High:               c[High],
		Medium:             c[Medium],
		Low:                c[Low],
		Info:               c[Info],
	}
}

// Clean is the AuditClean condition for a summary: True when nothing of high severity was found.
func Clean(s *v1alpha1.AuditSummary, tenantName string) (metav1.ConditionStatus, string, string) {
	switch {
	case s == nil:
		return metav1.ConditionUnknown, v1alpha1.ReasonAuditPending,
			"the tenant has not been audited yet: it is audited once Ready, and at least every audit interval"
	case s.High > 0:
		return metav1.ConditionFalse, v1alpha1.ReasonHighFindings,
			plural(s.High, "finding") + " of high severity: kubectl mutualis audit " + tenantName + " lists each with its remedy"
	default:
		return metav1.ConditionTrue, v1alpha1.ReasonNoHighFinding, "no finding of high severity"
	}
}

func plural(n int32, word string) string {
	s := strconv.Itoa(int(n)) + " " + word
	if n != 1 {
		s += "s"
	}
	return s
}

// DefaultInterval is how often the operator audits a tenant that did not change.
const DefaultInterval = 6 * time.Hour

// Due says whether the operator audits the tenant in this reconcile, and when it is due next if not.
// A tenant is audited when it becomes Ready, when it is Ready at a generation it was not audited
// at, and at least every interval (counted from its creation before the first audit), so that a
// quiet tenant costs one write an interval and a restarted operator audits nothing it had audited
// within the interval.
func Due(prev *v1alpha1.AuditSummary, wasReady, ready bool, generation int64, created, now time.Time, interval time.Duration) (bool, time.Duration) {
	since := created
	if prev != nil {
		since = prev.LastEvaluationTime.Time
	}
	switch {
	case ready && (prev == nil || !wasReady || prev.ObservedGeneration != generation):
		return true, 0
	case now.Sub(since) >= interval:
		return true, 0
	}
	return false, since.Add(interval).Sub(now)
}
