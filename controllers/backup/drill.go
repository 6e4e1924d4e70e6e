package backup

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// A restore drill restores a tenant's latest completed backup into a scratch namespace of its own
// (Velero's namespace mapping), checks that the tenant's data objects older than the backup are
// there, and deletes the scratch namespace. This file holds the drill's pure parts: when a drill
// is due, the objects it writes, and its verdict. controllers/tenant_drill.go runs them.

// RestoreGVK is Velero's Restore.
var RestoreGVK = schema.GroupVersionKind{Group: "velero.io", Version: "v1", Kind: "Restore"}

// DrillSettings are the policy's restore drill settings, defaults applied.
type DrillSettings struct {
	Disabled    bool
	Period      time.Duration
	Timeout     time.Duration
	Concurrency int
}

// Defaults of the restore drills (TenancyPolicy spec.backup.restoreDrills).
const (
	DefaultDrillPeriod      = 30 * 24 * time.Hour
	DefaultDrillTimeout     = time.Hour
	DefaultDrillConcurrency = 2
	// drillRetry is how soon a failed drill is tried again: a day, or the period if shorter. A
	// failure needs people; trying every minute would only load the cluster.
	drillRetry = 24 * time.Hour
)

// EffectiveDrills reads the policy's drill settings over the defaults.
func EffectiveDrills(p v1alpha1.PolicyRestoreDrills) DrillSettings {
	s := DrillSettings{Disabled: p.Disabled, Period: DefaultDrillPeriod, Timeout: DefaultDrillTimeout, Concurrency: DefaultDrillConcurrency}
	if p.Period != nil && p.Period.Duration > 0 {
		s.Period = p.Period.Duration
	}
	if p.Timeout != nil && p.Timeout.Duration > 0 {
		s.Timeout = p.Timeout.Duration
	}
	if p.Concurrency > 0 {
		s.Concurrency = int(p.Concurrency)
	}
	return s
}

// boundedName joins prefix, key and suffix within a name's 63 characters (a Velero Restore's name
// becomes a label value on every object it restores): a key too long is cut and given a hash of
// itself, so that two long keys never meet.
func boundedName(prefix, key, suffix string) string {
	room := 63 - len(prefix) - len(suffix)
	if len(key) <= room {
		return prefix + key + suffix
	}
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:4])
	return prefix + strings.TrimRight(key[:room-len(h)-1], "-") + "-" + h + suffix
}

// ScratchNamespaceName is the namespace a tenant's drills restore into.
func ScratchNamespaceName(tenantNamespace string) string {
	return boundedName(v1alpha1.NamespacePrefixRestoreDrill, tenantNamespace, "")
}

// DrillRestoreName is the Velero Restore of a tenant's drill begun at start.
func DrillRestoreName(tenantNamespace string, start time.Time) string {
	return boundedName("drill-", tenantNamespace, "-"+start.UTC().Format("20060102150405"))
}

// DrillModifiersName is the ConfigMap of Velero resource modifiers every drill restores through.
const DrillModifiersName = "mutualis-restore-drill"

// drillPhase is where in the period a tenant is drilled: a hash of its namespace, so that the
// drills of a cell's tenants are spread evenly over the period instead of starting together.
func drillPhase(tenantNamespace string, period time.Duration) time.Duration {
	// a cryptographic hash: names that differ in one digit (commune-25072, commune-25084) must land
	// far apart, which FNV does not ensure
	sum := sha256.Sum256([]byte(tenantNamespace))
	return time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(period))
}

// DrillWindow is the start of the current period of a tenant's drills: the latest moment, not
// after now, at the tenant's phase in the period (counted from the Unix epoch).
func DrillWindow(tenantNamespace string, period time.Duration, now time.Time) time.Time {
	phase := drillPhase(tenantNamespace, period)
	since := time.Duration(now.UnixNano()) - phase
	return now.Add(-time.Duration(int64(since) % int64(period)))
}

// DueInput is what decides whether a tenant's drill is due.
type DueInput struct {
	Namespace     string
	TenantCreated time.Time
	Settings      DrillSettings
	Last          *v1alpha1.RestoreDrillStatus
	// Token is the value of the restore-drill-now annotation, empty when there is none.
	Token string
	Now   time.Time
}

