package controllers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
	"github.com/crtpl/mutualis/controllers/token"
)

// SubscribersConfigMap is the generated ConfigMap of a shared instance that lists its subscribers,
// so that the application can give each tenant its own space.
const SubscribersConfigMap = "mutualis-subscribers"

// Subscriber is one tenant of a shared instance, as the instance reads it in subscribers.json.
type Subscriber struct {
	Tenant     string              `json:"tenant"`
	Kind       v1alpha1.TenantKind `json:"kind"`
	Name       string              `json:"name"`
	NIS        string              `json:"nis,omitempty"`
	Domains    []string            `json:"domains,omitempty"`
	Seats      int32               `json:"seats,omitempty"`
	Parameters map[string]string   `json:"parameters,omitempty"`
	// ParametersOmitted says that this subscriber's parameters did not fit in the list and were
	// left out of it (fitSubscribers).
	ParametersOmitted bool `json:"parametersOmitted,omitempty"`
}

// subscribersBudget is how large subscribers.json may grow: a ConfigMap holds at most 1 MiB, and
// its metadata takes a little of it.
const subscribersBudget = 900 << 10

// fitSubscribers keeps the subscribers list within budget bytes of JSON by leaving out the
// parameters of the subscribers whose parameters weigh most, one after the other, until it fits:
// one tenant's input never keeps the instance's list from being written for the others. It returns
// the tenants whose parameters were left out.
func fitSubscribers(subscribers []Subscriber, budget int) ([]Subscriber, []string, error) {
	raw, err := json.Marshal(subscribers)
	if err != nil || len(raw) <= budget {
		return subscribers, nil, err
	}
	weight := make([]int, len(subscribers))
	order := make([]int, len(subscribers))
	for i, sub := range subscribers {
		p, err := json.Marshal(sub.Parameters)
		if err != nil {
			return nil, nil, err
		}
		weight[i], order[i] = len(p), i
	}
	sort.SliceStable(order, func(a, b int) bool { return weight[order[a]] > weight[order[b]] })
	out := slices.Clone(subscribers)
	size := len(raw)
	var omitted []string
	for _, i := range order {
		if size <= budget || len(out[i].Parameters) == 0 {
			break
		}
		// "parameters":{...} goes, "parametersOmitted":true comes
		size += len(`"parametersOmitted":true`) - len(`"parameters":`) - weight[i]
		out[i].Parameters, out[i].ParametersOmitted = nil, true
		omitted = append(omitted, out[i].Tenant)
	}
	sort.Strings(omitted)
	return out, omitted, nil
}

// subscribersOf lists the tenants that subscribe to a shared application, sorted by namespace,
// with the domains the planner says each one holds.
func subscribersOf(ctx context.Context, view plan.View, tenants []v1alpha1.Tenant, app string, policy v1alpha1.TenancyPolicySpec) ([]Subscriber, error) {
	var out []Subscriber
	for _, t := range tenants {
		if !t.GetDeletionTimestamp().IsZero() {
			continue
		}
		for _, sub := range t.TenantSpec().Applications {
			if sub.Name != app {
				continue
			}
			domains, err := plan.SubscriberDomains(ctx, view, t, policy)
			if err != nil {
				return nil, err
			}
			s := Subscriber{Tenant: t.TenantNamespace(), Kind: t.TenantKind(), Name: t.GetName(), NIS: v1alpha1.NISOf(t), Parameters: sub.Parameters, Domains: domains}
			for _, l := range t.TenantStatus().Licences {
				if l.Application == app {
					s.Seats = l.Granted
				}
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out, nil
}

// subscribersConfigMap is the ConfigMap that tells the instance who its subscribers are.
func subscribersConfigMap(in tenant.Instance, subscribers []Subscriber) (*unstructured.Unstructured, error) {
	// compact: at thousands of subscribers the list nears a ConfigMap's 1 MiB, and indentation
	// would be a third of it
	raw, err := json.Marshal(subscribers)
	if err != nil {
		return nil, err
	}
	if subscribers == nil {
		raw = []byte("[]")
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": SubscribersConfigMap, "namespace": in.Namespace, "labels": map[string]any{
			v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelTenant: in.Namespace, v1alpha1.LabelPartOf: in.Application,
		}},
		"data": map[string]any{"subscribers.json": string(raw)},
	}}
	return u, nil
}

