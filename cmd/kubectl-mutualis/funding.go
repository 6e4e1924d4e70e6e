package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	textlanguage "golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/internal/build"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/billing"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/spf13/cobra"
)

func newFundingCommand(o *options) *cobra.Command {
	var out *output
	var lang *language
	var line, from, to string
	cmd := &cobra.Command{
		Use:   "funding [tenant...] --line <name>",
		Short: "What a funding line pays each commune and CPAS: eligible amount, subsidy, remainder",
		Long: `For one funding line of the TenancyPolicy (spec.funding), each commune and CPAS it funds: the
expenses of the categories it lists (a tier's participation, the applications of those categories
and their seats, at the price list's yearly prices), pro rata to the days each was subscribed within
the line's period (and --from/--to, when given); the line's rate of them, within the lump sum of
the tenant's population category and its share of the envelope by the line's key; and what remains
for the tenant to pay. -o annex writes the annex of a justification file, in French (German for the
German-speaking Community, or --lang). Name tenants to report on them alone: a commune's or a
CPAS's people may report on their own.`,
		Example: `  kubectl mutualis report funding --line reunions-a-distance -o csv > reunions-a-distance.csv
  kubectl mutualis report funding --line informatique-2021 --from 2021-06-01 --to 2021-12-31
  kubectl mutualis report funding --line reunions-a-distance cpas/namur -o annex > annexe.md`,
		ValidArgsFunction: o.completeTenants,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, names []string, c client.Client, format string) error {
			ctx := cmd.Context()
			p, refused, err := policy(ctx, c)
			switch {
			case err != nil:
				return err
			case refused:
				return fmt.Errorf("your rights do not let you read the TenancyPolicy, whose spec.funding holds the funding lines")
			case p == nil:
				return fmt.Errorf("there is no TenancyPolicy: the funding lines are its spec.funding")
			}
			fl, err := fundingLine(p.Spec.Funding, line)
			if err != nil {
				return err
			}
			asked, err := askedPeriod(from, to)
			if err != nil {
				return err
			}
			prices, err := billing.NewPrices(p)
			if err != nil {
				return err
			}
			pools, poolWarnings, err := licencePools(ctx, c)
			if err != nil {
				return err
			}
			poolWarnings = append(poolWarnings, prices.WithPools(pools)...)
			set, err := readTenants(ctx, c, names)
			if err != nil {
				return err
			}
			if fl.Allocation != nil && fl.Allocation.Total == nil && !set.listed {
				return fmt.Errorf("funding line %s shares its envelope over every tenant of the cell (it sets no allocation.total): report on every tenant, or ask the cell to set the Region's total", fl.Name)
			}
			categories, err := expenseCategories(ctx, c, set.tenants)
			if err != nil {
				return err
			}
			beneficiaries, warnings, err := fundingBeneficiaries(set.tenants, prices, categories)
			if err != nil {
				return err
			}
			f, err := billing.Fund(*fl, asked, beneficiaries)
			if err != nil {
				return err
			}
			for _, w := range append(append(poolWarnings, warnings...), f.Warnings...) {
				o.warn("%s", w)
			}
			if done, err := writeStructured(o.streams.Out, format, f); done {
				return err
			}
			if format == "annex" {
				return writeAnnex(o.streams.Out, f, prices.Currency, lang.of(set.tenants...), time.Now())
			}
			return writeFunding(o.streams.Out, format, f)
		}),
	}
	out = addOutputFlag(cmd, "table", "csv", "markdown", "annex", "json", "yaml")
	lang = addLangFlag(cmd)
	cmd.Flags().StringVar(&line, "line", "", "the funding line (spec.funding[].name of the TenancyPolicy); may be left out when there is only one")
	cmd.Flags().StringVar(&from, "from", "", "the first day reported, YYYY-MM-DD (default: the line's first)")
	cmd.Flags().StringVar(&to, "to", "", "the last day reported, YYYY-MM-DD (default: the line's last)")
	return cmd
}

