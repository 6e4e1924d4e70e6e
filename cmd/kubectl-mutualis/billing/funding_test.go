package billing

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func eur(s string) Cents {
	c, err := ParseAmount(v1alpha1.Amount(s))
	if err != nil {
		panic(err)
	}
	return c
}

// itPlan is a line shaped like the Region's plan for the IT of communes and CPAS: a 10 M€
// envelope, a lump sum by population category, at most 75 % of the eligible expenses. The
// categories' sums are the test's own (the funder's order sets them).
var itPlan = v1alpha1.FundingLine{
	Name: "informatique-2021", Funder: "Région wallonne", From: "2021-01-01", To: "2021-12-31",
	Categories: []v1alpha1.ExpenseCategory{"hosting", "dematerialisation"}, RatePercent: 75, Envelope: "10000000",
	Caps: []v1alpha1.FundingCap{
		{Kind: "Commune", MaxPopulation: ptr.To[int32](10000), Amount: "15000"},
		{Kind: "Commune", MaxPopulation: ptr.To[int32](80000), Amount: "25000"},
		{Kind: "Commune", Amount: "5000"},
		{Kind: "CPAS", Amount: "4000"},
	},
}

// remoteMeetings is shaped like the Region's funding of remote council meetings: 2 M€ for the
// expenses of 1 October 2021 to 31 December 2022, for CPAS, shared pro rata to their councillors.
// The Region-wide total of councillors is the test's own.
var remoteMeetings = v1alpha1.FundingLine{
	Name: "reunions-a-distance", Funder: "Région wallonne", From: "2021-10-01", To: "2022-12-31",
	Kinds: []string{"CPAS"}, Categories: []v1alpha1.ExpenseCategory{"remote-meetings"}, RatePercent: 100, Envelope: "2000000",
	Allocation: &v1alpha1.FundingAllocation{Key: v1alpha1.AllocationByCouncillors, Total: ptr.To[int64](2385)},
}

func item(kind ItemKind, app string, yearly, since string, categories ...v1alpha1.ExpenseCategory) Item {
	return Item{Kind: kind, Application: app, Yearly: eur(yearly), Since: day(since), Categories: categories}
}