// DrillDue says whether a drill should begin now, and if not when it next should (zero: never,
// until the policy or the annotation changes). A drill is due once in each period at the tenant's
// phase, for a tenant that existed at that moment; a failed one is tried again after a day; a new
// annotation value asks for one at once.
func DrillDue(in DueInput) (due bool, next time.Time) {
	if in.Token != "" && (in.Last == nil || in.Last.Token != in.Token) {
		return true, time.Time{}
	}
	if in.Settings.Disabled {
		return false, time.Time{}
	}
	window := DrillWindow(in.Namespace, in.Settings.Period, in.Now)
	nextWindow := window.Add(in.Settings.Period)
	switch {
	case in.Last == nil && in.TenantCreated.After(window):
		// a tenant that came after its moment of this period waits for the next one
		return false, nextWindow
	case in.Last == nil:
		return true, time.Time{}
	case in.Last.Result == v1alpha1.RestoreDrillFailed:
		retry := in.Last.CompletionTime.Add(min(drillRetry, in.Settings.Period))
		if !in.Now.Before(retry) {
			return true, time.Time{}
		}
		return false, retry
	case in.Last.StartTime.Time.Before(window):
		return true, time.Time{}
	}
	return false, nextWindow
}

// Overdue says whether a tenant's backups have gone unproven for longer than a period and a
// tenth (the tenth leaves room for the queue of drills): no drill passed since then, and the
// tenant is older than that.
func Overdue(lastVerified *time.Time, tenantCreated time.Time, period time.Duration, now time.Time) bool {
	limit := period + period/10
	if lastVerified != nil {
		return now.Sub(*lastVerified) > limit
	}
	return now.Sub(tenantCreated) > limit
}

// drillLabels mark a drill's Restore and scratch namespace with the tenant namespace drilled.
func drillLabels(tenantNamespace string, withTenant bool) map[string]string {
	l := map[string]string{
		v1alpha1.LabelManagedBy:    v1alpha1.ManagedByValue,
		v1alpha1.LabelRestoreDrill: tenantNamespace,
	}
	if withTenant {
		// the Restore, in Velero's namespace, wakes its tenant when Velero changes it; the scratch
		// namespace must not carry it, or every rule that admits a tenant's namespaces would admit it
		l[v1alpha1.LabelTenant] = tenantNamespace
	}
	return l
}

// DrillExcludedResources are what a drill does not restore: nothing in the scratch namespace may
// run (pods, and the Jobs and ReplicaSets that make them; its quota refuses pods besides), be
// reached (Services, Ingresses, endpoints), or let a tenant's people in (their Roles and
// RoleBindings); the cell's rules of the tenant (quota, limits, network policies) give way to the
// scratch namespace's own.
var DrillExcludedResources = []string{
	"pods", "replicasets.apps", "jobs.batch", "cronjobs.batch",
	"services", "endpoints", "endpointslices.discovery.k8s.io", "ingresses.networking.k8s.io",
	"roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io",
	"networkpolicies.networking.k8s.io", "resourcequotas", "limitranges",
	"events", "events.events.k8s.io",
}

// DrillRestore is the Velero Restore of a drill: the backup's tenant namespace mapped onto the
// scratch namespace, through the drill's resource modifiers.
func DrillRestore(name, tenantNamespace, backupName, veleroNamespace string) *unstructured.Unstructured {
	excluded := make([]any, 0, len(DrillExcludedResources))
	for _, r := range DrillExcludedResources {
		excluded = append(excluded, r)
	}
	labels := map[string]any{}
	for k, v := range drillLabels(tenantNamespace, true) {
		labels[k] = v
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name, "namespace": veleroNamespace, "labels": labels},
		"spec": map[string]any{
			"backupName":         backupName,
			"includedNamespaces": []any{tenantNamespace},
			"namespaceMapping":   map[string]any{tenantNamespace: ScratchNamespaceName(tenantNamespace)},
			"excludedResources":  excluded,
			// no volume data is restored: the drill proves the objects, and would otherwise fill
			// the storage of the cluster for minutes
			"restorePVs":       false,
			"resourceModifier": map[string]any{"kind": "ConfigMap", "name": DrillModifiersName},
		},
	}}
	u.SetGroupVersionKind(RestoreGVK)
	return u
}

