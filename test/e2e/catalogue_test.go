package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// sampleApplication reads a SharedApplication of config/samples/catalog.
func sampleApplication(t *testing.T, name string) *v1alpha1.SharedApplication {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "config", "samples", "catalog", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, _, _ := strings.Cut(string(data), "\n---\n")
	app := &v1alpha1.SharedApplication{}
	if err := yaml.UnmarshalStrict([]byte(doc), app); err != nil {
		t.Fatal(err)
	}
	return app
}

// The shipped catalogue with the shipped policy (Pod Security restricted for every tenant) on a real control plane: a tier S commune and its CPAS, and a tier XXL commune and
// its CPAS, with the standard bundle (files, council meetings, visio); Jitsi runs once for all, at
// baseline in its own namespace, and both communes reach it. Unsubscribing one cuts its access
// only.
func TestCatalogueOnTheCluster(t *testing.T) {
	ctx := context.Background()
	// the shipped policy: Pod Security restricted, the cell's base domain
	kubectl(t, "apply", "--server-side", "-f", filepath.Join(root, "config", "samples", "platform", "tenancypolicy.yaml"))
	defer kubectl(t, "delete", "-f", filepath.Join(root, "config", "samples", "platform", "tenancypolicy.yaml"))
	// the tenants' volume claims bind through the local cluster's default StorageClass (a volume
	// provisioned for each), as on a real cluster; the entries are applied from their files as a
	// GitOps engine applies them, so that no field differs from what the repository says (a later
	// server-side apply of the repository must meet no conflict)
	for _, name := range []string{"nextcloud", "jitsi", "iadelib"} {
		kubectl(t, "apply", "--server-side", "-f", filepath.Join(root, "config", "samples", "catalog", name+".yaml"))
	}
	bundle := func(domain string) []v1alpha1.ApplicationSubscription {
		return []v1alpha1.ApplicationSubscription{
			{Name: "nextcloud", Parameters: map[string]string{"domain": "cloud." + domain}},
			{Name: "iadelib"},
			{Name: "jitsi"},
		}
	}
	namur := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.CommuneSpec{NIS: "92094",
		TenantSpec: v1alpha1.TenantSpec{Applications: bundle("namur.be")}}}
	floreffe := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "floreffe"}, Spec: v1alpha1.CommuneSpec{NIS: "92045",
		TenantSpec: v1alpha1.TenantSpec{Applications: bundle("floreffe.be")}}}
	cpasFor := func(commune string, apps ...v1alpha1.ApplicationSubscription) *v1alpha1.CPAS {
		return &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: commune}, Spec: v1alpha1.CPASSpec{CommuneRef: commune,
			TenantSpec: v1alpha1.TenantSpec{Applications: apps},
			Synergy:    v1alpha1.SynergySpec{SharedApplications: []string{"nextcloud"}}}}
	}
	delib := v1alpha1.ApplicationSubscription{Name: "iadelib"}
	// the CPAS of Namur joined in September 2021 and holds its council's sittings on the shared
	// Jitsi since October: the remote-meetings funding line of the shipped policy counts it
	cpasNamur := cpasFor("namur", delib, v1alpha1.ApplicationSubscription{Name: "jitsi", Since: "2021-10-01"})
	cpasNamur.Spec.JoinedOn, cpasNamur.Spec.Councillors = "2021-09-01", ptr.To[int32](13)
	cpasNamur.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "cpas-namur-it", APIGroup: rbacv1.GroupName}}
	tenants := []v1alpha1.Tenant{namur, cpasNamur, floreffe, cpasFor("floreffe", delib)}
	for _, tn := range tenants {
		create(t, tn)
	}
	for _, tn := range tenants {
		eventually(t, 3*time.Minute, ready(tn))
	}
	if floreffe.Status.Tier != "S" || namur.Status.Tier != "XXL" {
		t.Errorf("tiers: floreffe %s, namur %s", floreffe.Status.Tier, namur.Status.Tier)
	}
	// Jitsi runs once, at baseline, in its own namespace; no tenant runs a copy
	const instance = "mutualis-app-jitsi"
	ns := &corev1.Namespace{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: instance}, ns); err != nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
		t.Fatalf("instance namespace: %v %v", err, ns.Labels)
	}
	for _, name := range []string{"jitsi-web", "jitsi-prosody", "jitsi-jicofo", "jitsi-jvb"} {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: instance, Name: name}, d); err != nil || d.Status.AvailableReplicas < 1 {
			t.Errorf("deployment %s of the shared instance: %v, %d available", name, err, d.Status.AvailableReplicas)
		}
		for _, tenantNS := range []string{"commune-namur", "commune-floreffe"} {
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: tenantNS, Name: name}, &appsv1.Deployment{}); err == nil {
				t.Errorf("%s runs its own copy of %s", tenantNS, name)
			}
		}
	}
	for _, tenantNS := range []string{"commune-namur", "commune-floreffe"} {
		svc := &corev1.Service{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: tenantNS, Name: "jitsi-web"}, svc); err != nil || svc.Spec.ExternalName != "jitsi-web."+instance+".svc.cluster.local" {
			t.Errorf("%s: the Service to the shared Jitsi: %v %+v", tenantNS, err, svc.Spec)
		}
	}
	// the tenants' own pods all run under restricted
	for _, tenantNS := range []string{"commune-namur", "cpas-namur", "commune-floreffe", "cpas-floreffe"} {
		if err := k8s.Get(ctx, client.ObjectKey{Name: tenantNS}, ns); err != nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("%s: %v %v", tenantNS, err, ns.Labels)
		}
	}
	sts := &appsv1.StatefulSet{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-floreffe", Name: "nextcloud-postgres"}, sts); err != nil || sts.Status.ReadyReplicas != 1 {
		t.Errorf("postgres of the tier S commune: %v, %d ready", err, sts.Status.ReadyReplicas)
	}
	// the audit of the demo's bundle cries no wolf: reaching the shared Jitsi the tenants subscribe
	// to, on its ports, is the subscription, and nothing else of the shipped catalogue is a finding
	// of the network
	withPlugin(t)
	var reports []auditReport
	if err := json.Unmarshal([]byte(kubectl(t, "mutualis", "audit", "namur", "floreffe", "cpas/namur", "-o", "json", "--lang", "en")), &reports); err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		for _, f := range r.Findings {
			switch f.Check {
			case "ReachesTenant", "TenantReachable", "PartnerPortOpen":
				t.Errorf("%s %s: a finding of the shipped catalogue: %+v", r.Kind, r.Name, f)
			}
		}
	}
	out := kubectl(t, "get", "communes,cpas")
	t.Logf("kubectl get communes,cpas:\n%s", out)
	out = kubectl(t, "get", "sharedapplications")
	t.Logf("kubectl get sharedapplications:\n%s", out)
	// what the cell bills them, from the shipped price list: tier S 1800 and XXL 12000 for a
	// commune, plus 600 + 900 + 240 for their three applications; a CPAS pays for iA.Delib only
	withPlugin(t)
	report := kubectl(t, "mutualis", "report", "-o", "csv")
	t.Logf("kubectl mutualis report -o csv:\n%s", report)
	for _, want := range []string{"Commune,floreffe,S,", ",1800.00,1740.00,0.00,3540.00", "Commune,namur,XXL,", ",12000.00,1740.00,0.00,13740.00", "CPAS,floreffe,S,", ",900.00,900.00,0.00,1800.00"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q", want)
		}
	}

	// what the Region's lines pay of it: the remote meetings of the CPAS of Namur (Jitsi at 240 a
	// year: 92 days of 2021, all 2022; within its 13 councillors' share of 2 M€ over 2,499), and the
	// plan for local IT (its tier's 6,000 and iA.Delib's 900 from September 2021 to 2023, at 75 %)
	funding := kubectl(t, "mutualis", "report", "funding", "--line", "reunions-a-distance", "-o", "csv")
	t.Logf("kubectl mutualis report funding --line reunions-a-distance -o csv:\n%s", funding)
	if want := "CPAS,namur,CPAS de Namur,,92094,XXL,111432,13,457,300.49,100,300.49,,10404.16,300.49,rate,0.00"; !strings.Contains(funding, want) {
		t.Errorf("the remote-meetings report lacks %q", want)
	}
	if strings.Contains(funding, "Commune,") {
		t.Errorf("the remote-meetings line funds CPAS only")
	}
	funding = kubectl(t, "mutualis", "report", "funding", "--line", "informatique-locale", "-o", "csv")
	if want := "CPAS,namur,CPAS de Namur,,92094,XXL,111432,13,852,16106.30,75,12079.72,12500.00,,12079.72,rate,4026.58"; !strings.Contains(funding, want) {
		t.Errorf("the local-IT report lacks %q:\n%s", want, funding)
	}
	// the CPAS's own IT people write their justification annex, in French, with their own rights
	cpasAdmin := persona{"it@cpas-namur.be", "cpas-namur-it"}
	annex, errOut, err := cpasAdmin.run("mutualis", "report", "funding", "--line", "reunions-a-distance", "cpas/namur", "-o", "annex")
	if err != nil {
		t.Fatalf("the CPAS's annex: %v: %s", err, errOut)
	}
	for _, want := range []string{"# Annexe au rapport justificatif", "| CPAS de Namur (CPAS/namur) | - | 457 |", "300,49", "| Abonnement à jitsi | remote-meetings | 01/10/2021 |"} {
		if !strings.Contains(annex, want) {
			t.Errorf("the CPAS's annex does not say %q:\n%s", want, annex)
		}
	}
	if _, errOut, err := cpasAdmin.run("mutualis", "report", "funding", "--line", "reunions-a-distance", "commune/namur"); err == nil || !strings.Contains(errOut, "your rights do not let you read Commune namur") {
		t.Errorf("the CPAS's people reported on their commune: %v: %s", err, errOut)
	}

	// floreffe gives up visio: its access goes, namur and its CPAS keep it, the instance stays as it was
	web := &appsv1.Deployment{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: instance, Name: "jitsi-web"}, web); err != nil {
		t.Fatal(err)
	}
	base := floreffe.DeepCopy()
	floreffe.Spec.Applications = bundle("floreffe.be")[:2]
	if err := k8s.Patch(ctx, floreffe, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, gone(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "commune-floreffe", Name: "jitsi-web"}}))
	eventually(t, time.Minute, ready(floreffe))
	if err := ready(namur)(); err != nil {
		t.Error(err)
	}
	after := &appsv1.Deployment{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: instance, Name: "jitsi-web"}, after); err != nil || after.UID != web.UID {
		t.Errorf("the shared instance was touched by one tenant leaving: %v", err)
	}
	eventually(t, time.Minute, func() error {
		app := &v1alpha1.SharedApplication{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: "jitsi"}, app); err != nil {
			return err
		}
		// namur and its CPAS remain
		if app.Status.Instance == nil || app.Status.Instance.Subscribers != 2 || !app.Status.Instance.Ready {
			return fmt.Errorf("jitsi instance status %+v", app.Status.Instance)
		}
		return nil
	})

	// public sittings: namur's council goes live on its channel of the cell's PeerTube, which runs
	// once at baseline with the secrets the operator generated, and namur reaches it by its Service
	kubectl(t, "apply", "--server-side", "-f", filepath.Join(root, "config", "samples", "catalog", "peertube.yaml"))
	get := func(obj client.Object, key client.ObjectKey) error { return k8s.Get(ctx, key, obj) }
	if err := get(namur, client.ObjectKeyFromObject(namur)); err != nil {
		t.Fatal(err)
	}
	base = namur.DeepCopy()
	namur.Spec.Applications = append(namur.Spec.Applications, v1alpha1.ApplicationSubscription{Name: "peertube"})
	if err := k8s.Patch(ctx, namur, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	const broadcast = "mutualis-app-peertube"
	// the instance comes with the first subscriber, after the catalogue's batching delay
	eventually(t, 3*time.Minute, func() error {
		if err := get(ns, client.ObjectKey{Name: broadcast}); err != nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
			return fmt.Errorf("the broadcast's namespace: %v %v", err, ns.Labels)
		}
		peertube := &appsv1.Deployment{}
		if err := get(peertube, client.ObjectKey{Namespace: broadcast, Name: "peertube"}); err != nil || peertube.Status.AvailableReplicas < 1 {
			return fmt.Errorf("PeerTube: %v, %d available", err, peertube.Status.AvailableReplicas)
		}
		credentials := &corev1.Secret{}
		if err := get(credentials, client.ObjectKey{Namespace: broadcast, Name: "peertube-credentials"}); err != nil ||
			len(credentials.Data["peertube-secret"]) == 0 || len(credentials.Data["postgres-password"]) == 0 {
			return fmt.Errorf("PeerTube's generated secrets: %v %v", err, slices.Collect(maps.Keys(credentials.Data)))
		}
		svc := &corev1.Service{}
		if err := get(svc, client.ObjectKey{Namespace: "commune-namur", Name: "peertube"}); err != nil || svc.Spec.ExternalName != "peertube."+broadcast+".svc.cluster.local" {
			return fmt.Errorf("namur's Service to the broadcast: %v %+v", err, svc.Spec)
		}
		return ready(namur)()
	})
}
