package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// webApp is a small catalogue entry: a Deployment, its Service, and a parameter copied into the
// Deployment by a replacement.
func webApp(name, image string, extra ...string) *v1alpha1.SharedApplication {
	resources := []string{
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"` + name + `"},"spec":{"selector":{"matchLabels":{"app":"` + name + `"}},"template":{"metadata":{"labels":{"app":"` + name + `"}},"spec":{"containers":[{"name":"web","image":"` + image + `","env":[{"name":"GREETING","value":"x"}]}]}}}}`,
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"` + name + `"},"spec":{"selector":{"app":"` + name + `"},"ports":[{"port":80,"targetPort":8080}]}}`,
	}
	resources = append(resources, extra...)
	app := &v1alpha1.SharedApplication{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.SharedApplicationSpec{
			Version:    "1.0.0",
			Parameters: []v1alpha1.ParameterSpec{{Name: "greeting", Default: "bonjour"}},
			Exposes:    []v1alpha1.ExposedPort{{Service: name, Port: 80}},
			Replacements: []v1alpha1.Replacement{{
				Source: v1alpha1.ReplacementSource{Kind: "ConfigMap", Name: "mutualis-parameters", FieldPath: "data.greeting"},
				Targets: []v1alpha1.ReplacementTarget{{
					Select:     v1alpha1.Selector{Kind: "Deployment", Name: name},
					FieldPaths: []string{"spec.template.spec.containers.[name=web].env.[name=GREETING].value"},
				}},
			}},
		},
	}
	for _, r := range resources {
		app.Spec.Resources = append(app.Spec.Resources, v1alpha1.Resource{RawExtension: runtime.RawExtension{Raw: []byte(r)}})
	}
	return app
}

// markAvailable plays the Deployment controller's part, which envtest does not run.
func markAvailable(t *testing.T, namespace, name string) {
	t.Helper()
	eventually(t, wait, func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, d); err != nil {
			return err
		}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
		return k8s.Status().Update(context.Background(), d)
	})
}

// intact fails the test unless the object exists and is not being deleted (a PVC that someone
// deleted stays, Terminating, behind its protection finalizer).
func intact(t *testing.T, key string, obj client.Object) {
	t.Helper()
	get(t, key, obj)
	if obj.GetDeletionTimestamp() != nil {
		t.Fatalf("%T %s is being deleted", obj, key)
	}
}

func appStatus(obj v1alpha1.Tenant, name string) (v1alpha1.ApplicationStatus, bool) {
	for _, a := range obj.TenantStatus().Applications {
		if a.Name == name {
			return a, true
		}
	}
	return v1alpha1.ApplicationStatus{}, false
}

func TestApplicationIsRenderedAppliedAndReportsHealth(t *testing.T) {
	ctx := context.Background()
	create(t, webApp("agenda", "nginxinc/nginx-unprivileged:1.26"))
	c := newCommune("andenne", "92003", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "agenda", Parameters: map[string]string{"greeting": "goeiedag"}}}
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationsProgressing))
	t.Logf("the user sees: %s", message(c, v1alpha1.ConditionApplicationsReady))
	if c.Status.ApplicationSummary != "0/1" {
		t.Errorf("Apps column %q, want 0/1", c.Status.ApplicationSummary)
	}

	d := &appsv1.Deployment{}
	get(t, "commune-andenne/agenda", d)
	if d.Labels[v1alpha1.LabelPartOf] != "agenda" || d.Labels[v1alpha1.LabelTenant] != "commune-andenne" {
		t.Errorf("deployment labels %v", d.Labels)
	}
	if env := d.Spec.Template.Spec.Containers[0].Env[0]; env.Value != "goeiedag" {
		t.Errorf("the parameter did not reach the deployment: %+v", env)
	}
	get(t, "commune-andenne/agenda", &corev1.Service{})

	markAvailable(t, "commune-andenne", "agenda")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionTrue, v1alpha1.ReasonApplicationsReady))
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
	a, _ := appStatus(c, "agenda")
	if !a.Ready || a.Version != "1.0.0" || c.Status.ApplicationSummary != "1/1" || len(a.Resources) != 3 {
		t.Errorf("application status %+v, summary %s", a, c.Status.ApplicationSummary)
	}
	eventually(t, wait, catalogueCounts("agenda", 1, 1, 1))

	// a catalogue upgrade rolls the tenant forward
	app := &v1alpha1.SharedApplication{}
	get(t, "agenda", app)
	patch(t, app, func() {
		app.Spec.Version = "1.1.0"
		app.Spec.Images = []v1alpha1.Image{{Name: "nginxinc/nginx-unprivileged", NewTag: "1.27"}}
	})
	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-andenne", Name: "agenda"}, d); err != nil {
			return err
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginxinc/nginx-unprivileged:1.27" {
			return fmt.Errorf("image %s", img)
		}
		return nil
	})
	markAvailable(t, "commune-andenne", "agenda")
	eventually(t, wait, func() error {
		if err := conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionTrue, "")(); err != nil {
			return err
		}
		if a, _ := appStatus(c, "agenda"); a.Version != "1.1.0" {
			return fmt.Errorf("version %s", a.Version)
		}
		return nil
	})
	eventually(t, wait, catalogueCounts("agenda", 1, 1, 1))
}

