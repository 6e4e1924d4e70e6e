package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// sharedApp is a Shared catalogue entry: one instance for the cell, at Pod Security baseline.
func sharedApp(name string) *v1alpha1.SharedApplication {
	app := webApp(name, "jitsi/web:stable-9955")
	app.Spec.Instance = v1alpha1.InstanceShared
	app.Spec.SharedInstance = v1alpha1.SharedInstanceSpec{PodSecurity: "baseline", Parameters: map[string]string{"greeting": "bienvenue"}}
	app.Spec.Parameters = append(app.Spec.Parameters, v1alpha1.ParameterSpec{Name: "room-prefix"})
	return app
}

func instanceCondition(name string, status metav1.ConditionStatus, reason string) func() error {
	return func() error {
		app := &v1alpha1.SharedApplication{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, app); err != nil {
			return err
		}
		c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionInstanceReady)
		if c == nil || c.Status != status || (reason != "" && c.Reason != reason) {
			return fmt.Errorf("InstanceReady %+v, want %s %s", c, status, reason)
		}
		return nil
	}
}

func subscribersListed(ns string) ([]Subscriber, error) {
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: SubscribersConfigMap}, cm); err != nil {
		return nil, err
	}
	var out []Subscriber
	return out, json.Unmarshal([]byte(cm.Data["subscribers.json"]), &out)
}

// A Shared application runs once, in its own namespace at its own Pod Security level; each
// subscriber gets a Service leading to it and network access to its exposed ports, and the
// instance reads its subscribers. Unsubscribing cuts one tenant's access only, never the data.
func TestSharedInstanceRunsOnceForItsSubscribers(t *testing.T) {
	ctx := context.Background()
	create(t, sharedApp("visio"))
	const instance = "mutualis-app-visio"
	mettet := newCommune("mettet", "92087", func(c *v1alpha1.Commune) {
		c.Spec.Domains = []v1alpha1.Domain{"mettet.be"}
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "visio", Parameters: map[string]string{"room-prefix": "conseil"}}}
	})
	florennes := newCommune("florennes", "93022", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "visio"}}
	})
	create(t, mettet)
	create(t, florennes)

	// the instance: its namespace at baseline, its workload, its list of subscribers
	eventually(t, wait, func() error {
		ns := &corev1.Namespace{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: instance}, ns); err != nil {
			return err
		}
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
			return fmt.Errorf("instance namespace labels %v", ns.Labels)
		}
		subs, err := subscribersListed(instance)
		if err != nil {
			return err
		}
		if len(subs) != 2 || subs[0].Tenant != "commune-florennes" || subs[1].Tenant != "commune-mettet" ||
			subs[1].NIS != "92087" || subs[1].Parameters["room-prefix"] != "conseil" || len(subs[1].Domains) != 1 {
			return fmt.Errorf("subscribers %+v", subs)
		}
		return nil
	})
	d := &appsv1.Deployment{}
	get(t, instance+"/visio", d)
	if env := d.Spec.Template.Spec.Containers[0].Env[0]; env.Value != "bienvenue" {
		t.Errorf("the instance's parameter did not reach it: %+v", env)
	}
	// the tenants run no copy: a Service of the same name leads to the instance
	for _, ns := range []string{"commune-mettet", "commune-florennes"} {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "visio"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s runs a copy of a Shared application (%v)", ns, err)
		}
		svc := &corev1.Service{}
		eventually(t, wait, func() error { return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "visio"}, svc) })
		if svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != "visio."+instance+".svc.cluster.local" {
			t.Errorf("%s: service %+v", ns, svc.Spec)
		}
	}
	// not ready until the instance is
	eventually(t, wait, conditionIs(mettet, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationsProgressing))
	markAvailable(t, instance, "visio")
	eventually(t, wait, instanceCondition("visio", metav1.ConditionTrue, v1alpha1.ReasonReady))
	eventually(t, wait, conditionIs(mettet, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	eventually(t, wait, conditionIs(florennes, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))

	// network: each tenant may reach the instance on its exposed port; the instance admits both
	egressTo := func(ns string) error {
		np := &networkingv1.NetworkPolicy{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant.NetpolSharedInstance}, np); err != nil {
			return err
		}
		if len(np.Spec.Egress) != 1 || np.Spec.Egress[0].To[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != instance {
			return fmt.Errorf("%s egress %+v", ns, np.Spec.Egress)
		}
		return nil
	}
	for _, ns := range []string{"commune-mettet", "commune-florennes"} {
		if err := egressTo(ns); err != nil {
			t.Error(err)
		}
	}
	// which of these namespaces the instance's ingress rule admits, from their live labels
	admitted := func() ([]string, error) {
		np := &networkingv1.NetworkPolicy{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: instance, Name: tenant.NetpolSubscribers}, np); err != nil {
			return nil, err
		}
		var out []string
		for _, name := range []string{"commune-florennes", "commune-mettet"} {
			ns := &corev1.Namespace{}
			if err := k8s.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
				return nil, err
			}
			for _, rule := range np.Spec.Ingress {
				for _, from := range rule.From {
					sel, err := metav1.LabelSelectorAsSelector(from.NamespaceSelector)
					if err != nil {
						return nil, err
					}
					if sel.Matches(labels.Set(ns.Labels)) && !slices.Contains(out, name) {
						out = append(out, name)
					}
				}
			}
		}
		return out, nil
	}
	eventually(t, wait, func() error {
		if got, err := admitted(); err != nil || strings.Join(got, ",") != "commune-florennes,commune-mettet" {
			return fmt.Errorf("the instance admits %v (%v)", got, err)
		}
		return nil
	})

	// florennes unsubscribes: its access goes, the instance and its data stay
	uid := d.UID
	patch(t, florennes, func() { florennes.Spec.Applications = nil })
	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-florennes", Name: "visio"}, &corev1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the unsubscribed tenant keeps its Service (%v)", err)
		}
		got, err := admitted()
		if err != nil {
			return err
		}
		if strings.Join(got, ",") != "commune-mettet" {
			return fmt.Errorf("the instance still admits %v", got)
		}
		subs, err := subscribersListed(instance)
		if err != nil || len(subs) != 1 {
			return fmt.Errorf("subscribers %+v (%v)", subs, err)
		}
		np := &networkingv1.NetworkPolicy{}
		get(t, "commune-florennes/"+tenant.NetpolSharedInstance, np)
		if len(np.Spec.Egress) != 0 {
			return fmt.Errorf("the unsubscribed tenant may still reach the instance: %+v", np.Spec.Egress)
		}
		return nil
	})
	get(t, instance+"/visio", d)
	if d.UID != uid {
		t.Error("unsubscribing a tenant replaced the shared instance")
	}

	// the catalogue entry goes: the instance keeps running, and its subscriber says so
	app := &v1alpha1.SharedApplication{}
	get(t, "visio", app)
	if err := k8s.Delete(ctx, app); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, conditionIs(mettet, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationMissing))
	if msg := message(mettet, v1alpha1.ConditionApplicationsReady); !strings.Contains(msg, "left running untouched (a shared instance too, in "+instance) {
		t.Errorf("the subscriber should say the instance is left running: %s", msg)
	}
	get(t, instance+"/visio", d)
	get(t, "commune-mettet/visio", &corev1.Service{})
}

