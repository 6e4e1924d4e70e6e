package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/billing"
)

func samplePolicy(t *testing.T) *v1alpha1.TenancyPolicy {
	t.Helper()
	data, err := os.ReadFile("../../config/samples/platform/tenancypolicy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := &v1alpha1.TenancyPolicy{}
	if err := yaml.UnmarshalStrict(data, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// The report bills a tier's participation, each own subscription and each seat granted, with the
// shipped price list; a CPAS pays nothing for what it uses through synergy.
func TestReportBillsTierApplicationsAndSeats(t *testing.T) {
	liege := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CommuneSpec{NIS: "62063", TenantSpec: v1alpha1.TenantSpec{
		Applications: []v1alpha1.ApplicationSubscription{{Name: "nextcloud"}, {Name: "iadelib"}, {Name: "esignature"}}}}}
	liege.Status.Tier = "XXL"
	liege.Status.Licences = []v1alpha1.LicenceStatus{{Application: "esignature", Requested: 30, Granted: 20}}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CPASSpec{CommuneRef: "liege",
		TenantSpec: v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{{Name: "iadelib"}}},
		Synergy:    v1alpha1.SynergySpec{SharedApplications: []string{"nextcloud"}}}}
	cpas.Status.Tier = "XXL"
	fresh := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "anthisnes"}}

	rep, err := bill(samplePolicy(t), []v1alpha1.Tenant{cpas, fresh, liege})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.write(&out, "csv"); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v", rows)
	want := [][]string{
		{"Commune", "anthisnes", "-", "-", "-", "-", "-", "0.00", "0.00", "0.00", "0.00"},
		// 12000 for XXL, 600 + 900 + 0 for the subscriptions, 20 seats at 14.50
		{"Commune", "liege", "XXL", "128", "256Gi", "esignature iadelib nextcloud", "esignature 20", "12000.00", "1500.00", "290.00", "13790.00"},
		// half the quota, 6000 for a CPAS of XXL, iA.Delib only: Nextcloud is the commune's
		{"CPAS", "liege", "XXL", "64", "128Gi", "iadelib", "-", "6000.00", "900.00", "0.00", "6900.00"},
		{"total", "3 tenants", "", "", "", "", "", "", "", "", "20690.00"},
	}
	if len(rows) != len(want)+1 || rows[0][10] != "total (EUR)" {
		t.Fatalf("rows %v", rows)
	}
	for i, w := range want {
		if strings.Join(rows[i+1], ",") != strings.Join(w, ",") {
			t.Errorf("row %d\n got %v\nwant %v", i+1, rows[i+1], w)
		}
	}
	if len(rep.warnings) != 1 || !strings.Contains(rep.warnings[0], "anthisnes has no tier yet") {
		t.Errorf("warnings %v", rep.warnings)
	}

	out.Reset()
	if err := rep.write(&out, "markdown"); err != nil || !strings.Contains(out.String(), "| Commune | liege | XXL |") || !strings.Contains(out.String(), "| total | 3 tenants |") {
		t.Errorf("markdown (%v):\n%s", err, out.String())
	}
	out.Reset()
	if err := rep.write(&out, "table"); err != nil || !strings.Contains(out.String(), "13790.00") {
		t.Errorf("table (%v):\n%s", err, out.String())
	}
}

func TestReportNeedsAPriceList(t *testing.T) {
	if _, err := bill(&v1alpha1.TenancyPolicy{}, nil); err == nil || !strings.Contains(err.Error(), "no spec.pricing") {
		t.Errorf("err %v", err)
	}
	for amount, want := range map[v1alpha1.Amount]billing.Cents{"12": 1200, "12.5": 1250, "0.05": 5, "": 0} {
		if got, err := billing.ParseAmount(amount); err != nil || got != want {
			t.Errorf("billing.ParseAmount(%q) = %v, %v; want %v", amount, got, err, want)
		}
	}
	if _, err := billing.ParseAmount("1.234"); err == nil {
		t.Error("three decimals accepted")
	}
}