func TestUnsubscribePrunesExactlyTheInventory(t *testing.T) {
	ctx := context.Background()
	create(t, webApp("polls", "nginxinc/nginx-unprivileged:1.26"))
	create(t, webApp("maps", "nginxinc/nginx-unprivileged:1.26"))
	c := newCommune("eupen", "63023", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "polls"}, {Name: "maps"}}
	})
	create(t, c)
	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
			return err
		}
		if len(c.Status.Applications) != 2 {
			return fmt.Errorf("applications %v", c.Status.Applications)
		}
		return nil
	})
	// an object that looks like the application's but that mutualis never applied
	stranger := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "polls-notes", Namespace: "commune-eupen",
		Labels: map[string]string{v1alpha1.LabelManagedBy: "mutualis", v1alpha1.LabelTenant: "commune-eupen", v1alpha1.LabelPartOf: "polls"}}}
	create(t, stranger)
	// the data volume of a StatefulSet carries the labels of its template, and whoever can write the
	// tenant's status can add it to the inventory: mutualis must still not delete what it never
	// applied
	volume := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data-polls-0", Namespace: "commune-eupen", Labels: stranger.Labels},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	create(t, volume)
	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
			return err
		}
		for i, a := range c.Status.Applications {
			if a.Name == "polls" {
				c.Status.Applications[i].Resources = append(a.Resources, "ConfigMap/polls-notes", "PersistentVolumeClaim/data-polls-0")
			}
		}
		return k8s.Status().Update(ctx, c)
	})
	// the forged entries leave the inventory at the next reconcile, the objects stay
	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
			return err
		}
		if a, _ := appStatus(c, "polls"); strings.Contains(strings.Join(a.Resources, ","), "data-polls-0") {
			return fmt.Errorf("forged entries still listed: %v", a.Resources)
		}
		return nil
	})
	intact(t, "commune-eupen/data-polls-0", &corev1.PersistentVolumeClaim{})
	intact(t, "commune-eupen/polls-notes", &corev1.ConfigMap{})

	patch(t, c, func() { c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "maps"}} })
	eventually(t, wait, func() error {
		for _, name := range []string{"polls"} {
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-eupen", Name: name}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("deployment %s still there (%v)", name, err)
			}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-eupen", Name: name}, &corev1.Service{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("service %s still there (%v)", name, err)
			}
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
			return err
		}
		if _, still := appStatus(c, "polls"); still {
			return fmt.Errorf("polls still reported")
		}
		return nil
	})
	get(t, "commune-eupen/maps", &appsv1.Deployment{})
	intact(t, "commune-eupen/polls-notes", &corev1.ConfigMap{})
	intact(t, "commune-eupen/data-polls-0", &corev1.PersistentVolumeClaim{})
	cms := &corev1.ConfigMapList{}
	if err := k8s.List(ctx, cms, client.InNamespace("commune-eupen"), client.MatchingLabels{v1alpha1.LabelPartOf: "polls"}); err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) != 1 {
		t.Errorf("polls ConfigMaps left: %d, want only the one mutualis never applied", len(cms.Items))
	}
}