// fundingLine is the line asked for, or the only one.
func fundingLine(lines []v1alpha1.FundingLine, name string) (*v1alpha1.FundingLine, error) {
	var known []string
	for i := range lines {
		if lines[i].Name == name || (name == "" && len(lines) == 1) {
			return &lines[i], nil
		}
		known = append(known, lines[i].Name)
	}
	switch {
	case len(lines) == 0:
		return nil, fmt.Errorf("the TenancyPolicy has no funding line: add one to spec.funding (docs/operations.md)")
	case name == "":
		return nil, fmt.Errorf("say which funding line with --line: %s", strings.Join(known, ", "))
	}
	return nil, fmt.Errorf("no funding line %q in the TenancyPolicy: it has %s", name, strings.Join(known, ", "))
}

// askedPeriod reads --from and --to; an end left open is the line's.
func askedPeriod(from, to string) (billing.Period, error) {
	p := billing.Period{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}
	var err error
	if from != "" {
		if p.From, err = billing.ParseDate(v1alpha1.Date(from)); err != nil {
			return p, fmt.Errorf("--from: %w", err)
		}
	}
	if to != "" {
		if p.To, err = billing.ParseDate(v1alpha1.Date(to)); err != nil {
			return p, fmt.Errorf("--to: %w", err)
		}
	}
	if p.To.Before(p.From) {
		return p, fmt.Errorf("--to (%s) is before --from (%s)", to, from)
	}
	return p, nil
}

// expenseCategories are the catalogue's expense categories of the applications the tenants
// subscribe to: the whole catalogue for the cell, each entry by name for a tenant's people (who
// may get those they use, not list them).
func expenseCategories(ctx context.Context, c client.Reader, tenants []v1alpha1.Tenant) (map[string][]v1alpha1.ExpenseCategory, error) {
	out := map[string][]v1alpha1.ExpenseCategory{}
	var apps v1alpha1.SharedApplicationList
	err := c.List(ctx, &apps)
	if err == nil {
		for _, a := range apps.Items {
			out[a.Name] = a.Spec.ExpenseCategories
		}
		return out, nil
	}
	if !apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("listing the catalogue: %w", err)
	}
	for _, t := range tenants {
		for _, sub := range t.TenantSpec().Applications {
			if _, done := out[sub.Name]; done {
				continue
			}
			app := &v1alpha1.SharedApplication{}
			switch err := c.Get(ctx, client.ObjectKey{Name: sub.Name}, app); {
			case apierrors.IsNotFound(err):
				out[sub.Name] = nil
			case err != nil:
				return nil, fmt.Errorf("reading SharedApplication %s: %w", sub.Name, err)
			default:
				out[sub.Name] = app.Spec.ExpenseCategories
			}
		}
	}
	return out, nil
}

// fundingBeneficiaries are the tenants as funding lines see them: identity, population (a CPAS's
// is its commune's: spec.population when the commune was read, else the registry's),
// councillors, and their priced items.
func fundingBeneficiaries(tenants []v1alpha1.Tenant, prices *billing.Prices, categories map[string][]v1alpha1.ExpenseCategory) ([]billing.Beneficiary, []string, error) {
	declared := map[string]int32{}
	for _, t := range tenants {
		if c, ok := t.(*v1alpha1.Commune); ok && c.Spec.Population != nil {
			declared[c.Spec.NIS] = *c.Spec.Population
		}
	}
	var out []billing.Beneficiary
	var warnings []string
	seen := map[string]bool{}
	for _, t := range tenants {
		nis := v1alpha1.NISOf(t)
		b := billing.Beneficiary{Kind: t.TenantKind().Kind(), Name: t.GetName(), DisplayName: plan.DisplayName(t, nis),
			EnterpriseNumber: t.TenantSpec().EnterpriseNumber, NIS: nis, Tier: t.TenantStatus().Tier}
		if p, ok := declared[nis]; ok {
			b.Population = int64(p)
		} else if e, ok := registry.Lookup(nis); ok {
			b.Population = int64(e.Population)
		}
		if c := t.TenantSpec().Councillors; c != nil {
			b.Councillors = *c
		}
		items, w, err := prices.Items(t, categories)
		if err != nil {
			return nil, nil, err
		}
		for _, w := range w {
			if !seen[w] {
				seen[w] = true
				warnings = append(warnings, w)
			}
		}
		b.Items = items
		out = append(out, b)
	}
	return out, warnings, nil
}

