package apply

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

func quota(cpu string, labels map[string]string) *corev1ac.ResourceQuotaApplyConfiguration {
	return corev1ac.ResourceQuota("q", "ns").WithLabels(labels).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse(cpu)}))
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b *corev1ac.ResourceQuotaApplyConfiguration
		want bool
	}{
		{"identical", quota("2", map[string]string{"a": "1"}), quota("2", map[string]string{"a": "1"}), true},
		{"same quantity written differently", quota("2", nil), quota("2000m", nil), true},
		{"different quantity", quota("2", nil), quota("3", nil), false},
		{"a label more", quota("2", map[string]string{"a": "1", "b": "2"}), quota("2", map[string]string{"a": "1"}), false},
	}
	for _, tt := range tests {
		got, err := Equal(tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("%s: Equal = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestOwnedExtractsOnlyMutualisFields(t *testing.T) {
	// a live object whose managed fields say mutualis owns the label a and the quota, while
	// another manager owns the label b
	live := &corev1.ResourceQuota{}
	live.Name, live.Namespace = "q", "ns"
	live.Labels = map[string]string{"a": "1", "b": "2"}
	live.Spec.Hard = corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("2")}
	live.ManagedFields = []metav1.ManagedFieldsEntry{
		managed("mutualis", `{"f:metadata":{"f:labels":{"f:a":{}}},"f:spec":{"f:hard":{"f:requests.cpu":{}}}}`),
		managed("kubectl", `{"f:metadata":{"f:labels":{"f:b":{}}}}`),
	}
	owned, err := Owned(live)
	if err != nil {
		t.Fatal(err)
	}
	same, err := Equal(quota("2", map[string]string{"a": "1"}), owned)
	if err != nil || !same {
		t.Fatalf("owned fields %+v should equal the desired quota (err %v)", owned, err)
	}
}

func managed(manager, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{
		Manager:    manager,
		Operation:  metav1.ManagedFieldsOperationApply,
		APIVersion: "v1",
		FieldsType: "FieldsV1",
		FieldsV1:   &metav1.FieldsV1{Raw: []byte(fields)},
	}
}
