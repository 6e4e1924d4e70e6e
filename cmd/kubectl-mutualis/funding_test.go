package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/billing"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
)

// sampleTenants reads the tenants of a file of config/samples/tenants, as a cell's Git holds them.
func sampleTenants(t *testing.T, file string) []v1alpha1.Tenant {
	t.Helper()
	data, err := os.ReadFile("../../config/samples/tenants/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var out []v1alpha1.Tenant
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		var tn v1alpha1.Tenant = &v1alpha1.Commune{}
		if meta.Kind == "CPAS" {
			tn = &v1alpha1.CPAS{}
		}
		if err := yaml.UnmarshalStrict([]byte(doc), tn); err != nil {
			t.Fatal(err)
		}
		out = append(out, tn)
	}
	return out
}

// The shipped samples together: the policy's two funding lines, the catalogue's expense
// categories and the tenants' joinedOn and councillors give the figures a justification file
// carries, pro rata to the days of each line's period.
func TestFundingReportOfTheSamples(t *testing.T) {
	policy := samplePolicy(t)
	prices, err := billing.NewPrices(policy)
	if err != nil {
		t.Fatal(err)
	}
	if w := prices.WithPools([]v1alpha1.LicencePool{samplePool(t)}); len(w) != 0 {
		t.Errorf("the samples price a seat twice: %q", w)
	}
	categories := map[string][]v1alpha1.ExpenseCategory{}
	for _, app := range []string{"nextcloud", "iadelib", "jitsi", "peertube", "decidim", "ckan", "esignature"} {
		categories[app] = sampleApp(t, app).Spec.ExpenseCategories
	}
	tenants := append(sampleTenants(t, "namur/namur.yaml"), sampleTenants(t, "hainaut/mons.yaml")...)
	tenants = append(tenants, sampleTenants(t, "liege/eupen.yaml")...)
	for _, tn := range tenants { // what the operator would have written: the registry's tiers
		tn.TenantStatus().Tier = map[string]string{"namur": "XXL", "mons": "XXL", "eupen": "M"}[tn.GetName()]
		if cpas, ok := tn.(*v1alpha1.CPAS); ok {
			cpas.Status.NIS = map[string]string{"namur": "92094", "mons": "53053", "eupen": "63023"}[tn.GetName()]
		}
		if tn.GetName() == "namur" && tn.TenantKind() == v1alpha1.KindCommune {
			tn.TenantStatus().Licences = []v1alpha1.LicenceStatus{{Application: "esignature", Requested: 40, Granted: 40}}
		}
	}
	beneficiaries, warnings, err := fundingBeneficiaries(tenants, prices, categories)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings on the samples: %q", warnings)
	}
	everything := billing.Period{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	lines := map[string]*v1alpha1.FundingLine{}
	for _, name := range []string{"reunions-a-distance", "informatique-locale"} {
		if lines[name], err = fundingLine(policy.Spec.Funding, name); err != nil {
			t.Fatal(err)
		}
	}

	// remote meetings: CPAS only, Jitsi at 240 a year; the CPAS of Namur from 1 October 2021 (92
	// days of 2021) and all 2022; the CPAS of Mons from 1 March 2022 (306 days); Eupen's ÖSHZ
	// subscribes to no video bridge
	meetings, err := billing.Fund(*lines["reunions-a-distance"], everything, beneficiaries)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeFunding(&out, "csv", meetings); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{fundingHeader,
		// 2,000,000 × 13 / 2,499 = 10,404.16 is the CPAS's share; its expenses are below it
		{"CPAS", "mons", "CPAS de Mons", "", "53053", "XXL", "95887", "13", "306", "201.21", "100", "201.21", "", "10404.16", "201.21", "rate", "0.00"},
		{"CPAS", "namur", "CPAS de Namur", "", "92094", "XXL", "111432", "13", "457", "300.49", "100", "300.49", "", "10404.16", "300.49", "rate", "0.00"},
		{"total", "2 tenants", "", "", "", "", "", "", "", "501.70", "", "", "", "", "501.70", "", "0.00"},
	}
	if got, wantText := strings.Join(flatten(rows), "\n"), strings.Join(flatten(want), "\n"); got != wantText {
		t.Errorf("remote meetings:\n%s\nwant:\n%s", got, wantText)
	}

	// the plan for local IT: 75 % of hosting, dematerialisation and collaboration from each one's
	// joinedOn to the end of 2023, within the lump sum of its population category
	it, err := billing.Fund(*lines["informatique-locale"], everything, beneficiaries)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][3]string{}
	for _, r := range it.Rows {
		got[r.Kind+"/"+r.Name] = [3]string{r.Eligible.String(), r.Subsidy.String(), string(r.Limit)}
	}
	for id, want := range map[string][3]string{
		// tier 12,000, Nextcloud 600, iA.Delib 900 and 40 seats at 14.50 (e-Signature's subscription
		// is free): 122 days of 2021, then 2022 and 2023, item by item
		"Commune/namur": {"32866.19", "24649.64", "rate"},
		// tier 6,000 and iA.Delib 900 from 1 September 2021
		"CPAS/namur": {"16106.30", "12079.72", "rate"},
	} {
		if got[id] != want {
			t.Errorf("%s: eligible, subsidy, limit = %v, want %v", id, got[id], want)
		}
	}
	var itAnnex bytes.Buffer
	if err := writeAnnex(&itAnnex, it, "EUR", i18n.French, time.Now()); err != nil {
		t.Fatal(err)
	}
	// the seats cite the contract they were bought under, and the purchasing central
	if want := "| 40 licences esignature — marché CRTPL-2026-004, Éditeur du service de signature, par la centrale d'achat IMIO | dematerialisation | 01/09/2021 | 580,00 EUR | 852 |"; !strings.Contains(strings.ReplaceAll(itAnnex.String(), "\u00a0", " "), want) {
		t.Errorf("the annex does not say %q:\n%s", want, itAnnex.String())
	}

	// the annex, in French and in German
	for lang, says := range map[i18n.Lang][]string{
		i18n.French: {"# Annexe au rapport justificatif — Réunions à distance des conseils de l'action sociale",
			"**Période éligible** : du 01/10/2021 au 31/12/2022", "au prorata du nombre de conseillers — total régional : 2",
			"| CPAS de Namur (CPAS/namur) | - | 457 |", "300,49 EUR", "2 000 000,00 EUR", "### CPAS de Mons (CPAS/mons)",
			"| Abonnement à jitsi | remote-meetings | 01/03/2022 | 240,00 EUR | 306 | 201,21 EUR |", "**Rapports justificatifs dus le** : 31/03/2023",
			// the CPAS of Namur subscribed in September 2021: its days are counted from the line's first
			"| Abonnement à jitsi | remote-meetings | 01/10/2021 | 240,00 EUR | 457 | 300,49 EUR |"},
		i18n.German: {"# Anlage zum Verwendungsnachweis", "**Förderfähiger Zeitraum**: vom 01.10.2021 bis zum 31.12.2022",
			"300,49 EUR", "2.000.000,00 EUR", "| Abonnement jitsi | remote-meetings | 01.03.2022 | 240,00 EUR | 306 | 201,21 EUR |"},
	} {
		var annex bytes.Buffer
		if err := writeAnnex(&annex, meetings, "EUR", lang, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(annex.String(), "\u00a0", " ")
		if os.Getenv("SHOW_ANNEX") != "" {
			t.Log(annex.String())
		}
		for _, s := range says {
			if !strings.Contains(text, s) {
				t.Errorf("the %s annex does not say %q:\n%s", lang, s, annex.String())
			}
		}
	}
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, ","))
	}
	return out
}

// A report names its line, or there is only one; a wrong name says which there are.
func TestFundingLineIsNamedOrAlone(t *testing.T) {
	lines := samplePolicy(t).Spec.Funding
	if _, err := fundingLine(lines, ""); err == nil || !strings.Contains(err.Error(), "reunions-a-distance, informatique-locale") {
		t.Errorf("no --line with two lines: %v", err)
	}
	if _, err := fundingLine(lines, "plan-2030"); err == nil || !strings.Contains(err.Error(), "no funding line \"plan-2030\"") {
		t.Errorf("an unknown line: %v", err)
	}
	if l, err := fundingLine(lines[:1], ""); err != nil || l.Name != "reunions-a-distance" {
		t.Errorf("the only line: %v, %v", l, err)
	}
	if _, err := fundingLine(nil, "x"); err == nil || !strings.Contains(err.Error(), "no funding line: add one") {
		t.Errorf("no line at all: %v", err)
	}
	if _, err := askedPeriod("2022-05-01", "2022-04-01"); err == nil {
		t.Errorf("--to before --from is accepted")
	}
}