var fundingHeader = []string{"kind", "name", "display name", "enterprise number", "nis", "tier", "population", "councillors",
	"days", "eligible", "rate %", "at rate", "lump sum", "allocated", "subsidy", "limit", "remainder"}

// fundingRows are the report's rows: one per beneficiary, then the totals.
func fundingRows(f *billing.Funding) [][]string {
	optional := func(c *billing.Cents) string {
		if c == nil {
			return ""
		}
		return c.String()
	}
	var rows [][]string
	for _, r := range f.Rows {
		councillors := ""
		if r.Councillors > 0 {
			councillors = strconv.Itoa(int(r.Councillors))
		}
		rows = append(rows, []string{r.Kind, r.Name, r.DisplayName, r.EnterpriseNumber, r.NIS, r.Tier, strconv.FormatInt(r.Population, 10), councillors,
			strconv.Itoa(r.Days), r.Eligible.String(), strconv.Itoa(int(f.Line.RatePercent)), r.AtRate.String(), optional(r.LumpSum),
			optional(r.Allocated), r.Subsidy.String(), string(r.Limit), r.Remainder.String()})
	}
	tenants := fmt.Sprintf("%d tenants", len(f.Rows))
	if len(f.Rows) == 1 {
		tenants = "1 tenant"
	}
	return append(rows, []string{"total", tenants, "", "", "", "", "", "", "", f.Eligible.String(), "", "", "", "",
		f.Subsidy.String(), "", f.Remainder.String()})
}

