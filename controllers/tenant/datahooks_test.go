package tenant

import (
	"strings"
	"testing"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// A data hook's Job runs once, in the instance's namespace, within its timeout, as a pod that
// Pod Security restricted admits, and with the tenant's identity; its name fits for any tenant.
func TestDataHookJob(t *testing.T) {
	who := HookTenant{Kind: v1alpha1.KindCPAS, Name: "walhain", Namespace: "cpas-walhain", NIS: "25124"}
	job := DataHookJob(HookPurge, v1alpha1.DataHook{Image: "tools:1", Args: []string{"delete"}}, "participation", "mutualis-app-participation", who)
	if job.Namespace != "mutualis-app-participation" || job.Name != "mutualis-purge-cpas-walhain" {
		t.Errorf("Job %s/%s", job.Namespace, job.Name)
	}
	if *job.Spec.BackoffLimit != 0 || *job.Spec.ActiveDeadlineSeconds != int64(DefaultHookTimeout.Seconds()) {
		t.Errorf("retries %d, deadline %d s: a hook runs once, within its timeout", *job.Spec.BackoffLimit, *job.Spec.ActiveDeadlineSeconds)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	if !*pod.SecurityContext.RunAsNonRoot || *c.SecurityContext.AllowPrivilegeEscalation || c.SecurityContext.Capabilities.Drop[0] != "ALL" || pod.SecurityContext.SeccompProfile == nil {
		t.Errorf("the hook's pod is not restricted: %+v %+v", pod.SecurityContext, c.SecurityContext)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["MUTUALIS_TENANT_KIND"] != "cpas" || env["MUTUALIS_TENANT_NAMESPACE"] != "cpas-walhain" || env["MUTUALIS_NIS"] != "25124" || env["MUTUALIS_TENANT_NAME"] != "walhain" {
		t.Errorf("environment %v", env)
	}
	long := DataHookJobName(HookExport, "commune-"+strings.Repeat("x", 55))
	if len(long) > 63 || long == DataHookJobName(HookExport, "commune-"+strings.Repeat("x", 54)+"y") {
		t.Errorf("long names: %q", long)
	}
}
