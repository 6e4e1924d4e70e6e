package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// persona is someone of a commune or a CPAS, as kubectl --as and --as-group make the API server
// see them.
type persona struct{ user, group string }

// run runs kubectl (the plugin too, from the PATH) with the persona's identity.
func (p persona) run(args ...string) (stdout, stderr string, err error) {
	return p.runWithInput("", args...)
}

// runWithInput is run with what kubectl reads on its standard input (-f -).
func (p persona) runWithInput(stdin string, args ...string) (stdout, stderr string, err error) {
	as := []string{"--as=" + p.user}
	if p.group != "" {
		as = append(as, "--as-group="+p.group)
	}
	return kubectlWithInput(stdin, append(args, as...)...)
}

// The plugin serves a commune's and a CPAS's people with their own rights: status, audit and the
// GDPR record of their tenant work for its admins and viewers, read only what is theirs, and say
// what they could not check; what is not theirs is refused with a sentence that says why.
func TestTheCommunesPeopleUseThePluginWithTheirOwnRights(t *testing.T) {
	withPlugin(t)
	delib := sampleApplication(t, "iadelib")
	delib.Name = "verviers-delib" // an entry of this test's own: other tests create and delete the shipped ones
	create(t, delib)
	commune := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "verviers"}, Spec: v1alpha1.CommuneSpec{NIS: "63079",
		TenantSpec: v1alpha1.TenantSpec{
			Admins:       []rbacv1.Subject{{Kind: "Group", Name: "verviers-it", APIGroup: rbacv1.GroupName}},
			Viewers:      []rbacv1.Subject{{Kind: "User", Name: "echevin@verviers.be", APIGroup: rbacv1.GroupName}},
			Applications: []v1alpha1.ApplicationSubscription{{Name: delib.Name}},
		}}}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "verviers"}, Spec: v1alpha1.CPASSpec{CommuneRef: "verviers",
		TenantSpec: v1alpha1.TenantSpec{
			Admins:  []rbacv1.Subject{{Kind: "Group", Name: "cpas-verviers-it", APIGroup: rbacv1.GroupName}},
			Viewers: []rbacv1.Subject{{Kind: "User", Name: "president@cpas-verviers.be", APIGroup: rbacv1.GroupName}},
		},
		Synergy: v1alpha1.SynergySpec{SharedApplications: []string{delib.Name}}}}
	create(t, commune)
	create(t, cpas)
	eventually(t, 3*time.Minute, ready(commune))
	eventually(t, 3*time.Minute, ready(cpas))

	communeAdmin := persona{"it@verviers.be", "verviers-it"}
	communeViewer := persona{"echevin@verviers.be", ""}
	cpasAdmin := persona{"it@cpas-verviers.be", "cpas-verviers-it"}
	cpasViewer := persona{"president@cpas-verviers.be", ""}

	audited := func(p persona, tenant string) auditReport {
		t.Helper()
		out, errOut, err := p.run("mutualis", "audit", tenant, "-o", "json")
		if err != nil {
			t.Fatalf("%s audits %s: %v\n%s", p.user, tenant, err, errOut)
		}
		var reports []auditReport
		if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 1 {
			t.Fatalf("%s audits %s: %v\n%s", p.user, tenant, err, out)
		}
		return reports[0]
	}
	for _, tc := range []struct {
		who      persona
		tenant   string
		kind     string
		viewer   bool
		ownAlone bool // the name is also the partner's, which the persona may not read
	}{
		{communeAdmin, "verviers", "Commune", false, true},
		{communeViewer, "commune/verviers", "Commune", true, false},
		{cpasAdmin, "cpas/verviers", "CPAS", false, false},
		{cpasViewer, "verviers", "CPAS", true, true},
	} {
		t.Run(tc.who.user, func(t *testing.T) {
			// status of their tenant, by name; by the bare name, only the one they may read
			out, errOut, err := tc.who.run("mutualis", "status", tc.tenant)
			if err != nil || !strings.Contains(out, tc.kind+" ") || !strings.Contains(out, "Prêt") || !strings.Contains(errOut, "Tenants : 1 ; prêts : 1") {
				t.Errorf("status %s: %v\n%s%s", tc.tenant, err, out, errOut)
			}
			// every tenant is the cell's view: refused, with the way out
			if _, errOut, err := tc.who.run("mutualis", "status"); err == nil || !strings.Contains(errOut, "name yours") {
				t.Errorf("status of every tenant: %v\n%s", err, errOut)
			}
			// the audit of their tenant: what their rights do not reach is named, not reported clean
			r := audited(tc.who, tc.tenant)
			if r.Kind != tc.kind || r.Name != "verviers" {
				t.Errorf("audited %s/%s", r.Kind, r.Name)
			}
			for _, left := range []string{"TenantReachable", "LicenceExpired"} {
				if !slices.Contains(r.NotChecked, left) {
					t.Errorf("%s is not said to be left out: %v", left, r.NotChecked)
				}
			}
			// they read the cell's policy by name, so the registries' check is theirs too
			if slices.Contains(r.NotChecked, "RegistryNotAllowed") {
				t.Errorf("RegistryNotAllowed is left out although the tenant's people read the TenancyPolicy: %v", r.NotChecked)
			}
			// a viewer reads neither RoleBindings nor Secrets: the checks that need them are named
			for _, needsMore := range []string{"RoleBindingUnmanaged", "ExcludedFromBackup"} {
				if viewerLeftOut := slices.Contains(r.NotChecked, needsMore); viewerLeftOut != tc.viewer {
					t.Errorf("%s left out: %v, for a viewer: %v", needsMore, viewerLeftOut, tc.viewer)
				}
			}
			for _, f := range r.Findings {
				if slices.Contains(r.NotChecked, f.Check) {
					t.Errorf("a finding of a check left out: %+v", f)
				}
			}
			// the record of processing activities, with the catalogue entry its people may read
			out, errOut, err = tc.who.run("mutualis", "report", "gdpr", strings.ToLower(tc.kind)+"/verviers")
			if err != nil || !strings.Contains(out, "Registre des activités de traitement") || !strings.Contains(out, "iA.Delib") {
				t.Errorf("report gdpr: %v\n%s%s", err, out, errOut)
			}
			// kubectl itself: their own object by name
			if out, errOut, err := tc.who.run("get", strings.ToLower(tc.kind), "verviers", "-o", "name"); err != nil {
				t.Errorf("kubectl get %s verviers: %v\n%s%s", tc.kind, err, out, errOut)
			}
		})
	}

	// a commune's people do not read their CPAS, nor the reverse: a qualified name says so
	if _, errOut, err := communeAdmin.run("mutualis", "status", "cpas/verviers"); err == nil || !strings.Contains(errOut, "your rights do not let you read CPAS verviers") {
		t.Errorf("the commune's admin on its CPAS: %v\n%s", err, errOut)
	}
	if _, errOut, err := cpasAdmin.run("mutualis", "audit", "commune/verviers"); err == nil || !strings.Contains(errOut, "your rights do not let you read Commune verviers") {
		t.Errorf("the CPAS's admin on its commune: %v\n%s", err, errOut)
	}
	// the CPAS knows its partner from its namespace, and may not list the commune's Services
	if r := audited(cpasAdmin, "cpas/verviers"); !slices.Contains(r.NotChecked, "PartnerPortOpen") {
		t.Errorf("the partner's check is not said to be left out: %v", r.NotChecked)
	}
	// the cell's reports stay the cell's
	if _, errOut, err := communeAdmin.run("mutualis", "report"); err == nil || !strings.Contains(errOut, "the report is the cell's") {
		t.Errorf("report as a commune's admin: %v\n%s", err, errOut)
	}
	// and a stranger reads nothing
	if _, errOut, err := (persona{"someone@elsewhere.be", "elsewhere-it"}).run("mutualis", "audit", "verviers"); err == nil || !strings.Contains(errOut, "your rights do not let you read Commune verviers nor CPAS verviers") {
		t.Errorf("a stranger's audit: %v\n%s", err, errOut)
	}
}
