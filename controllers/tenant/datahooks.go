package tenant

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// HookAction is what a data hook does: export or purge.
type HookAction string

const (
	HookExport HookAction = "export"
	HookPurge  HookAction = "purge"
)

// DefaultHookTimeout is how long a data hook runs when its catalogue entry does not say.
const DefaultHookTimeout = 10 * time.Minute

// HookTenant is who a data hook works for.
type HookTenant struct {
	Kind      v1alpha1.TenantKind
	Name      string
	Namespace string
	NIS       string
}

// DataHookJobName is the Job of one action for one tenant in an instance: one name per tenant and
// action, so that running the offboarding again finds the Job it began.
func DataHookJobName(action HookAction, tenantNamespace string) string {
	name := "mutualis-" + string(action) + "-" + tenantNamespace
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(tenantNamespace))
	return name[:54] + "-" + hex.EncodeToString(sum[:4])
}

// DataHookJob is the Job that runs a Shared application's data hook for one tenant, in the
// instance's namespace: restricted like every pod mutualis writes, bounded in time and in
// resources, never retried (a purge run twice, or an export half written, is for people to look
// at), and kept a day after it ended for its log to be read.
func DataHookJob(action HookAction, hook v1alpha1.DataHook, application, instanceNamespace string, who HookTenant) *batchv1.Job {
	timeout := DefaultHookTimeout
	if hook.Timeout != nil && hook.Timeout.Duration > 0 {
		timeout = hook.Timeout.Duration
	}
	labels := map[string]string{
		v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue,
		v1alpha1.LabelPartOf:    application,
		LabelDataHook:           string(action),
		LabelDataHookFor:        who.Namespace,
	}
	requests := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"), corev1.ResourceEphemeralStorage: resource.MustParse("256Mi")}
	limits := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi"), corev1.ResourceEphemeralStorage: resource.MustParse("1Gi")}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: DataHookJobName(action, who.Namespace), Namespace: instanceNamespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To(int64(timeout.Seconds())),
			TTLSecondsAfterFinished: ptr.To[int32](24 * 3600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name:    string(action),
						Image:   hook.Image,
						Command: hook.Command,
						Args:    hook.Args,
						Env: []corev1.EnvVar{
							{Name: "MUTUALIS_TENANT_KIND", Value: string(who.Kind)},
							{Name: "MUTUALIS_TENANT_NAME", Value: who.Name},
							{Name: "MUTUALIS_TENANT_NAMESPACE", Value: who.Namespace},
							{Name: "MUTUALIS_NIS", Value: who.NIS},
						},
						Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}

// Labels of a data hook's Job: the action, and the tenant namespace it works for.
const (
	LabelDataHook    = "mutualis.crtpl.be/data-hook"
	LabelDataHookFor = "mutualis.crtpl.be/data-hook-for"
)
