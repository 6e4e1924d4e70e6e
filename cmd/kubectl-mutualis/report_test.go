package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
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

// samplePool is the LicencePool of the shipped catalogue, whose procurement prices the seats.
func samplePool(t *testing.T) v1alpha1.LicencePool {
	t.Helper()
	data, err := os.ReadFile("../../config/samples/catalog/esignature.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, doc, _ := strings.Cut(string(data), "\n---\n")
	var pool v1alpha1.LicencePool
	if err := yaml.UnmarshalStrict([]byte(doc), &pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

// The report bills a tier's participation, each own subscription and each seat granted, with the
// shipped price list and the seat price of the shipped pool's procurement; a CPAS pays nothing for
// what it uses through synergy, but for the seats its staff take of it.
func TestReportBillsTierApplicationsAndSeats(t *testing.T) {
	liege := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CommuneSpec{NIS: "62063", TenantSpec: v1alpha1.TenantSpec{
		Applications: []v1alpha1.ApplicationSubscription{{Name: "nextcloud"}, {Name: "iadelib"}, {Name: "esignature"}}}}}
	liege.Status.Tier = "XXL"
	liege.Status.Licences = []v1alpha1.LicenceStatus{{Application: "esignature", Requested: 30, Granted: 20}}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CPASSpec{CommuneRef: "liege",
		TenantSpec: v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{{Name: "iadelib"}, {Name: "esignature", Seats: ptr.To[int32](4)}}},
		Synergy:    v1alpha1.SynergySpec{SharedApplications: []string{"nextcloud", "esignature"}}}}
	cpas.Status.Tier = "XXL"
	cpas.Status.Licences = []v1alpha1.LicenceStatus{{Application: "esignature", Requested: 4, Granted: 4}}
	fresh := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "anthisnes"}}

	rep, err := bill(samplePolicy(t), []v1alpha1.LicencePool{samplePool(t)}, []v1alpha1.Tenant{cpas, fresh, liege})
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
		// half the quota, 6000 for a CPAS of XXL, iA.Delib only: Nextcloud and e-Signature are the
		// commune's, but its 4 seats of e-Signature are its own
		{"CPAS", "liege", "XXL", "64", "128Gi", "esignature iadelib", "esignature 4", "6000.00", "900.00", "58.00", "6958.00"},
		{"total", "3 tenants", "", "", "", "", "", "", "", "", "20748.00"},
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
	if _, err := bill(&v1alpha1.TenancyPolicy{}, nil, nil); err == nil || !strings.Contains(err.Error(), "no spec.pricing") {
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

// A seat has one price: the pool's procurement; a price list that types it again is warned about,
// and the pool's is used.
func TestSeatsArePricedOnce(t *testing.T) {
	policy := samplePolicy(t)
	for i := range policy.Spec.Pricing.Applications {
		if policy.Spec.Pricing.Applications[i].Application == "esignature" {
			policy.Spec.Pricing.Applications[i].PerSeat = "20"
		}
	}
	liege := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CommuneSpec{NIS: "62063", TenantSpec: v1alpha1.TenantSpec{
		Applications: []v1alpha1.ApplicationSubscription{{Name: "esignature"}}}}}
	liege.Status.Tier = "XXL"
	liege.Status.Licences = []v1alpha1.LicenceStatus{{Application: "esignature", Requested: 10, Granted: 10}}
	rep, err := bill(policy, []v1alpha1.LicencePool{samplePool(t)}, []v1alpha1.Tenant{liege})
	if err != nil {
		t.Fatal(err)
	}
	if rep.rows[0].seatsPrice.String() != "145.00" {
		t.Errorf("10 seats at the pool's 14.50: %s", rep.rows[0].seatsPrice)
	}
	if len(rep.warnings) != 1 || !strings.Contains(rep.warnings[0], "the seats of esignature are priced twice: 14.50 in LicencePool esignature-2026's procurement, 20 in spec.pricing") {
		t.Errorf("warnings %q", rep.warnings)
	}
}
