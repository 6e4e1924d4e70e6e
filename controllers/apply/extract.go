package apply

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Extractable says whether Owned reads this object's managed fields. Every other object mutualis
// applies is compared through the hash of what it applied, so its field sets are never read.
func Extractable(live runtime.Object) bool {
	switch live.(type) {
	case *corev1.Namespace, *corev1.ResourceQuota, *corev1.LimitRange, *rbacv1.RoleBinding,
		*rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, *networkingv1.NetworkPolicy:
		return true
	}
	return false
}

// Owned extracts from a live object the fields that mutualis owns through server-side apply, as an
// apply configuration that compares with a desired one.
func Owned(live runtime.Object) (runtime.ApplyConfiguration, error) {
	const owner = v1alpha1.FieldOwner
	switch o := live.(type) {
	case *corev1.Namespace:
		return corev1ac.ExtractNamespace(o, owner)
	case *corev1.ResourceQuota:
		return corev1ac.ExtractResourceQuota(o, owner)
	case *corev1.LimitRange:
		return corev1ac.ExtractLimitRange(o, owner)
	case *rbacv1.RoleBinding:
		return rbacv1ac.ExtractRoleBinding(o, owner)
	case *rbacv1.ClusterRole:
		return rbacv1ac.ExtractClusterRole(o, owner)
	case *rbacv1.ClusterRoleBinding:
		return rbacv1ac.ExtractClusterRoleBinding(o, owner)
	case *networkingv1.NetworkPolicy:
		return networkingv1ac.ExtractNetworkPolicy(o, owner)
	}
	return nil, fmt.Errorf("apply: no extraction for %T", live)
}
