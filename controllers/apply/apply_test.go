package apply

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
)

func quota(cpu string, labels map[string]string) *corev1ac.ResourceQuotaApplyConfiguration {
	return corev1ac.ResourceQuota("q", "ns").WithLabels(labels).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse(cpu)}))
}

// liveQuota is the typed object the API server would hold after an apply of desired, with
// the hash annotation the applier stamps and the defaults the server adds, read back as the cache
// gives it (no apiVersion and kind), then edited.
func liveQuota(t *testing.T, desired *corev1ac.ResourceQuotaApplyConfiguration, edit func(*corev1.ResourceQuota)) map[string]any {
	t.Helper()
	u, err := unstructuredOf(desired)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stamp(u); err != nil {
		t.Fatal(err)
	}
	live := &corev1.ResourceQuota{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, live); err != nil {
		t.Fatal(err)
	}
	live.TypeMeta = metav1.TypeMeta{}
	live.UID, live.ResourceVersion = "u1", "42"
	live.Status.Used = corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("0")}
	if edit != nil {
		edit(live)
	}
	have, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		t.Fatal(err)
	}
	return have
}

func TestDecideTyped(t *testing.T) {
	desired := quota("2", map[string]string{"a": "1"})
	tests := []struct {
		name    string
		desired *corev1ac.ResourceQuotaApplyConfiguration
		live    func(*testing.T) map[string]any
		want    Action
	}{
		{"absent", desired, func(*testing.T) map[string]any { return nil }, Created},
		{"as applied, with the server's additions", desired, func(t *testing.T) map[string]any { return liveQuota(t, desired, nil) }, Unchanged},
		{"same quantity written differently", quota("2000m", map[string]string{"a": "1"}), func(t *testing.T) map[string]any {
			return liveQuota(t, quota("2000m", map[string]string{"a": "1"}), func(q *corev1.ResourceQuota) {
				q.Spec.Hard[corev1.ResourceRequestsCPU] = resource.MustParse("2")
			})
		}, Unchanged},
		{"a label someone else added", desired, func(t *testing.T) map[string]any {
			return liveQuota(t, desired, func(q *corev1.ResourceQuota) { q.Labels["b"] = "2" })
		}, Unchanged},
		{"drift: the quota edited by hand", desired, func(t *testing.T) map[string]any {
			return liveQuota(t, desired, func(q *corev1.ResourceQuota) {
				q.Spec.Hard[corev1.ResourceRequestsCPU] = resource.MustParse("20")
			})
		}, Configured},
		{"drift: a label of mutualis removed", desired, func(t *testing.T) map[string]any {
			return liveQuota(t, desired, func(q *corev1.ResourceQuota) { delete(q.Labels, "a") })
		}, Configured},
		{"a field mutualis stopped setting (the hash differs)", quota("2", nil), func(t *testing.T) map[string]any { return liveQuota(t, desired, nil) }, Configured},
		{"applied by an older mutualis, without the hash", desired, func(t *testing.T) map[string]any {
			return liveQuota(t, desired, func(q *corev1.ResourceQuota) { delete(q.Annotations, AnnotationAppliedHash) })
		}, Configured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := unstructuredOf(tt.desired)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decide(obj, tt.live(t))
			if err != nil || got != tt.want {
				t.Fatalf("Decide = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// A deny-all network policy applies an empty list of rules, which the typed live object drops:
// it must still compare as unchanged, or every idle reconcile would write it.
func TestDecideEmptyListsAndIntOrString(t *testing.T) {
	desired := networkingv1ac.NetworkPolicy("deny", "ns").WithSpec(networkingv1ac.NetworkPolicySpec().
		WithPodSelector(nil).WithPolicyTypes(networkingv1.PolicyTypeIngress).
		WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithPorts(networkingv1ac.NetworkPolicyPort().WithPort(intstr.FromInt32(8080)))))
	obj, err := unstructuredOf(desired)
	if err != nil {
		t.Fatal(err)
	}
	stamped := obj.DeepCopy()
	if _, err := stamp(stamped); err != nil {
		t.Fatal(err)
	}
	live := &networkingv1.NetworkPolicy{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(stamped.Object, live); err != nil {
		t.Fatal(err)
	}
	tcp := corev1.ProtocolTCP
	live.Spec.Ingress[0].Ports[0].Protocol = &tcp // defaulted by the API server
	have, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Decide(obj, have); err != nil || got != Unchanged {
		t.Fatalf("Decide = %v, %v; want unchanged", got, err)
	}
	live.Spec.Ingress[0].Ports[0].Port = ptrIntOrString(intstr.FromInt32(9090))
	have, _ = runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if got, _ := Decide(obj, have); got != Configured {
		t.Fatalf("a port changed by hand: Decide = %v; want configured", got)
	}
}

func ptrIntOrString(v intstr.IntOrString) *intstr.IntOrString { return &v }

func TestChangeSetSummary(t *testing.T) {
	var cs ChangeSet
	if cs.Summary() != "nothing applied" || len(cs.Changed()) != 0 {
		t.Fatalf("empty change set: %q %v", cs.Summary(), cs.Changed())
	}
	cs.Add(Change{Kind: "Deployment", Namespace: "ns", Name: "b", Action: Configured},
		Change{Kind: "Service", Namespace: "ns", Name: "a", Action: Unchanged},
		Change{Kind: "ConfigMap", Namespace: "ns", Name: "c", Action: Created},
		Change{Kind: "ConfigMap", Namespace: "ns", Name: "d", Action: Pruned})
	if got, want := cs.Summary(), "1 created, 1 configured, 1 pruned, 1 unchanged"; got != want {
		t.Fatalf("Summary = %q; want %q", got, want)
	}
	changed := cs.Changed()
	if len(changed) != 3 || changed[0].String() != "ConfigMap ns/c created" {
		t.Fatalf("Changed = %v; want the three writes, sorted, without the unchanged Service", changed)
	}
}
