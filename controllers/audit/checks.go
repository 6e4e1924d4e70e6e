package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/licence"
	"github.com/crtpl/mutualis/controllers/tenant"
)

const labelEnforce = tenant.LabelPodSecurityEnforce

var levelRank = map[string]int{"privileged": 0, "baseline": 1, "restricted": 2}

// checkNamespace: the namespace enforces the policy's Pod Security level.
func checkNamespace(out *findings, in Inputs) {
	ns := in.Namespace
	if ns == nil {
		return
	}
	obj := "Namespace/" + ns.Name
	field := "metadata.labels[" + labelEnforce + "]"
	want := string(in.Policy.PodSecurity)
	got, ok := ns.Labels[labelEnforce]
	switch {
	case !ok || got == "privileged":
		out.add(CheckPodSecurityMissing, High, obj, field, got, want)
	case levelRank[got] < levelRank[want]:
		out.add(CheckPodSecurityWeaker, Medium, obj, field, got, want)
	}
}

// checkNetworkPolicies: the eight managed policies are there, nobody else changed their spec, and no
// other policy adds to them.
func checkNetworkPolicies(out *findings, in Inputs) {
	if in.Namespace == nil {
		return
	}
	have := map[string]*networkingv1.NetworkPolicy{}
	for i := range in.NetworkPolicies {
		np := &in.NetworkPolicies[i]
		have[np.Name] = np
		obj := "NetworkPolicy/" + np.Name
		if np.Labels[v1alpha1.LabelManagedBy] != v1alpha1.ManagedByValue {
			out.add(CheckNetworkPolicyUnmanaged, Medium, obj, "")
			continue
		}
		for _, mf := range np.ManagedFields {
			if mf.Manager == v1alpha1.FieldOwner || mf.FieldsV1 == nil || !strings.Contains(string(mf.FieldsV1.Raw), `"f:spec"`) {
				continue
			}
			at := ""
			if mf.Time != nil {
				at = mf.Time.UTC().Format(time.RFC3339)
			}
			out.add(CheckNetworkPolicyModified, High, obj, "spec", mf.Manager, at)
		}
	}
	for _, name := range tenant.NetworkPolicyNames() {
		if have[name] == nil {
			out.add(CheckNetworkPolicyMissing, High, "NetworkPolicy/"+name, "")
		}
	}
}

// workloadOf names the workload a pod belongs to: its controller, with a Deployment seen through
// its ReplicaSet.
func workloadOf(p *corev1.Pod, jobOwners map[string]string) string {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return "Pod/" + p.Name
	}
	switch ref.Kind {
	case "ReplicaSet":
		if hash := p.Labels["pod-template-hash"]; hash != "" && strings.HasSuffix(ref.Name, "-"+hash) {
			return "Deployment/" + strings.TrimSuffix(ref.Name, "-"+hash)
		}
	case "Job":
		if owner := jobOwners[ref.Name]; owner != "" {
			return owner
		}
	}
	return ref.Kind + "/" + ref.Name
}

// checkPods: every container of every pod, and of every workload's pod template, runs as
// non-root, unprivileged, without added capabilities, with limits and a read-only root file
// system, from an immutable image of an allowed registry. A workload is reported once, whether its
// template or its pods show it: a Deployment whose pods Pod Security refuses, one scaled to zero
// and a CronJob between two runs are audited like running ones.
func checkPods(out *findings, in Inputs) {
	for i := range in.Pods {
		p := &in.Pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		checkPodSpec(out, in, workloadOf(p, in.JobOwners), &p.Spec)
	}
	for i := range in.Workloads {
		checkPodSpec(out, in, in.Workloads[i].Object, &in.Workloads[i].Spec)
	}
}