// DrillModifiers is the ConfigMap of Velero resource modifiers of every drill: restored objects
// lose the labels that name them as mutualis's and as a tenant's, so that nothing that selects a
// tenant's objects (the operator's watches, the audit, a cell's tooling) takes them for the
// tenant's own.
func DrillModifiers(veleroNamespace string) *corev1ac.ConfigMapApplyConfiguration {
	rules := fmt.Sprintf(`version: v1
resourceModifierRules:
- conditions:
    groupResource: "**"
    labelSelector:
      matchExpressions:
      - {key: %q, operator: Exists}
  mergePatches:
  - patchData: '{"metadata":{"labels":{%q:null,%q:null}}}'
`, v1alpha1.LabelTenant, v1alpha1.LabelTenant, v1alpha1.LabelManagedBy)
	return corev1ac.ConfigMap(DrillModifiersName, veleroNamespace).
		WithLabels(map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}).
		WithData(map[string]string{"modifiers.yaml": rules})
}

// ScratchNamespace is the namespace a drill restores into, at the restricted Pod Security level.
func ScratchNamespace(tenantNamespace string) *corev1ac.NamespaceApplyConfiguration {
	l := drillLabels(tenantNamespace, false)
	for _, mode := range []string{"enforce", "audit", "warn"} {
		l["pod-security.kubernetes.io/"+mode] = "restricted"
	}
	return corev1ac.Namespace(ScratchNamespaceName(tenantNamespace)).WithLabels(l)
}

// ScratchQuotaName and ScratchNetworkPolicyName are the scratch namespace's own rules.
const (
	ScratchQuotaName         = "mutualis-restore-drill"
	ScratchNetworkPolicyName = "mutualis-restore-drill-deny-all"
)

// ScratchQuota bounds the scratch namespace by the tenant's own quota, and lets no pod run in it
// nor any Service reach out of the cluster.
func ScratchQuota(tenantNamespace string, tenantHard corev1.ResourceList) *corev1ac.ResourceQuotaApplyConfiguration {
	hard := tenantHard.DeepCopy()
	if hard == nil {
		hard = corev1.ResourceList{}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourcePods, corev1.ResourceServicesLoadBalancers, corev1.ResourceServicesNodePorts} {
		hard[r] = resource.MustParse("0")
	}
	return corev1ac.ResourceQuota(ScratchQuotaName, ScratchNamespaceName(tenantNamespace)).
		WithLabels(drillLabels(tenantNamespace, false)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(hard))
}

// ScratchNetworkPolicy denies all traffic into and out of the scratch namespace.
func ScratchNetworkPolicy(tenantNamespace string) *networkingv1ac.NetworkPolicyApplyConfiguration {
	return networkingv1ac.NetworkPolicy(ScratchNetworkPolicyName, ScratchNamespaceName(tenantNamespace)).
		WithLabels(drillLabels(tenantNamespace, false)).
		WithSpec(networkingv1ac.NetworkPolicySpec().WithPodSelector(metav1ac.LabelSelector()).
			WithPolicyTypes(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress))
}

// RestoreState is what a drill's Restore says.
type RestoreState struct {
	Done, Failed bool
	Phase        string
	// Message says why it failed.
	Message string
	// Restored and Total are Velero's counts of items.
	Restored, Total int64
}

// ReadRestore reads a Velero Restore's phase and counts.
func ReadRestore(r *unstructured.Unstructured) RestoreState {
	var s RestoreState
	s.Phase, _, _ = unstructured.NestedString(r.Object, "status", "phase")
	s.Restored, _, _ = unstructured.NestedInt64(r.Object, "status", "progress", "itemsRestored")
	s.Total, _, _ = unstructured.NestedInt64(r.Object, "status", "progress", "totalItems")
	errs, _, _ := unstructured.NestedInt64(r.Object, "status", "errors")
	reason, _, _ := unstructured.NestedString(r.Object, "status", "failureReason")
	if v, _, _ := unstructured.NestedStringSlice(r.Object, "status", "validationErrors"); len(v) > 0 {
		reason = strings.Join(v, "; ")
	}
	switch s.Phase {
	case "Completed":
		s.Done = true
	case "PartiallyFailed":
		s.Done, s.Failed = true, true
		s.Message = fmt.Sprintf("Velero's restore %s ended PartiallyFailed with %d errors", r.GetName(), errs)
	case "Failed", "FailedValidation":
		s.Done, s.Failed = true, true
		s.Message = fmt.Sprintf("Velero's restore %s ended %s: %s", r.GetName(), s.Phase, orUnknown(reason))
	}
	return s
}

