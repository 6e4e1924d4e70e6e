package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// exportProduced lists every object the operator produced: the objects of every kind that carry a
// field manager of mutualis, but for mutualis's own kinds (the tenants are the input, not the
// output) and Events. They are returned ready to be created elsewhere: no identity, no status, no
// field that the API server or a controller fills in.
func exportProduced(ctx context.Context, c *cluster) ([]*unstructured.Unstructured, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(c.cfg)
	if err != nil {
		return nil, err
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			return nil, err
		}
		if gv.Group == v1alpha1.GroupVersion.Group || gv.Group == "events.k8s.io" {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || r.Kind == "Event" || !hasVerb(r.Verbs, "list") {
				continue
			}
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gv.WithKind(r.Kind + "List"))
			if err := c.client.List(ctx, list, client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}); err != nil {
				return nil, fmt.Errorf("listing %s: %w", r.Name, err)
			}
			for i := range list.Items {
				if o := &list.Items[i]; producedByMutualis(o) {
					out = append(out, portable(o))
				}
			}
		}
	}
	return out, nil
}

func hasVerb(verbs []string, verb string) bool {
	for _, v := range verbs {
		if v == verb {
			return true
		}
	}
	return false
}

func producedByMutualis(o *unstructured.Unstructured) bool {
	for _, f := range o.GetManagedFields() {
		if f.Manager == v1alpha1.FieldOwner && f.Subresource == "" {
			return true
		}
	}
	return false
}

// portable strips what the API server and the controllers fill in.
func portable(o *unstructured.Unstructured) *unstructured.Unstructured {
	p := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": o.GetAPIVersion(), "kind": o.GetKind(),
	}}
	for k, v := range o.Object {
		if k != "metadata" && k != "status" && k != "apiVersion" && k != "kind" {
			p.Object[k] = v
		}
	}
	p.SetName(o.GetName())
	p.SetNamespace(o.GetNamespace())
	p.SetLabels(o.GetLabels())
	annotations := map[string]string{}
	for k, v := range o.GetAnnotations() {
		if !strings.HasPrefix(k, "pv.kubernetes.io/") && !strings.HasPrefix(k, "volume.") && k != "deployment.kubernetes.io/revision" {
			annotations[k] = v
		}
	}
	p.SetAnnotations(annotations)
	switch o.GetKind() {
	case "Service":
		unstructured.RemoveNestedField(p.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(p.Object, "spec", "clusterIPs")
	case "PersistentVolumeClaim":
		unstructured.RemoveNestedField(p.Object, "spec", "volumeName")
	case "Namespace":
		unstructured.RemoveNestedField(p.Object, "spec")
	}
	return p
}

// createWaves is the order a tuned client creates a tenant's objects in: namespaces and cluster
// roles first, then what governs pods (quotas, limits, access, network), then the workloads.
func createWaves(objs []*unstructured.Unstructured) [][]*unstructured.Unstructured {
	rank := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "Namespace", "ClusterRole":
			return 0
		case "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob":
			return 2
		default:
			return 1
		}
	}
	waves := make([][]*unstructured.Unstructured, 3)
	for _, o := range objs {
		waves[rank(o)] = append(waves[rank(o)], o)
	}
	return waves
}

// createAll creates the objects wave by wave, with workers in parallel: with POST, or with
// server-side apply when apply is set (to tell what the operator's way of writing costs the API
// server from what the rest of its work does). writeSeconds is the time of every write summed:
// over the time of the whole, how many writes were in flight on average.
func createAll(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, workers int, apply bool) (writeSeconds float64, err error) {
	var nanos atomic.Int64 // the time of every write, summed
	for _, wave := range createWaves(objs) {
		work := make(chan *unstructured.Unstructured)
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for i := 0; i < workers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for o := range work {
					var err error
					began := time.Now()
					if apply {
						err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), client.FieldOwner("bench-floor"), client.ForceOwnership)
					} else {
						err = c.Create(ctx, o.DeepCopy())
					}
					nanos.Add(int64(time.Since(began)))
					if err != nil {
						select {
						case errs <- fmt.Errorf("creating %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err):
						default:
						}
					}
				}
			}()
		}
		for _, o := range wave {
			work <- o
		}
		close(work)
		wg.Wait()
		select {
		case err := <-errs:
			return time.Duration(nanos.Load()).Seconds(), err
		default:
		}
	}
	return time.Duration(nanos.Load()).Seconds(), nil
}

// workloadsAvailable counts the Deployments and StatefulSets of mutualis that have all their
// replicas updated and available at their generation, and those that have not, from a watch's
// cache.
func workloadsAvailable(ctx context.Context, c client.Reader) (done, waiting int, err error) {
	sel := client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}
	count := func(replicas *int32, generation, observed int64, updated, available int32) {
		want := int32(1)
		if replicas != nil {
			want = *replicas
		}
		if observed >= generation && updated >= want && available >= want {
			done++
		} else {
			waiting++
		}
	}
	deps := &appsv1.DeploymentList{}
	if err := c.List(ctx, deps, sel); err != nil {
		return 0, 0, err
	}
	for _, d := range deps.Items {
		count(d.Spec.Replicas, d.Generation, d.Status.ObservedGeneration, d.Status.UpdatedReplicas, d.Status.AvailableReplicas)
	}
	sets := &appsv1.StatefulSetList{}
	if err := c.List(ctx, sets, sel); err != nil {
		return 0, 0, err
	}
	for _, st := range sets.Items {
		count(st.Spec.Replicas, st.Generation, st.Status.ObservedGeneration, st.Status.UpdatedReplicas, st.Status.AvailableReplicas)
	}
	return done, waiting, nil
}

// waitWorkloads waits until want workloads are there and every one is available, looking at a
// watch's cache ten times a second.
func waitWorkloads(ctx context.Context, c client.Reader, want int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		done, waiting, err := workloadsAvailable(ctx, c)
		if err != nil {
			return time.Time{}, err
		}
		if done >= want && waiting == 0 {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d workloads available after %s", done, want, timeout)
		}
		if time.Since(lastLog) > 15*time.Second {
			logf("  %d/%d workloads available", done, want)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kindCounts says how many objects of each kind there are, for the report.
func kindCounts(objs []*unstructured.Unstructured) string {
	n := map[string]int{}
	for _, o := range objs {
		n[o.GetKind()]++
	}
	var kinds []string
	for k := range n {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, n[k]))
	}
	return strings.Join(parts, ", ")
}