func TestBadApplicationsGetAClearConditionAndSpareTheOthers(t *testing.T) {
	ctx := context.Background()
	lb := webApp("kiosk", "nginxinc/nginx-unprivileged:1.26",
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"kiosk-public"},"spec":{"type":"LoadBalancer","ports":[{"port":443}]}}`)
	create(t, lb)
	create(t, webApp("forms", "nginxinc/nginx-unprivileged:1.26"))
	c := newCommune("malmedy", "63049", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "kiosk"}, {Name: "forms"}, {Name: "no-such-app"}}
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationInvalid))
	msg := message(c, v1alpha1.ConditionApplicationsReady)
	t.Logf("the user sees: %s", msg)
	if !strings.Contains(msg, "Service kiosk-public has type LoadBalancer") {
		t.Errorf("message %q should name the LoadBalancer", msg)
	}
	// the catalogue entry says it too
	eventually(t, wait, func() error {
		app := &v1alpha1.SharedApplication{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: "kiosk"}, app); err != nil {
			return err
		}
		c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionBaseValid)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "LoadBalancer") {
			return fmt.Errorf("BaseValid: %+v", c)
		}
		return nil
	})
	if err := conditionIs(c, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonApplicationInvalid)(); err != nil {
		t.Error(err)
	}
	get(t, "commune-malmedy/forms", &appsv1.Deployment{})
	// the other parts of the tenant go on: its backups are scheduled all the same
	eventually(t, wait, func() error { _, err := veleroObject("Schedule", "mutualis-commune-malmedy"); return err })
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-malmedy", Name: "kiosk"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("nothing of an invalid application may be applied (%v)", err)
	}
	missing, _ := appStatus(c, "no-such-app")
	if !strings.Contains(missing.Message, "SharedApplication no-such-app does not exist") {
		t.Errorf("missing application message %q", missing.Message)
	}

	// an undeclared parameter is the subscription's fault, said on the tenant
	patch(t, c, func() {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "forms", Parameters: map[string]string{"colour": "blue"}}}
	})
	eventually(t, wait, func() error {
		if err := conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationInvalid)(); err != nil {
			return err
		}
		if msg := message(c, v1alpha1.ConditionApplicationsReady); !strings.Contains(msg, `parameter "colour" is not declared`) {
			return fmt.Errorf("message %q", msg)
		}
		return nil
	})
	// the objects of the last good render stay
	get(t, "commune-malmedy/forms", &appsv1.Deployment{})
}

func TestDeletedSharedApplicationLeavesTenantsRunning(t *testing.T) {
	ctx := context.Background()
	app := webApp("minutes", "nginxinc/nginx-unprivileged:1.26")
	create(t, app)
	c := newCommune("stavelot", "63073", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "minutes"}}
	})
	create(t, c)
	markAvailable(t, "commune-stavelot", "minutes")
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionTrue, ""))
	if err := k8s.Delete(ctx, app); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationMissing))
	t.Logf("the user sees: %s", message(c, v1alpha1.ConditionApplicationsReady))
	consistently(t, time.Second, func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: "commune-stavelot", Name: "minutes"}, &appsv1.Deployment{})
	})
	if a, _ := appStatus(c, "minutes"); len(a.Resources) == 0 {
		t.Errorf("the inventory must survive a missing catalogue entry: %+v", a)
	}
}

func TestCPASUsesTheCommunesInstance(t *testing.T) {
	create(t, webApp("cloud", "nginxinc/nginx-unprivileged:1.26"))
	commune := newCommune("verviers", "63079", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "cloud"}}
	})
	create(t, commune)
	cpas := newCPAS("verviers", "verviers", func(c *v1alpha1.CPAS) { c.Spec.Synergy.SharedApplications = []string{"cloud"} })
	create(t, cpas)
	markAvailable(t, "commune-verviers", "cloud")
	eventually(t, wait, conditionIs(cpas, v1alpha1.ConditionApplicationsReady, metav1.ConditionTrue, ""))
	svc := &corev1.Service{}
	get(t, "cpas-verviers/cloud", svc)
	if svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != "cloud.commune-verviers.svc.cluster.local" {
		t.Errorf("synergy service: %s %s", svc.Spec.Type, svc.Spec.ExternalName)
	}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "cpas-verviers", Name: "cloud"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("a shared application has no copy of the workload in the CPAS (%v)", err)
	}

	// a CPAS cannot share what its commune does not run
	other := newCPAS("theux", "theux", func(c *v1alpha1.CPAS) { c.Spec.Synergy.SharedApplications = []string{"cloud"} })
	create(t, newCommune("theux", "63076"))
	create(t, other)
	eventually(t, wait, conditionIs(other, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationInvalid))
	t.Logf("the user sees: %s", message(other, v1alpha1.ConditionApplicationsReady))
	if c := meta.FindStatusCondition(other.Status.Conditions, v1alpha1.ConditionApplicationsReady); !strings.Contains(c.Message, "commune theux does not subscribe") {
		t.Errorf("message %q", c.Message)
	}
}

// catalogueCounts checks the tenant counts in a SharedApplication's status.
func catalogueCounts(name string, subscribed, updated, ready int32) func() error {
	return func() error {
		app := &v1alpha1.SharedApplication{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, app); err != nil {
			return err
		}
		st := app.Status
		if st.Subscribed != subscribed || st.Updated != updated || st.Ready != ready || st.ObservedGeneration != app.Generation {
			return fmt.Errorf("%s: subscribed %d updated %d ready %d (generation %d of %d); want %d %d %d",
				name, st.Subscribed, st.Updated, st.Ready, st.ObservedGeneration, app.Generation, subscribed, updated, ready)
		}
		return nil
	}
}

// Each bad base of the render tests, as a catalogue entry: its own condition says what is wrong,
// the tenant says it too, and the good application of the same tenant is deployed all the same.
func TestEveryBadBaseIsReportedAndSparesTheRest(t *testing.T) {
	ctx := context.Background()
	cases := map[string]string{
		"bad-clusterrolebinding.yaml": "ClusterRoleBinding everything is cluster-scoped",
		"bad-namespace.yaml":          "Namespace sneaky is not allowed",
		"bad-kube-system.yaml":        "sets namespace kube-system",
		"bad-networkpolicy.yaml":      "NetworkPolicy allow-all is not allowed",
		"bad-loadbalancer.yaml":       "Service public has type LoadBalancer",
		"bad-rolebinding.yaml":        "binds User /mayor",
		"bad-patch.yaml":              "kustomize build failed",
		"bad-replacement.yaml":        "fieldPath `data.no-such-parameter` is missing",
	}
	subs := []v1alpha1.ApplicationSubscription{{Name: "registry-office"}}
	create(t, webApp("registry-office", "nginxinc/nginx-unprivileged:1.26"))
	i := 0
	for file, want := range cases {
		data, err := os.ReadFile(filepath.Join("render", "testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		app := &v1alpha1.SharedApplication{}
		if err := yaml.Unmarshal(data, app); err != nil {
			t.Fatal(err)
		}
		app.Name = fmt.Sprintf("bad-%d", i)
		i++
		create(t, app)
		subs = append(subs, v1alpha1.ApplicationSubscription{Name: app.Name})
		eventually(t, wait, func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
				return err
			}
			c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionBaseValid)
			if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, want) {
				return fmt.Errorf("%s: BaseValid %+v, want False with %q", file, c, want)
			}
			return nil
		})
	}
	c := newCommune("gembloux", "92142", func(c *v1alpha1.Commune) { c.Spec.Applications = subs })
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationInvalid))
	msg := message(c, v1alpha1.ConditionApplicationsReady)
	for file, want := range cases {
		if !strings.Contains(msg, want) {
			t.Errorf("%s: the tenant's message lacks %q", file, want)
		}
	}
	get(t, "commune-gembloux/registry-office", &appsv1.Deployment{})
	if err := k8s.Get(ctx, client.ObjectKey{Name: "sneaky"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Namespace of a bad base was created (%v)", err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "everything"}, &rbacv1.ClusterRoleBinding{}); !apierrors.IsNotFound(err) {
		t.Errorf("a ClusterRoleBinding of a bad base was created (%v)", err)
	}
}

// heavyApp asks for more CPU than a tier S commune may use, unless its S size applies.
func heavyApp(name string, sizes ...v1alpha1.TierSize) *v1alpha1.SharedApplication {
	app := webApp(name, "nginxinc/nginx-unprivileged:1.26")
	app.Spec.Patches = []v1alpha1.Patch{{Target: &v1alpha1.Selector{Kind: "Deployment", Name: name},
		Patch: `[{"op": "add", "path": "/spec/template/spec/containers/0/resources", "value": {"requests": {"cpu": "1"}, "limits": {"cpu": "3"}}},
		         {"op": "add", "path": "/spec/replicas", "value": 3}]`}}
	app.Spec.Sizes = sizes
	return app
}

// Subscriptions that cannot fit the tenant's quota together are refused before anything is
// applied, with the figures; a larger tier lets them in. The catalogue entry says which tiers it
// fits, for a commune and a CPAS.
func TestSubscriptionsThatDoNotFitTheQuotaAreRefusedBeforeApplying(t *testing.T) {
	ctx := context.Background()
	create(t, heavyApp("geo"))
	// 3 replicas and one more during a rollout, 3 CPU of limits each: 12 CPU, tier S allows 8
	c := newCommune("cerfontaine", "93010", func(c *v1alpha1.Commune) { // 4,987 inhabitants: tier S
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "geo"}}
	})
	create(t, c)
	stalledSaying(t, c, v1alpha1.ReasonQuotaTooSmall, "limits.cpu 12 of 8")
	if err := conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonQuotaTooSmall)(); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-cerfontaine", Name: "geo"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Fatalf("nothing may be applied when the subscriptions do not fit (%v)", err)
	}
	eventually(t, wait, func() error {
		app := &v1alpha1.SharedApplication{}
		get(t, "geo", app)
		for _, fit := range app.Status.Tiers {
			if fit.Tier == "S" && !fit.Commune && !fit.CPAS && strings.Contains(fit.Message, "limits.cpu 12 of 8") {
				for _, big := range app.Status.Tiers {
					if big.Tier == "XXL" && big.Commune && big.CPAS {
						return nil
					}
				}
			}
		}
		return fmt.Errorf("tier fits %+v", app.Status.Tiers)
	})

	patch(t, c, func() { c.Spec.Tier = "XL" })
	eventually(t, wait, func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: "commune-cerfontaine", Name: "geo"}, &appsv1.Deployment{})
	})
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionStalled, metav1.ConditionFalse, ""))
}

// A size for the tier makes the same entry fit a village; a size for a tier the policy does not
// define is a clear error of the catalogue entry.
func TestSizesFitTheTierAndNameKnownTiers(t *testing.T) {
	small := v1alpha1.TierSize{Tier: "S", Patches: []v1alpha1.Patch{{Target: &v1alpha1.Selector{Kind: "Deployment", Name: "atlas"},
		Patch: `[{"op": "replace", "path": "/spec/replicas", "value": 1}]`}}}
	create(t, heavyApp("atlas", small))
	c := newCommune("viroinval", "93090", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "atlas"}}
	})
	create(t, c)
	eventually(t, wait, func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "commune-viroinval", Name: "atlas"}, d); err != nil {
			return err
		}
		if *d.Spec.Replicas != 1 {
			return fmt.Errorf("replicas %d, want the S size's 1", *d.Spec.Replicas)
		}
		return nil
	})

	bad := heavyApp("atlas-bad", v1alpha1.TierSize{Tier: "Village", Patches: small.Patches})
	create(t, bad)
	eventually(t, wait, func() error {
		get(t, "atlas-bad", bad)
		cond := meta.FindStatusCondition(bad.Status.Conditions, v1alpha1.ConditionBaseValid)
		if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != v1alpha1.ReasonUnknownTier || !strings.Contains(cond.Message, `tier "Village"`) {
			return fmt.Errorf("BaseValid %+v", cond)
		}
		t.Logf("the catalogue author sees: %s", cond.Message)
		return nil
	})

	// a size whose patch does not apply breaks that tier's render: an invalid base, not a tier
	broken := heavyApp("atlas-broken", v1alpha1.TierSize{Tier: "XL", Patches: []v1alpha1.Patch{{
		Target: &v1alpha1.Selector{Kind: "Deployment", Name: "atlas-broken"},
		Patch:  `[{"op": "replace", "path": "/spec/nothing/here", "value": 1}]`}}})
	create(t, broken)
	eventually(t, wait, func() error {
		get(t, "atlas-broken", broken)
		cond := meta.FindStatusCondition(broken.Status.Conditions, v1alpha1.ConditionBaseValid)
		if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != v1alpha1.ReasonInvalidBase || !strings.Contains(cond.Message, "the render for tier XL fails") {
			return fmt.Errorf("BaseValid %+v", cond)
		}
		t.Logf("the catalogue author sees: %s", cond.Message)
		return nil
	})
}