// writeFunding writes the report as a table, CSV (the stable schema documented in
// docs/operations.md) or markdown.
func writeFunding(w io.Writer, format string, f *billing.Funding) error {
	header, rows := fundingHeader, fundingRows(f)
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(header)
		_ = cw.WriteAll(rows) // flushes
		return cw.Error()
	case "markdown":
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		return nil
	}
	// the table keeps what a reader compares: who, how long, how much
	keep := []int{0, 1, 5, 8, 9, 14, 15, 16}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range append([][]string{header}, rows...) {
		var cells []string
		for _, i := range keep {
			cells = append(cells, r[i])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

// writeAnnex writes the annex of a justification file: the line, then each beneficiary's
// amounts, then the detail of each one's eligible expenses.
func writeAnnex(w io.Writer, f *billing.Funding, currency string, lang i18n.Lang, now time.Time) error {
	p := i18n.For(lang)
	tag := textlanguage.Make(string(lang))
	money := func(c billing.Cents) string {
		return message.NewPrinter(tag).Sprint(number.Decimal(float64(c)/100, number.Scale(2))) + " " + currency
	}
	date := func(t time.Time) string { return t.Format(p.T("funding.dateLayout")) }
	dateOf := func(d v1alpha1.Date) string {
		t, err := billing.ParseDate(d)
		if err != nil {
			return string(d)
		}
		return date(t)
	}
	line := func(label, value string) {
		fmt.Fprintln(w, p.T("gdpr.line", "Label", p.T("funding."+label), "Value", value))
	}
	l := f.Line
	title := l.Title
	if title == "" {
		title = l.Name
	}
	fmt.Fprintf(w, "# %s\n\n", p.T("funding.title", "Title", title))
	line("funder", l.Funder)
	if l.LegalBasis != "" {
		line("legalBasis", l.LegalBasis)
	}
	line("eligiblePeriod", p.T("funding.fromTo", "From", dateOf(l.From), "To", dateOf(l.To)))
	line("reportPeriod", p.T("funding.fromTo", "From", date(f.Period.From), "To", date(f.Period.To)))
	var categories []string
	for _, c := range l.Categories {
		categories = append(categories, string(c))
	}
	line("categories", strings.Join(categories, ", "))
	line("rate", p.T("funding.rateText", "Rate", l.RatePercent))
	if l.Envelope != "" {
		envelope, _ := billing.ParseAmount(l.Envelope)
		line("envelope", money(envelope))
	}
	if a := l.Allocation; a != nil {
		key := p.T("funding.key." + string(a.Key))
		if a.Total != nil {
			key += " — " + p.T("funding.keyTotal", "Total", message.NewPrinter(tag).Sprint(*a.Total))
		}
		line("allocation", key)
	}
	for _, c := range l.Caps {
		amount, _ := billing.ParseAmount(c.Amount)
		who := p.T("funding.capEvery")
		if c.Kind != "" {
			who = p.T("funding.kind." + c.Kind)
		}
		if c.MaxPopulation != nil {
			who += " " + p.T("funding.capUpTo", "Population", message.NewPrinter(tag).Sprint(*c.MaxPopulation))
		}
		line("cap", p.T("funding.capText", "Who", who, "Amount", money(amount)))
	}
	if len(l.ReportsDue) > 0 {
		var due []string
		for _, d := range l.ReportsDue {
			due = append(due, dateOf(d))
		}
		line("reportsDue", strings.Join(due, ", "))
	}
	line("generated", p.T("funding.generatedText", "Date", date(now), "Version", build.Running().Version))

	fmt.Fprintf(w, "\n## %s\n\n", p.T("funding.beneficiaries"))
	cols := []string{"beneficiary", "bce", "days", "eligible", "subsidy", "limit", "remainder"}
	for i, c := range cols {
		cols[i] = p.T("funding.col." + c)
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, r := range f.Rows {
		fmt.Fprintf(w, "| %s (%s/%s) | %s | %d | %s | %s | %s | %s |\n", r.DisplayName, r.Kind, r.Name, orDash(r.EnterpriseNumber), r.Days,
			money(r.Eligible), money(r.Subsidy), p.T("funding.limit."+string(r.Limit)), money(r.Remainder))
	}
	fmt.Fprintf(w, "| **%s** | | | **%s** | **%s** | | **%s** |\n", p.T("funding.total"), money(f.Eligible), money(f.Subsidy), money(f.Remainder))

	fmt.Fprintf(w, "\n## %s\n", p.T("funding.details"))
	for _, r := range f.Rows {
		fmt.Fprintf(w, "\n### %s (%s/%s)\n\n", r.DisplayName, r.Kind, r.Name)
		cols := []string{"expense", "categories", "since", "yearly", "days", "eligible"}
		for i, c := range cols {
			cols[i] = p.T("funding.col." + c)
		}
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
		for _, s := range r.Shares {
			var cats []string
			for _, c := range s.Item.Categories {
				cats = append(cats, string(c))
			}
			expense := p.T("funding.item."+string(s.Item.Kind), "Tier", r.Tier, "Application", s.Item.Application, "Seats", s.Item.Seats)
			if pr := s.Item.Procurement; pr != nil {
				expense += " — " + p.T("funding.procured", "Contract", pr.Contract, "Supplier", pr.Supplier)
				if pr.PurchasingCentral != "" {
					expense += ", " + p.T("funding.central", "Central", pr.PurchasingCentral)
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %s |\n", expense,
				strings.Join(cats, ", "), date(s.From), money(s.Item.Yearly), s.Days, money(s.Eligible))
		}
	}
	fmt.Fprintf(w, "\n%s\n", p.T("funding.certified"))
	return nil
}