// reconcileInstance runs the one instance of a Shared application in its own namespace, isolated
// like a tenant's and open to its subscribers on the exposed ports, and says how it is.
func (r *SharedApplicationReconciler) reconcileInstance(ctx context.Context, app *v1alpha1.SharedApplication, policy v1alpha1.TenancyPolicySpec) (*v1alpha1.SharedInstanceStatus, metav1.Condition, error) {
	nsName := tenant.InstanceNamespaceName(app.Name)
	st := &v1alpha1.SharedInstanceStatus{Namespace: nsName}
	if app.Status.Instance != nil {
		st.Resources = app.Status.Instance.Resources // kept as it is when nothing is applied
	}
	cond := metav1.Condition{Type: v1alpha1.ConditionInstanceReady, Status: metav1.ConditionFalse, ObservedGeneration: app.Generation}

	// a namespace of that name that mutualis does not manage is never taken over
	live := &corev1.Namespace{}
	err := r.Get(ctx, client.ObjectKey{Name: nsName}, live)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, client.ObjectKey{Name: nsName}, live)
	}
	switch {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return nil, cond, err
	case live.Labels[v1alpha1.LabelTenant] != nsName && !apply.AppliedByMutualis(live):
		cond.Reason = v1alpha1.ReasonNamespaceConflict
		cond.Message = fmt.Sprintf("namespace %s already exists and is not managed by mutualis: the shared instance needs it; rename that namespace or this application; nothing was created", nsName)
		st.Message = cond.Message
		return st, cond, nil
	}

	tenants, err := tenantsUsing(ctx, r.Client, app.Name)
	if err != nil {
		return nil, cond, err
	}
	subscribers, err := subscribersOf(ctx, cacheView{r.Client}, tenants, app.Name, policy)
	if err != nil {
		return nil, cond, err
	}
	in := tenant.Instance{Application: app.Name, Namespace: nsName, PodSecurity: app.Spec.SharedInstance.PodSecurity, Exposed: app.Spec.Exposes,
		ExternalEndpoints: tenant.ApproveEndpoints(app, policy).Direct}
	st.Subscribers = int32(len(subscribers))

	// the namespace first, then its quota, limits and isolation, then the application
	var current client.Object // nil: no namespace yet
	if live != nil {
		current = live
	}
	if _, err := apply.TypedOn(ctx, r.Client, tenant.InstanceNamespace(in, policy), current); err != nil {
		return nil, cond, err
	}
	largest := policy.Tiers[len(policy.Tiers)-1]
	quota := app.Spec.SharedInstance.Quota
	if len(quota) == 0 {
		quota = largest.Quota
	}
	res := &tenant.Resolved{Namespace: nsName, Quota: quota, Tier: largest}
	if _, err := apply.Typed(ctx, r.Client, tenant.ResourceQuota(res), &corev1.ResourceQuota{}); err != nil {
		return nil, cond, err
	}
	if _, err := apply.Typed(ctx, r.Client, tenant.LimitRange(res), &corev1.LimitRange{}); err != nil {
		return nil, cond, err
	}
	for _, np := range tenant.InstanceNetworkPolicies(in, policy) {
		if _, err := apply.Typed(ctx, r.Client, np, &networkingv1.NetworkPolicy{}); err != nil {
			return nil, cond, err
		}
	}

	if err := r.generateSecrets(ctx, nsName, app.Spec.SharedInstance.GeneratedSecrets); err != nil {
		return nil, cond, err
	}
	if st.TokenKey, err = r.tokenKey(ctx, nsName, app.Spec.SharedInstance.SubscriberTokens); err != nil {
		return nil, cond, err
	}

	objs, err := r.Renders.Render(app, render.Tenant{Kind: v1alpha1.KindSharedInstance, Name: app.Name, Namespace: nsName, DisplayName: app.Spec.DisplayName,
		Parameters: app.Spec.SharedInstance.Parameters}, render.Options{AllowedServiceTypes: policy.AllowedServiceTypes, IsNamespaced: namespacedBy(r.RESTMapper())})
	var rerr *render.Error
	if errors.As(err, &rerr) {
		cond.Reason, cond.Message = v1alpha1.ReasonInvalidBase, rerr.Error()+": the instance is left as it was; fix spec.sharedInstance or the base"
		st.Message = cond.Message
		return st, cond, nil
	} else if err != nil {
		return nil, cond, err
	}
	// replicas by subscribers: the whole list, before fitSubscribers trims what it carries
	scaled, unscaled, err := tenant.ScaleBySubscribers(objs, app.Spec.SharedInstance.Scaling, len(subscribers))
	if err != nil {
		return nil, cond, err
	}
	st.Scaled = scaled
	if len(unscaled) > 0 {
		cond.Reason = v1alpha1.ReasonInvalidBase
		cond.Message = fmt.Sprintf("spec.sharedInstance.scaling names %s, which the base has no Deployment or StatefulSet of: the instance is left as it was; fix the name", strings.Join(unscaled, ", "))
		st.Message = cond.Message
		return st, cond, nil
	}
	subscribers, omitted, err := fitSubscribers(subscribers, subscribersBudget)
	if err != nil {
		return nil, cond, err
	}
	list, err := subscribersConfigMap(in, subscribers)
	if err != nil {
		return nil, cond, err
	}
	objs = append(objs, list)

	var previous []string
	if app.Status.Instance != nil {
		previous = app.Status.Instance.Resources
	}
	st.Resources, _, err = apply.Application(ctx, r.Client, r.APIReader, r.RESTMapper(), nsName, app.Name, previous, objs)
	if err != nil {
		return nil, cond, err
	}
	waiting := apply.WorkloadsWaiting(ctx, r.Client, objs)
	if len(waiting) > 0 {
		cond.Reason = v1alpha1.ReasonApplicationsProgressing
		cond.Message = fmt.Sprintf("the instance in %s is not available yet: %s", nsName, strings.Join(waiting, "; "))
		st.Message = cond.Message
		return st, cond, nil
	}
	st.Ready = true
	cond.Status, cond.Reason = metav1.ConditionTrue, v1alpha1.ReasonReady
	cond.Message = fmt.Sprintf("the instance runs in namespace %s for %d subscribers", nsName, len(subscribers))
	for _, w := range scaled {
		if w.Capped {
			cond.Message += fmt.Sprintf("; %s runs at its maxReplicas, %d, fewer than %d subscribers need: raise maxReplicas or add an instance (docs/catalogue.md, sizing)", w.Workload, w.Replicas, len(subscribers))
		}
	}
	if len(omitted) > 0 {
		cond.Message += fmt.Sprintf("; the parameters of %s were left out of %s, which could not hold them all: shorten them", strings.Join(omitted, ", "), SubscribersConfigMap)
	}
	return st, cond, nil
}

