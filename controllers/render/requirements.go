package render

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults are the container defaults of the tenant's LimitRange, which the API server gives to
// containers that declare no request or limit.
type Defaults struct {
	Request corev1.ResourceList
	Limit   corev1.ResourceList
}

// computeResources are what a container declares that a quota counts.
var computeResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}

// Requirements is what a render takes of a tenant's quota once it runs, rolling updates included:
// the requests and limits of every pod of its workloads (with the LimitRange's defaults where a
// container declares nothing, and the extra pods a rolling update adds), its volume claims, and
// its objects by count. It is computed from the objects alone, without a cluster, so that the
// operator, the catalogue's status and the offline validator reach the same verdict.
func Requirements(objs []*unstructured.Unstructured, defaults Defaults) (corev1.ResourceList, error) {
	need := corev1.ResourceList{}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	count := func(name corev1.ResourceName, n int64) { addTimes(need, name, one, n) }
	for _, u := range objs {
		gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
		gk := schema.GroupKind{Group: gv.Group, Kind: u.GetKind()}
		switch gk {
		case schema.GroupKind{Kind: "Service"}:
			count(corev1.ResourceServices, 1)
		case schema.GroupKind{Kind: "ConfigMap"}:
			count(corev1.ResourceConfigMaps, 1)
		case schema.GroupKind{Kind: "Secret"}:
			count(corev1.ResourceSecrets, 1)
		case schema.GroupKind{Kind: "PersistentVolumeClaim"}:
			pvc := &corev1.PersistentVolumeClaim{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, pvc); err != nil {
				return nil, fmt.Errorf("PersistentVolumeClaim %s: %w", u.GetName(), err)
			}
			claim(need, pvc.Spec, 1)
		case schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
			if err := workload(need, u, defaults); err != nil {
				return nil, err
			}
		}
		if gk.Group != "" {
			// object counts of the tier: count/<resource>.<group>
			plural, _ := meta.UnsafeGuessKindToResource(gv.WithKind(gk.Kind))
			count(corev1.ResourceName("count/"+plural.Resource+"."+gk.Group), 1)
		}
	}
	return need, nil
}

// addTimes adds n times q to a resource of need.
func addTimes(need corev1.ResourceList, name corev1.ResourceName, q resource.Quantity, n int64) {
	total := need[name]
	for i := int64(0); i < n; i++ {
		total.Add(q)
	}
	need[name] = total
}

// claim adds n volume claims of a spec: their storage and their count.
func claim(need corev1.ResourceList, spec corev1.PersistentVolumeClaimSpec, n int64) {
	addTimes(need, corev1.ResourceRequestsStorage, spec.Resources.Requests[corev1.ResourceStorage], n)
	addTimes(need, corev1.ResourcePersistentVolumeClaims, *resource.NewQuantity(1, resource.DecimalSI), n)
}

// workload adds the pods of a Deployment or StatefulSet: its replicas, plus the pods a rolling
// update of a Deployment adds on top (maxSurge, 25% by default), which the quota must hold too or
// the next image change never rolls out.
func workload(need corev1.ResourceList, u *unstructured.Unstructured, defaults Defaults) error {
	var replicas int32 = 1
	var template corev1.PodTemplateSpec
	var surge int32
	switch u.GetKind() {
	case "Deployment":
		d := &appsv1.Deployment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
			return fmt.Errorf("Deployment %s: %w", u.GetName(), err)
		}
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		template = d.Spec.Template
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			maxSurge := intstr.FromString("25%")
			if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
				maxSurge = *ru.MaxSurge
			}
			v, err := intstr.GetScaledValueFromIntOrPercent(&maxSurge, int(replicas), true)
			if err != nil {
				return fmt.Errorf("Deployment %s: maxSurge: %w", u.GetName(), err)
			}
			surge = int32(v)
		}
	case "StatefulSet":
		sts := &appsv1.StatefulSet{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, sts); err != nil {
			return fmt.Errorf("StatefulSet %s: %w", u.GetName(), err)
		}
		if sts.Spec.Replicas != nil {
			replicas = *sts.Spec.Replicas
		}
		template = sts.Spec.Template
		for _, vct := range sts.Spec.VolumeClaimTemplates {
			claim(need, vct.Spec, int64(replicas))
		}
	}
	pods := int64(replicas + surge)
	requests, limits := podResources(template.Spec, defaults)
	for name, q := range requests {
		addTimes(need, quotaName("requests.", name), q, pods)
	}
	for name, q := range limits {
		addTimes(need, quotaName("limits.", name), q, pods)
	}
	addTimes(need, corev1.ResourcePods, *resource.NewQuantity(1, resource.DecimalSI), pods)
	return nil
}

func hasExplicit(list corev1.ResourceList, name corev1.ResourceName) bool {
	q, ok := list[name]
	return ok && !q.IsZero()
}

func quotaName(prefix string, name corev1.ResourceName) corev1.ResourceName {
	return corev1.ResourceName(prefix + string(name))
}

// podResources are one pod's requests and limits as the quota counts them: the sum over its
// containers, or the largest init container when that is more. A container's missing request is
// its limit, or else the LimitRange's default request; a missing limit is the default limit.
func podResources(spec corev1.PodSpec, defaults Defaults) (requests, limits corev1.ResourceList) {
	effective := func(c corev1.Container) (corev1.ResourceList, corev1.ResourceList) {
		req, lim := corev1.ResourceList{}, corev1.ResourceList{}
		for _, name := range computeResources {
			l, hasLimit := c.Resources.Limits[name]
			if !hasLimit {
				l, hasLimit = defaults.Limit[name]
			}
			if hasLimit {
				lim[name] = l
			}
			r, hasRequest := c.Resources.Requests[name]
			switch {
			case hasRequest:
			case hasExplicit(c.Resources.Limits, name):
				// the API server defaults a missing request to the container's own limit
				r, hasRequest = c.Resources.Limits[name], true
			default:
				r, hasRequest = defaults.Request[name]
			}
			if hasRequest {
				req[name] = r
			}
		}
		return req, lim
	}
	requests, limits = corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range spec.Containers {
		req, lim := effective(c)
		for name, q := range req {
			cur := requests[name]
			cur.Add(q)
			requests[name] = cur
		}
		for name, q := range lim {
			cur := limits[name]
			cur.Add(q)
			limits[name] = cur
		}
	}
	for _, c := range spec.InitContainers {
		req, lim := effective(c)
		for name, q := range req {
			if q.Cmp(requests[name]) > 0 {
				requests[name] = q
			}
		}
		for name, q := range lim {
			if q.Cmp(limits[name]) > 0 {
				limits[name] = q
			}
		}
	}
	return requests, limits
}

// Shortfalls lists, for every resource a quota caps, what a need asks beyond it, as
// "limits.cpu 11 of 8", sorted; empty when the need fits. Resources the quota does not cap are free.
func Shortfalls(need, quota corev1.ResourceList) []string {
	var out []string
	for name, hard := range quota {
		if q, ok := need[name]; ok && q.Cmp(hard) > 0 {
			out = append(out, fmt.Sprintf("%s %s of %s", name, q.String(), hard.String()))
		}
	}
	sort.Strings(out)
	return out
}

// AddAll sums resource lists.
func AddAll(lists ...corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, l := range lists {
		for name, q := range l {
			cur := out[name]
			cur.Add(q)
			out[name] = cur
		}
	}
	return out
}