// DataObject is one of the tenant's ConfigMaps, Secrets or PersistentVolumeClaims, by metadata.
type DataObject struct {
	Kind, Name  string
	Created     time.Time
	Labels      map[string]string
	Annotations map[string]string
}

// drillChecks says which of the tenant's objects a drill must find in its restore: those the
// backup must hold, that is every data object older than the backup but the ones the cluster
// makes in every namespace itself.
func drillChecks(o DataObject, backupStarted time.Time) bool {
	switch {
	case !o.Created.Before(backupStarted):
		return false // created after the backup began: the backup need not hold it
	case o.Kind == "ConfigMap" && o.Name == "kube-root-ca.crt":
		return false // every namespace gets its own
	case o.Kind == "Secret" && o.Annotations[corev1.ServiceAccountNameKey] != "":
		return false // the cluster mints service account tokens per namespace
	}
	return true
}

// Verdict is the outcome of a drill.
type Verdict struct {
	Passed  bool
	Message string
	// Checked is how many of the tenant's objects were looked for.
	Checked int
}

// Verify judges a drill whose Restore ended: Velero must have restored everything it tried, and
// every data object the tenant held before the backup began must be in the scratch namespace.
func Verify(restore RestoreState, restoreName, backupName string, backupStarted time.Time, tenantObjects, restored []DataObject) Verdict {
	describe := fmt.Sprintf("velero restore describe %s --details", restoreName)
	if restore.Failed {
		return Verdict{Message: fmt.Sprintf("%s: the backup %s does not restore whole; see %s", restore.Message, backupName, describe)}
	}
	if restore.Total > 0 && restore.Restored < restore.Total {
		return Verdict{Message: fmt.Sprintf("Velero's restore %s restored %d of %d items from the backup %s; see %s", restoreName, restore.Restored, restore.Total, backupName, describe)}
	}
	there := map[string]bool{}
	for _, o := range restored {
		there[o.Kind+"/"+o.Name] = true
	}
	var v Verdict
	var missing []string
	for _, o := range tenantObjects {
		if !drillChecks(o, backupStarted) {
			continue
		}
		v.Checked++
		if there[o.Kind+"/"+o.Name] {
			continue
		}
		m := o.Kind + "/" + o.Name
		if o.Labels[LabelExcludeFromBackup] == "true" {
			m += " (labelled " + LabelExcludeFromBackup + "=true)"
		}
		missing = append(missing, m)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		v.Message = fmt.Sprintf("the backup %s restores without %d of the tenant's %d objects older than it: %s; an object labelled %s=true is left out of every backup (remove the label), any other is for Velero's log (%s)",
			backupName, len(missing), v.Checked, strings.Join(missing, ", "), LabelExcludeFromBackup, describe)
		return v
	}
	v.Passed = true
	v.Message = fmt.Sprintf("the backup %s restored into a scratch namespace with all %d of the tenant's ConfigMaps, Secrets and PersistentVolumeClaims older than it (Velero restored %d of %d items)",
		backupName, v.Checked, restore.Restored, restore.Total)
	return v
}

// LabelExcludeFromBackup is Velero's label that leaves an object out of every backup.
const LabelExcludeFromBackup = "velero.io/exclude-from-backup"

// LatestCompleted is the newest Completed Backup of a list, and when it began; nil when none.
func LatestCompleted(backups []unstructured.Unstructured) (*unstructured.Unstructured, time.Time) {
	var latest *unstructured.Unstructured
	var latestStart time.Time
	for i := range backups {
		if phase, _, _ := Phase(&backups[i]); phase != PhaseCompleted {
			continue
		}
		if t := Started(&backups[i]); latest == nil || t.After(latestStart) {
			latest, latestStart = &backups[i], t
		}
	}
	return latest, latestStart
}

// Started is when Velero began a Backup (its creation, when Velero has not said).
func Started(b *unstructured.Unstructured) time.Time {
	started, _, _ := unstructured.NestedString(b.Object, "status", "startTimestamp")
	if t, err := time.Parse(time.RFC3339, started); err == nil {
		return t
	}
	return b.GetCreationTimestamp().Time
}