// generateSecrets fills the instance's generated Secrets: a missing Secret is created, a missing
// key gets a random value, and a value that is there is never changed (the cell may have set it,
// and the instance's users hold what was derived from it). The Secrets stay out of the instance's
// inventory: deleting the catalogue entry keeps them, as it keeps the instance's data.
func (r *SharedApplicationReconciler) generateSecrets(ctx context.Context, namespace string, wanted []v1alpha1.GeneratedSecret) error {
	for _, g := range wanted {
		live := &corev1.Secret{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: g.Name}, live)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading Secret %s/%s: %w", namespace, g.Name, err)
		}
		created := apierrors.IsNotFound(err)
		if created {
			live = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: g.Name, Namespace: namespace, Labels: map[string]string{
				v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelTenant: namespace,
			}}, Type: corev1.SecretTypeOpaque}
		}
		before := live.DeepCopy()
		added, err := fillSecret(live, g.Keys)
		switch {
		case err != nil:
			return err
		case created:
			err = r.Create(ctx, live, client.FieldOwner(v1alpha1.FieldOwner))
		case len(added) > 0:
			// the resource version rides along: a value set meanwhile is not overwritten
			err = r.Patch(ctx, live, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}), client.FieldOwner(v1alpha1.FieldOwner))
		}
		if err != nil {
			return fmt.Errorf("generating keys %s of Secret %s/%s: %w", strings.Join(added, ", "), namespace, g.Name, err)
		}
	}
	return nil
}

// tokenKey is the fingerprint of the key that signs the subscribers' tokens, empty when the entry
// issues none or the key is not there yet (each subscriber's application status says so). The
// Secret is read from the API server: the cache keeps no Secret the cell made by hand.
func (r *SharedApplicationReconciler) tokenKey(ctx context.Context, namespace string, spec *v1alpha1.SubscriberTokens) (string, error) {
	if spec == nil {
		return "", nil
	}
	s := &corev1.Secret{}
	switch err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: spec.SigningSecret.Name}, s); {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("reading the token signing Secret %s/%s: %w", namespace, spec.SigningSecret.Name, err)
	}
	if key := s.Data[spec.SigningSecret.Key]; len(key) > 0 {
		return token.Fingerprint(key), nil
	}
	return "", nil
}

// fillSecret gives each missing or empty key of a Secret 32 random bytes, base64url: a value
// that a password field and an HMAC key both take. It returns the keys it filled.
func fillSecret(s *corev1.Secret, keys []string) ([]string, error) {
	var added []string
	for _, k := range keys {
		if len(s.Data[k]) > 0 {
			continue
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[k] = []byte(base64.RawURLEncoding.EncodeToString(raw))
		added = append(added, k)
	}
	return added, nil
}

// instanceOfSecret maps a Secret of a shared instance's namespace to its SharedApplication. Only
// the cell writes there (tenants have no rights in it), so the namespace is enough; the cache holds
// the Secrets labelled as mutualis's only, which the generated ones are.
func instanceOfSecret(_ context.Context, obj client.Object) []reconcile.Request {
	if name, ok := strings.CutPrefix(obj.GetNamespace(), v1alpha1.NamespacePrefixInstance); ok && name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
	}
	return nil
}

// instanceOfObject maps an object of a shared instance's namespace to its SharedApplication.
func instanceOfObject(_ context.Context, obj client.Object) []reconcile.Request {
	if !apply.AppliedByMutualis(obj) {
		return nil
	}
	ns := obj.GetLabels()[v1alpha1.LabelTenant]
	if name, ok := strings.CutPrefix(ns, v1alpha1.NamespacePrefixInstance); ok && name != "" {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
	}
	return nil
}
