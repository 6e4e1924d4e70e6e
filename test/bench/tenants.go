package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// tenantKey names a tenant across both kinds.
func tenantKey(t v1alpha1.Tenant) string { return string(t.TenantKind()) + "/" + t.GetName() }

// readiness follows every tenant through a watch (the cache of a client of its own), and records
// for each the generation it is Ready at and since when. It never lists: the measurement's own
// requests stay off the API server.
type readiness struct {
	mu    sync.Mutex
	ready map[string]readyAt
	// notReady says, for each tenant that is not Ready, its Ready condition's reason and message.
	notReady map[string]string
}

type readyAt struct {
	generation int64
	since      time.Time
}

func watchReadiness(ctx context.Context, c cache.Cache) (*readiness, error) {
	r := &readiness{ready: map[string]readyAt{}, notReady: map[string]string{}}
	for _, obj := range []client.Object{&v1alpha1.Commune{}, &v1alpha1.CPAS{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, err
		}
		observe := func(o any) {
			if t, ok := o.(v1alpha1.Tenant); ok {
				r.observe(t)
			}
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    observe,
			UpdateFunc: func(_, o any) { observe(o) },
		}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *readiness) observe(t v1alpha1.Tenant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := tenantKey(t)
	cond := meta.FindStatusCondition(t.TenantStatus().Conditions, v1alpha1.ConditionReady)
	ready := cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == t.GetGeneration() &&
		t.TenantStatus().ObservedGeneration == t.GetGeneration()
	if !ready {
		delete(r.ready, key)
		if cond != nil {
			r.notReady[key] = cond.Reason + ": " + cond.Message
		} else {
			r.notReady[key] = "no Ready condition yet"
		}
		return
	}
	delete(r.notReady, key)
	if prev, found := r.ready[key]; !found || prev.generation != t.GetGeneration() {
		r.ready[key] = readyAt{generation: t.GetGeneration(), since: time.Now()}
	}
}

// reasons counts the tenants that are not Ready by the reason of their Ready condition.
func (r *readiness) reasons() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[string]int{}
	for _, why := range r.notReady {
		reason, _, _ := strings.Cut(why, ":")
		n[reason]++
	}
	var parts []string
	for reason, count := range n {
		parts = append(parts, fmt.Sprintf("%s %d", reason, count))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// count is the number of tenants Ready at their current generation.
func (r *readiness) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ready)
}

// readySince is when the tenant became Ready at generation, if it is.
func (r *readiness) readySince(key string, generation int64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, found := r.ready[key]
	if !found || at.generation != generation {
		return time.Time{}, false
	}
	return at.since, true
}

// waiting lists up to n tenants that are not Ready, with their Ready condition.
func (r *readiness) waiting(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for key, why := range r.notReady {
		out = append(out, key+": "+why)
	}
	sort.Strings(out)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// waitAllReady waits until want tenants are Ready, printing progress every 15 s, and returns when
// the last became Ready.
func (r *readiness) waitAllReady(ctx context.Context, want int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		if n := r.count(); n >= want {
			r.mu.Lock()
			var last time.Time
			for _, at := range r.ready {
				if at.since.After(last) {
					last = at.since
				}
			}
			r.mu.Unlock()
			return last, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d tenants Ready after %s; for example:\n  %v", r.count(), want, timeout, r.waiting(5))
		}
		if time.Since(lastLog) > 15*time.Second {
			logf("  %d/%d tenants Ready; the others: %s", r.count(), want, r.reasons())
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// changeOneViewer adds a viewer to the tenant: a spec change that reaches a RoleBinding.
func changeOneViewer(ctx context.Context, c client.Client, t v1alpha1.Tenant, i int) (int64, error) {
	live := t.DeepCopyObject().(v1alpha1.Tenant)
	if err := c.Get(ctx, client.ObjectKeyFromObject(t), live); err != nil {
		return 0, err
	}
	before := live.DeepCopyObject().(v1alpha1.Tenant)
	spec := live.TenantSpec()
	spec.Viewers = append(spec.Viewers, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: fmt.Sprintf("bench-viewer-%d@example.be", i)})
	if err := c.Patch(ctx, live, client.MergeFrom(before)); err != nil {
		return 0, err
	}
	return live.GetGeneration(), nil
}