func TestFund(t *testing.T) {
	year2021 := Period{From: day("2021-01-01"), To: day("2021-12-31")}
	for _, tc := range []struct {
		name          string
		line          v1alpha1.FundingLine
		asked         Period
		beneficiaries []Beneficiary
		// want is name: eligible, subsidy, limit, remainder
		want     map[string][4]string
		warnings []string
	}{{
		name: "a commune that joined in June is funded for the days from June on, at 75 %", line: itPlan, asked: year2021,
		beneficiaries: []Beneficiary{{Kind: "Commune", Name: "anthisnes", Population: 4200,
			Items: []Item{item(ItemTier, "", "12000", "2021-06-01", "hosting")}}},
		// 214 days of 365 of 12,000 = 7,035.62; 75 % = 5,276.715, rounded down
		want: map[string][4]string{"anthisnes": {"7035.62", "5276.71", "rate", "1758.91"}},
	}, {
		name: "a city's lump sum caps its subsidy; an application of no eligible category does not count", line: itPlan, asked: year2021,
		beneficiaries: []Beneficiary{{Kind: "Commune", Name: "liege", Population: 195000, Items: []Item{
			item(ItemTier, "", "12000", "2019-01-01", "hosting"),
			item(ItemApplication, "iadelib", "900", "2019-01-01", "dematerialisation"),
			item(ItemApplication, "nextcloud", "600", "2019-01-01", "collaboration"),
		}}},
		want: map[string][4]string{"liege": {"12900.00", "5000.00", "lumpSum", "7900.00"}},
	}, {
		name: "a CPAS's cap is its kind's", line: itPlan, asked: year2021,
		beneficiaries: []Beneficiary{{Kind: "CPAS", Name: "liege", Population: 195000, Items: []Item{item(ItemTier, "", "6000", "2019-01-01", "hosting")}}},
		want:          map[string][4]string{"liege": {"6000.00", "4000.00", "lumpSum", "2000.00"}},
	}, {
		name: "remote meetings: CPAS only, the days of 2021 and all 2022, within each one's share of the envelope", line: remoteMeetings,
		asked: Period{From: day("2021-01-01"), To: day("2022-12-31")},
		beneficiaries: []Beneficiary{
			{Kind: "CPAS", Name: "namur", Councillors: 13, Items: []Item{item(ItemApplication, "jitsi", "600", "2020-03-01", "remote-meetings")}},
			{Kind: "CPAS", Name: "ans", Items: []Item{item(ItemApplication, "jitsi", "600", "2020-03-01", "remote-meetings")}},
			{Kind: "Commune", Name: "namur", Councillors: 47, Items: []Item{item(ItemApplication, "jitsi", "600", "2020-03-01", "remote-meetings")}},
			// a CPAS that subscribed after the line ended gets nothing
			{Kind: "CPAS", Name: "eupen", Councillors: 11, Items: []Item{item(ItemApplication, "jitsi", "600", "2023-01-01", "remote-meetings")}},
		},
		// 92 days of 2021 (151.23) and all 2022 (600); 2,000,000 × 13 / 2,385 = 10,901.46 is not reached
		want:     map[string][4]string{"namur": {"751.23", "751.23", "rate", "0.00"}, "ans": {"751.23", "0.00", "allocation", "751.23"}},
		warnings: []string{"CPAS ans declares no spec.councillors"},
	}, {
		name: "a share of a small envelope binds before the rate",
		line: v1alpha1.FundingLine{Name: "small", Funder: "x", From: "2022-01-01", To: "2022-12-31", Categories: []v1alpha1.ExpenseCategory{"remote-meetings"},
			RatePercent: 100, Envelope: "1000", Allocation: &v1alpha1.FundingAllocation{Key: v1alpha1.AllocationEqual}},
		asked: Period{From: day("2022-01-01"), To: day("2022-12-31")},
		beneficiaries: []Beneficiary{
			{Kind: "CPAS", Name: "a", Items: []Item{item(ItemApplication, "jitsi", "600", "2020-01-01", "remote-meetings")}},
			{Kind: "CPAS", Name: "b", Items: []Item{item(ItemApplication, "jitsi", "600", "2020-01-01", "remote-meetings")}},
			{Kind: "CPAS", Name: "c", Items: []Item{item(ItemApplication, "jitsi", "600", "2020-01-01", "remote-meetings")}},
		},
		// 1,000 / 3 = 333.33 each, rounded down
		want: map[string][4]string{"a": {"600.00", "333.33", "allocation", "266.67"}, "b": {"600.00", "333.33", "allocation", "266.67"},
			"c": {"600.00", "333.33", "allocation", "266.67"}},
		warnings: []string{"without allocation.total"},
	}, {
		name:          "a period across a leap year counts each year's days at its own length",
		line:          v1alpha1.FundingLine{Name: "fiscal", Funder: "x", From: "2023-07-01", To: "2024-06-30", Categories: []v1alpha1.ExpenseCategory{"hosting"}, RatePercent: 50},
		asked:         Period{From: day("2023-01-01"), To: day("2024-12-31")},
		beneficiaries: []Beneficiary{{Kind: "Commune", Name: "x", Items: []Item{item(ItemTier, "", "3650", "2020-01-01", "hosting")}}},
		// 184 days of 365 of 3,650 = 1,840.00; 182 days of 366 = 1,815.03
		want: map[string][4]string{"x": {"3655.03", "1827.51", "rate", "1827.52"}},
	}, {
		name:          "the cell's tenants alone exceeding the envelope is a warning",
		line:          v1alpha1.FundingLine{Name: "tiny", Funder: "x", From: "2022-01-01", To: "2022-12-31", Categories: []v1alpha1.ExpenseCategory{"hosting"}, RatePercent: 100, Envelope: "100"},
		asked:         Period{From: day("2022-01-01"), To: day("2022-12-31")},
		beneficiaries: []Beneficiary{{Kind: "Commune", Name: "x", Items: []Item{item(ItemTier, "", "365", "2020-01-01", "hosting")}}},
		want:          map[string][4]string{"x": {"365.00", "365.00", "rate", "0.00"}},
		warnings:      []string{"exceed the line's envelope (100.00)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Fund(tc.line, tc.asked, tc.beneficiaries)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][4]string{}
			var eligible, subsidy, remainder Cents
			for _, r := range f.Rows {
				got[r.Name] = [4]string{r.Eligible.String(), r.Subsidy.String(), string(r.Limit), r.Remainder.String()}
				eligible, subsidy, remainder = eligible+r.Eligible, subsidy+r.Subsidy, remainder+r.Remainder
			}
			if len(got) != len(tc.want) {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
			for name, want := range tc.want {
				if got[name] != want {
					t.Errorf("%s: eligible, subsidy, limit, remainder = %v, want %v", name, got[name], want)
				}
			}
			if f.Eligible != eligible || f.Subsidy != subsidy || f.Remainder != remainder || f.Eligible != f.Subsidy+f.Remainder {
				t.Errorf("totals %s = %s + %s do not add up the rows", f.Eligible, f.Subsidy, f.Remainder)
			}
			if len(f.Warnings) != len(tc.warnings) {
				t.Errorf("warnings %q, want %d", f.Warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if i < len(f.Warnings) && !strings.Contains(f.Warnings[i], w) {
					t.Errorf("warning %q does not say %q", f.Warnings[i], w)
				}
			}
		})
	}
}

func TestFundRefusesAPeriodOutsideTheLine(t *testing.T) {
	_, err := Fund(remoteMeetings, Period{From: day("2023-01-01"), To: day("2023-12-31")}, nil)
	if err == nil || !strings.Contains(err.Error(), "has no day in it") {
		t.Fatalf("err = %v", err)
	}
}

// A tenant's items start the day it joined, or the day a subscription says it began; its seats
// start with their application's subscription; a tier's participation is a hosting expense.
func TestItemsStartWhenTheyBegan(t *testing.T) {
	policy := &v1alpha1.TenancyPolicy{Spec: v1alpha1.TenancyPolicySpec{Pricing: &v1alpha1.PricingSpec{
		Tiers:        []v1alpha1.TierPrice{{Tier: "S", Commune: "1200", CPAS: "600"}},
		Applications: []v1alpha1.ApplicationPrice{{Application: "jitsi", PerTenant: "300"}, {Application: "esignature", PerSeat: "14.50"}},
	}}}
	prices, err := NewPrices(policy)
	if err != nil {
		t.Fatal(err)
	}
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "anthisnes", CreationTimestamp: metav1.NewTime(day("2024-02-03").Add(23 * time.Hour))},
		Spec: v1alpha1.CommuneSpec{TenantSpec: v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{
			{Name: "jitsi", Since: "2024-09-01"}, {Name: "esignature"}, {Name: "ckan"}}}}}
	c.Status.Tier = "S"
	c.Status.Licences = []v1alpha1.LicenceStatus{{Application: "esignature", Requested: 4, Granted: 4}}
	items, warnings, err := prices.Items(c, map[string][]v1alpha1.ExpenseCategory{"jitsi": {"remote-meetings"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, strings.Join([]string{string(it.Kind), it.Application, it.Yearly.String(), it.Since.Format(time.DateOnly)}, " "))
	}
	wantItems := []string{"tier  1200.00 2024-02-03", "application esignature 0.00 2024-02-03", "application jitsi 300.00 2024-09-01", "seats esignature 58.00 2024-02-03"}
	if strings.Join(got, "\n") != strings.Join(wantItems, "\n") {
		t.Errorf("items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantItems, "\n"))
	}
	if string(items[0].Categories[0]) != "hosting" || string(items[2].Categories[0]) != "remote-meetings" {
		t.Errorf("categories: tier %v, jitsi %v", items[0].Categories, items[2].Categories)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "ckan has no price") {
		t.Errorf("warnings %q", warnings)
	}
	c.Spec.JoinedOn = "2024-01-15"
	if items, _, _ = prices.Items(c, nil); !items[0].Since.Equal(day("2024-01-15")) {
		t.Errorf("spec.joinedOn is not the tier's first day: %v", items[0].Since)
	}
}