// Bad input to a Shared application: a subscription with a parameter the application does not
// declare, and an instance whose namespace is taken by a namespace mutualis does not manage. Each
// gets a clear condition, nothing half-built, the others untouched.
func TestSharedInstanceBadInput(t *testing.T) {
	ctx := context.Background()
	create(t, sharedApp("agora"))
	c := newCommune("gesves", "92054", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "agora", Parameters: map[string]string{"colour": "blue"}}}
	})
	create(t, c)
	stalledSaying(t, c, v1alpha1.ReasonApplicationInvalid, `parameters "colour" are not declared`)
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-gesves", Name: "agora"}, &corev1.Service{}); !apierrors.IsNotFound(err) {
		t.Errorf("an invalid subscription got its Service (%v)", err)
	}

	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mutualis-app-forum"}})
	create(t, sharedApp("forum"))
	eventually(t, wait, instanceCondition("forum", metav1.ConditionFalse, v1alpha1.ReasonNamespaceConflict))
	quota := &corev1.ResourceQuota{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "mutualis-app-forum", Name: tenant.QuotaName}, quota); !apierrors.IsNotFound(err) {
		t.Errorf("mutualis wrote into a namespace it does not manage (%v)", err)
	}
	ns := &corev1.Namespace{}
	get(t, "mutualis-app-forum", ns)
	if _, labelled := ns.Labels[v1alpha1.LabelManagedBy]; labelled {
		t.Error("the unmanaged namespace was taken over")
	}
	// a Shared base with what no base may hold: nothing of the instance is created
	bad := sharedApp("borne")
	bad.Spec.Resources = append(bad.Spec.Resources, v1alpha1.Resource{RawExtension: runtime.RawExtension{
		Raw: []byte(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"allow-all"},"spec":{"podSelector":{}}}`)}})
	create(t, bad)
	eventually(t, wait, func() error {
		get(t, "borne", bad)
		c := meta.FindStatusCondition(bad.Status.Conditions, v1alpha1.ConditionBaseValid)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "NetworkPolicy allow-all is not allowed") {
			return fmt.Errorf("BaseValid %+v", c)
		}
		return nil
	})
	if err := k8s.Get(ctx, client.ObjectKey{Name: "mutualis-app-borne"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("an invalid Shared application got its namespace (%v)", err)
	}
	// the other shared instance is untouched
	eventually(t, wait, func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: "mutualis-app-agora", Name: "agora"}, &appsv1.Deployment{})
	})
}

// The API refuses data hooks that could lose a commune's records: a purge without an export, and
// hooks on a PerTenant application (its data are in the tenant's namespace, which the export holds).
func TestDataHooksThatCouldLoseDataAreRefused(t *testing.T) {
	hook := &v1alpha1.DataHook{Image: "tools:1"}
	purgeOnly := sharedApp("hooked-forum")
	purgeOnly.Spec.DataHooks = &v1alpha1.DataHooks{Purge: hook}
	perTenant := webApp("agenda", "nginxinc/nginx-unprivileged:1.26")
	perTenant.Spec.DataHooks = &v1alpha1.DataHooks{Export: hook}
	for app, want := range map[*v1alpha1.SharedApplication]string{
		purgeOnly: "a purge hook needs an export hook",
		perTenant: "spec.dataHooks belong to a Shared application",
	} {
		err := k8s.Create(context.Background(), app, client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want it refused: %s", app.Name, err, want)
		}
	}
	both := sharedApp("hooked-forum")
	both.Spec.DataHooks = &v1alpha1.DataHooks{Export: hook, Purge: hook}
	if err := k8s.Create(context.Background(), both, client.DryRunAll); err != nil {
		t.Errorf("export and purge hooks on a Shared application: %v", err)
	}
}