// checkPodSpec checks the containers of one pod spec; fields are paths in the pod spec, so that a
// workload's template and its pods give the same finding.
func checkPodSpec(out *findings, in Inputs, obj string, spec *corev1.PodSpec) {
	podNonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	each := func(list string, cs []corev1.Container) {
		for _, c := range cs {
			at := fmt.Sprintf("spec.%s[%s]", list, c.Name)
			sc := c.SecurityContext
			if !podNonRoot && (sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
				out.add(CheckRunAsRoot, Medium, obj, at+".securityContext.runAsNonRoot", c.Name)
			}
			if sc != nil && sc.Privileged != nil && *sc.Privileged {
				out.add(CheckPrivileged, High, obj, at+".securityContext.privileged", c.Name)
			}
			if sc != nil && sc.Capabilities != nil {
				for _, capability := range sc.Capabilities.Add {
					sev := High
					if capability == "NET_BIND_SERVICE" {
						sev = Low
					}
					out.add(CheckCapabilitiesAdded, sev, obj, at+".securityContext.capabilities.add", c.Name, string(capability))
				}
			}
			var missing []string
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Limits[r]; !ok {
					missing = append(missing, string(r))
				}
			}
			if len(missing) > 0 {
				out.add(CheckLimitsMissing, Medium, obj, at+".resources.limits", c.Name, strings.Join(missing, ", "))
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				out.add(CheckWritableRootFS, Low, obj, at+".securityContext.readOnlyRootFilesystem", c.Name)
			}
			checkImage(out, in.Policy.AllowedRegistries, obj, at+".image", c.Name, c.Image)
		}
	}
	each("initContainers", spec.InitContainers)
	each("containers", spec.Containers)
}

// checkImage: an image is pinned by digest or by a tag other than latest, and comes from an
// allowed registry when the policy lists them.
func checkImage(out *findings, allowed []string, obj, field, container, image string) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		out.add(CheckMutableImage, Medium, obj, field, container, image)
		return
	}
	_, digested := named.(reference.Digested)
	tagged, hasTag := named.(reference.Tagged)
	if !digested && (!hasTag || tagged.Tag() == "latest") {
		out.add(CheckMutableImage, Medium, obj, field, container, image)
	}
	if len(allowed) == 0 {
		return
	}
	full := named.Name() // docker.io/library/nginx
	for _, a := range allowed {
		if full == a || strings.HasPrefix(full, strings.TrimSuffix(a, "/")+"/") {
			return
		}
	}
	out.add(CheckRegistryNotAllowed, Medium, obj, field, container, image, strings.Join(allowed, ", "))
}

// checkExposure: a Service reachable from outside the cluster, and an Ingress host served without
// TLS.
func checkExposure(out *findings, in Inputs) {
	for _, s := range in.Services {
		if s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			out.add(CheckServiceOutside, Medium, "Service/"+s.Name, "spec.type", string(s.Spec.Type))
		}
	}
	for _, ing := range in.Ingresses {
		secured := map[string]bool{}
		for _, t := range ing.Spec.TLS {
			for _, h := range t.Hosts {
				secured[h] = true
			}
		}
		for i, r := range ing.Spec.Rules {
			if secured[r.Host] || (r.Host != "" && wildcardCovers(ing.Spec.TLS, r.Host)) {
				continue
			}
			host := r.Host
			if host == "" {
				host = "*"
			}
			out.add(CheckIngressWithoutTLS, High, "Ingress/"+ing.Name, fmt.Sprintf("spec.rules[%d].host", i), host)
		}
	}
}

func wildcardCovers(tls []networkingv1.IngressTLS, host string) bool {
	_, parent, ok := strings.Cut(host, ".")
	if !ok {
		return false
	}
	for _, t := range tls {
		for _, h := range t.Hosts {
			if h == "*."+parent {
				return true
			}
		}
	}
	return false
}

// checkBackups reads the verdict of the backup step (BackupReady) rather than judging the backups
// again: the audit and the status say the same thing.
func checkBackups(out *findings, in Inputs) {
	c := in.BackupReady
	if c == nil || in.Namespace == nil {
		return
	}
	// a tenant admin may label its objects out of Velero's backups; the final backup of a Delete
	// tenant would then leave their data behind, so the cell hears of each one
	for _, obj := range in.ExcludedFromBackup {
		out.add(CheckExcludedFromBackup, High, obj, `metadata.labels["`+LabelExcludeFromBackup+`"]`)
	}
	obj := in.Subject.Kind.Kind() + "/" + in.Subject.Name
	last := ""
	if in.Backup != nil && in.Backup.LastSuccessfulTime != nil {
		last = in.Backup.LastSuccessfulTime.UTC().Format(time.RFC3339)
	}
	checkRestoreDrills(out, in, obj)
	switch c.Reason {
	case v1alpha1.ReasonBackupFailed:
		out.add(CheckBackupFailing, High, obj, "status.backup", c.Message)
	case v1alpha1.ReasonBackupStale:
		out.add(CheckBackupStale, High, obj, "status.backup.lastSuccessfulTime", last)
	case v1alpha1.ReasonBackupsDisabled, v1alpha1.ReasonVeleroNotInstalled, v1alpha1.ReasonInvalidSchedule:
		out.add(CheckBackupMissing, High, obj, "status.conditions[BackupReady]", c.Message)
	case v1alpha1.ReasonBackupPending:
		// a young tenant has not had its first backup yet; after a day it should have
		if !in.Subject.Created.IsZero() && in.Now.Sub(in.Subject.Created) > 24*time.Hour {
			out.add(CheckBackupMissing, High, obj, "status.conditions[BackupReady]", c.Message)
		}
	}
}

