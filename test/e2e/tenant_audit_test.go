package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/history"
)

// auditReport is the part of kubectl mutualis audit -o json that the test reads.
type auditReport struct {
	Kind   string         `json:"kind"`
	Name   string         `json:"name"`
	Counts map[string]int `json:"counts"`
	// NotChecked are the checks the reader's rights left out.
	NotChecked []string `json:"notChecked"`
	Findings   []struct {
		Check    string `json:"check"`
		Severity string `json:"severity"`
		Object   string `json:"object"`
		Field    string `json:"field"`
		Problem  string `json:"problem"`
	} `json:"findings"`
}

// The audit on the local cluster: two communes, one whose tenant admin runs a workload by the book,
// one whose tenant admin opens the namespace, publishes without TLS and runs an unpinned image
// from a registry the policy does not list, and into which a platform engineer adds a role binding
// and edits a managed network policy. The operator's summary and AuditClean, the plugin's audit,
// the barometer and the record of processing activities all say so; Ready does not change.
//
// A cell without Velero is a high finding of every tenant (nothing is backed up), so the test
// installs Velero's CRDs as the fault tests do; its file sorts after backup_test.go, whose first
// check is a cluster without them.
func TestAuditOnTheCluster(t *testing.T) {
	ctx := context.Background()
	withPlugin(t)
	kubectl(t, "apply", "--server-side", "-f", filepath.Join(root, "bin", "velero-crds")+"/")
	kubectl(t, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
	_ = k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "velero"}})
	policy := &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.TenancyPolicyName},
		Spec: v1alpha1.TenancyPolicySpec{AllowedRegistries: []string{"docker.io/nginxinc", "registry.k8s.io"},
			Hosting: &v1alpha1.HostingSpec{Operator: "CRTPL", Country: "BE", Sites: []string{"Namur"}, BackupSites: []string{"Liège"}}}}
	create(t, policy)
	t.Cleanup(func() { _ = k8s.Delete(ctx, policy) })

	newTenant := func(name, nis string) *v1alpha1.Commune {
		c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.CommuneSpec{NIS: nis}}
		c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: name + "-it", APIGroup: rbacv1.GroupName}}
		c.Spec.Domains = []v1alpha1.Domain{v1alpha1.Domain(name + ".be")}
		create(t, c)
		return c
	}
	clean, hostile := newTenant("braine-le-chateau", "25015"), newTenant("chaumont-gistoux", "25018")
	for _, c := range []*v1alpha1.Commune{clean, hostile} {
		eventually(t, 2*time.Minute, ready(c))
		// mutualis looks for Velero again within a minute
		eventually(t, 2*time.Minute, hasCondition(c, v1alpha1.ConditionBackupReady, metav1.ConditionTrue, v1alpha1.ReasonBackupPending, ""))
	}
	asAdmin := func(c *v1alpha1.Commune, manifest string) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "obj.json")
		if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		kubectl(t, "apply", "-n", c.TenantNamespace(), "-f", file, "--as=it@"+c.Name+".be", "--as-group="+c.Name+"-it")
	}
	deployment := func(name, image string, readOnlyRoot bool) string {
		return fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q},"spec":{"selector":{"matchLabels":{"app":%q}},
			"template":{"metadata":{"labels":{"app":%q}},"spec":{"securityContext":{"runAsNonRoot":true,"runAsUser":101,"seccompProfile":{"type":"RuntimeDefault"}},
			"containers":[{"name":"web","image":%q,"resources":{"limits":{"cpu":"100m","memory":"64Mi"}},
			"securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":%v,"capabilities":{"drop":["ALL"]}}}]}}}}`,
			name, name, name, image, readOnlyRoot)
	}
	ingress := func(host string, tls bool) string {
		spec := fmt.Sprintf(`"rules":[{"host":%q,"http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]`, host)
		if tls {
			spec += fmt.Sprintf(`,"tls":[{"hosts":[%q],"secretName":"web-tls"}]`, host)
		}
		return `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"spec":{` + spec + `}}`
	}

	// by the book
	asAdmin(clean, deployment("guichet", "docker.io/nginxinc/nginx-unprivileged:1.26", true))
	asAdmin(clean, ingress("braine-le-chateau.be", true))
	// against the rules, as far as the tenant admin may go (Pod Security refuses the rest)
	asAdmin(hostile, deployment("bricolage", "nginx", false))
	asAdmin(hostile, ingress("chaumont-gistoux.be", false))
	asAdmin(hostile, `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"open-door"},
		"spec":{"podSelector":{},"policyTypes":["Ingress"],"ingress":[{"from":[{"namespaceSelector":{}}]}]}}`)
	// and a platform engineer's shortcuts (a binding of the tenant's own people to a role the
	// contract does not give them: admission lets it name only the people of the spec)
	create(t, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "helpdesk", Namespace: hostile.TenantNamespace()},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: hostile.Name + "-it"}}})
	// a field that mutualis sets it takes back at once (the reconciler sees the drift); a rule added
	// where mutualis sets none stays, and only the audit sees it: the tenant has no exposed port, so
	// its ingress-controller policy has no rule of mutualis's
	kubectl(t, "patch", "networkpolicy", "mutualis-ingress-controller", "-n", hostile.TenantNamespace(), "--type=merge", "--field-manager=helpdesk",
		"-p", `{"spec":{"ingress":[{"from":[{"namespaceSelector":{}}],"ports":[{"port":5432}]}]}}`)

	for _, c := range []*v1alpha1.Commune{clean, hostile} {
		eventually(t, time.Minute, func() error {
			var pods corev1.PodList
			if err := k8s.List(ctx, &pods, client.InNamespace(c.TenantNamespace())); err != nil || len(pods.Items) == 0 {
				return fmt.Errorf("no pod yet in %s (%v)", c.TenantNamespace(), err)
			}
			return nil
		})
		// the next audit comes with the next generation
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
			t.Fatal(err)
		}
		before := c.DeepCopy()
		c.Spec.DisplayName = "Commune de " + c.Name
		if err := k8s.Patch(ctx, c, client.MergeFrom(before)); err != nil {
			t.Fatal(err)
		}
	}
	audited := func(c *v1alpha1.Commune) func() error {
		return func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
				return err
			}
			if a := c.Status.Audit; a == nil || a.ObservedGeneration != c.Generation {
				return fmt.Errorf("%s not audited at generation %d: %+v", c.Name, c.Generation, a)
			}
			return nil
		}
	}
	eventually(t, time.Minute, audited(clean))
	eventually(t, time.Minute, audited(hostile))
	eventually(t, time.Minute, hasCondition(clean, v1alpha1.ConditionAuditClean, metav1.ConditionTrue, v1alpha1.ReasonNoHighFinding, ""))
	eventually(t, time.Minute, hasCondition(hostile, v1alpha1.ConditionAuditClean, metav1.ConditionFalse, v1alpha1.ReasonHighFindings, "kubectl mutualis audit chaumont-gistoux"))
	if a := clean.Status.Audit; a.High+a.Medium+a.Low != 0 || a.Info < 1 {
		t.Errorf("the clean tenant's summary: %+v", a)
	}
	if a := hostile.Status.Audit; a.High < 3 || a.Medium < 4 || a.Low < 1 {
		t.Errorf("the hostile tenant's summary: %+v", a)
	}
	if err := ready(hostile)(); err != nil {
		t.Errorf("findings made the tenant not Ready: %v", err)
	}

	// the plugin's audit, live, says what and where
	var reports []auditReport
	if err := json.Unmarshal([]byte(kubectl(t, "mutualis", "audit", "braine-le-chateau", "commune/chaumont-gistoux", "-o", "json", "--lang", "en")), &reports); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 2 {
		t.Fatalf("%d reports for two tenants", len(reports))
	}
	for _, f := range reports[0].Findings {
		if f.Severity != "info" || f.Check != "AccessReview" {
			t.Errorf("the clean tenant: %+v", f)
		}
	}
	want := map[string]string{
		"TenantReachable":        "",
		"NetworkPolicyUnmanaged": "NetworkPolicy/open-door",
		"NetworkPolicyModified":  "NetworkPolicy/mutualis-ingress-controller",
		"IngressWithoutTLS":      "Ingress/web",
		"MutableImageTag":        "Deployment/bricolage",
		"RegistryNotAllowed":     "Deployment/bricolage",
		"WritableRootFilesystem": "Deployment/bricolage",
		"RoleBindingUnmanaged":   "RoleBinding/helpdesk",
		"AccessReview":           "RoleBinding/helpdesk",
	}
	for _, f := range reports[1].Findings {
		if object, ok := want[f.Check]; ok && (object == "" || object == f.Object) {
			delete(want, f.Check)
		}
	}
	if len(want) > 0 {
		t.Errorf("the hostile tenant's audit lacks %v: %+v", want, reports[1].Findings)
	}
	if reports[1].Counts["high"] != int(hostile.Status.Audit.High) {
		t.Errorf("the plugin found %d high, the operator %d", reports[1].Counts["high"], hostile.Status.Audit.High)
	}
	if out := kubectl(t, "mutualis", "audit", "chaumont-gistoux"); !strings.Contains(out, "l'hôte chaumont-gistoux.be est publié sans TLS") {
		t.Errorf("the audit in French:\n%s", out)
	}

	// the barometer counts them with the rest of the cell
	barometer := kubectl(t, "mutualis", "report", "barometer", "-o", "csv")
	var total []string
	for _, line := range strings.Split(barometer, "\n") {
		if strings.HasPrefix(line, "total,cell,") {
			total = strings.Split(line, ",")
		}
	}
	if len(total) < 9 || total[6] == "0" {
		t.Errorf("the barometer's total row %v:\n%s", total, barometer)
	}
	// and its trend, read from the records of service the operator keeps in the namespaces, has
	// this week's findings of the hostile tenant
	year, week := time.Now().In(history.Brussels).ISOWeek()
	thisWeek := fmt.Sprintf("total,cell,%d-W%02d,", year, week)
	eventually(t, time.Minute, func() error {
		trend := kubectl(t, "mutualis", "report", "barometer", "--trend", "-o", "csv")
		for _, line := range strings.Split(trend, "\n") {
			if cells := strings.Split(line, ","); strings.HasPrefix(line, thisWeek) {
				if tenants, _ := strconv.Atoi(cells[3]); tenants < 2 {
					return fmt.Errorf("this week's trend counts %d records:\n%s", tenants, trend)
				}
				if high, _ := strconv.Atoi(cells[4]); high < int(hostile.Status.Audit.High) {
					return fmt.Errorf("this week's trend has %d high findings, the hostile tenant alone %d:\n%s", high, hostile.Status.Audit.High, trend)
				}
				return nil
			}
		}
		return fmt.Errorf("the trend has no row %s:\n%s", thisWeek, trend)
	})
	record := kubectl(t, "mutualis", "report", "gdpr", "commune/braine-le-chateau")
	if !strings.Contains(record, "Registre des activités de traitement") || !strings.Contains(record, "Commune de braine-le-chateau (Commune/braine-le-chateau), INS 25015") {
		t.Errorf("the record of processing activities:\n%s", record)
	}
	// the commune's own people write the same record, with where their data lives from the cell's
	// policy, which their rights let them read by name
	record, errOut, err := kubectlSplit("mutualis", "report", "gdpr", "commune/braine-le-chateau", "--as=it@braine-le-chateau.be", "--as-group=braine-le-chateau-it")
	if err != nil || !strings.Contains(record, "**Localisation des données** : hébergement par CRTPL, pays BE, sites : Namur ; sauvegardes : Liège (pays BE)") ||
		strings.Contains(errOut, "TenancyPolicy") || !strings.Contains(errOut, "spec.contacts.dpo") {
		t.Errorf("the tenant admin's record of processing activities: %v\n%s%s", err, record, errOut)
	}
	// the cell's own record as their processor names every tenant; a commune's people may not write it
	processor := kubectl(t, "mutualis", "report", "gdpr", "--processor")
	if !strings.Contains(processor, "Registre des activités de traitement du sous-traitant") || !strings.Contains(processor, "(Commune/braine-le-chateau)") ||
		!strings.Contains(processor, "(Commune/chaumont-gistoux)") {
		t.Errorf("the processor's record:\n%s", processor)
	}
	if _, errOut, err := kubectlSplit("mutualis", "report", "gdpr", "--processor", "--as=it@braine-le-chateau.be", "--as-group=braine-le-chateau-it"); err == nil ||
		!strings.Contains(errOut, "the processor's record is the cell's") {
		t.Errorf("the processor's record written by a tenant admin: %v\n%s", err, errOut)
	}
	unknown := exec.Command(filepath.Join(root, "bin", "kubectl"), "mutualis", "audit", "nowhere")
	unknown.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	if out, err := unknown.CombinedOutput(); err == nil ||
		!strings.Contains(string(out), `no tenant "nowhere"`) {
		t.Errorf("an unknown tenant: err=%v\n%s", err, out)
	}
}