// checkRestoreDrills: the latest restore drill failed, or no drill has proven the backups within
// the policy's period (and a tenth); a tenant without backups is BackupMissing already.
func checkRestoreDrills(out *findings, in Inputs, obj string) {
	switch in.BackupReady.Reason {
	case v1alpha1.ReasonBackupsDisabled, v1alpha1.ReasonVeleroNotInstalled, v1alpha1.ReasonInvalidSchedule:
		return
	}
	var last *time.Time
	if in.Backup != nil {
		if d := in.Backup.LastRestoreDrill; d != nil && d.Result == v1alpha1.RestoreDrillFailed {
			out.add(CheckRestoreDrillFailed, High, obj, "status.backup.lastRestoreDrill", d.Message)
		}
		if in.Backup.LastVerifiedRestore != nil {
			last = &in.Backup.LastVerifiedRestore.Time
		}
	}
	drills := backup.EffectiveDrills(in.Policy.Backup.RestoreDrills)
	if drills.Disabled || !backup.Overdue(last, in.Subject.Created, drills.Period, in.Now) {
		return
	}
	lastSaid := ""
	if last != nil {
		lastSaid = last.UTC().Format(time.RFC3339)
	}
	out.add(CheckRestoreNotVerified, Medium, obj, "status.backup.lastVerifiedRestore", lastSaid, drills.Period.String())
}

// LabelExcludeFromBackup is Velero's label that leaves an object out of every backup.
const LabelExcludeFromBackup = backup.LabelExcludeFromBackup

// checkLicences: a pool the tenant holds seats of ends within 30 days, or has ended.
func checkLicences(out *findings, in Inputs) {
	for i := range in.Pools {
		p := &in.Pools[i]
		if p.Spec.ValidUntil == nil {
			continue
		}
		until := p.Spec.ValidUntil.UTC().Format("2006-01-02")
		switch {
		case licence.Expired(p, in.Now):
			out.add(CheckLicenceExpired, High, "LicencePool/"+p.Name, "spec.validUntil", p.Spec.Application, until)
		case p.Spec.ValidUntil.Sub(in.Now) <= licence.ExpiryNotice:
			out.add(CheckLicenceExpiring, Medium, "LicencePool/"+p.Name, "spec.validUntil", p.Spec.Application, until)
		}
	}
}

// checkAccess lists who may act in the namespace, for review, and flags role bindings mutualis did
// not make: the tenant contract gives no one the right to add them.
func checkAccess(out *findings, in Inputs) {
	for _, rb := range in.RoleBindings {
		obj := "RoleBinding/" + rb.Name
		if rb.Labels[v1alpha1.LabelManagedBy] != v1alpha1.ManagedByValue {
			out.add(CheckRoleBindingUnmanaged, Medium, obj, "", rb.RoleRef.Kind+"/"+rb.RoleRef.Name)
		}
		for i, s := range rb.Subjects {
			who := s.Kind + "/" + s.Name
			if s.Kind == "ServiceAccount" {
				ns := s.Namespace
				if ns == "" {
					ns = rb.Namespace
				}
				who = "ServiceAccount/" + ns + "/" + s.Name
			}
			out.add(CheckAccess, Info, obj, fmt.Sprintf("subjects[%d]", i), who, rb.RoleRef.Kind+"/"+rb.RoleRef.Name)
		}
	}
}
