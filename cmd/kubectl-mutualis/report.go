package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/billing"
	"github.com/crtpl/mutualis/controllers/tenant"
	"github.com/spf13/cobra"
)

func newReportCommand(o *options) *cobra.Command {
	var out *output
	cmd := &cobra.Command{
		Use:   "report",
		Short: "What the cell bills each tenant a year; funding lines; the barometer; a tenant's GDPR record",
		Long: `Each tenant's tier, quota, applications, licence seats and yearly participation, from the
TenancyPolicy's spec.pricing and the tenants' statuses. The cell's platform engineers run it: it
reads every tenant and the policy.`,
		Example: `  kubectl mutualis report -o csv > participation.csv
  kubectl mutualis report funding --line reunions-a-distance -o csv
  kubectl mutualis report barometer -o markdown
  kubectl mutualis report gdpr liege`,
		GroupID: "cluster",
		Args:    cobra.NoArgs,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, _ []string, c client.Client, format string) error {
			p, refused, err := policy(cmd.Context(), c)
			if refused {
				return fmt.Errorf("your rights do not let you read the TenancyPolicy and its price list: the report is the cell's")
			}
			if err != nil {
				return err
			}
			// a tenant's people may read the policy (their record cites it), not every tenant
			tenants, err := v1alpha1.ListTenants(cmd.Context(), c)
			if apierrors.IsForbidden(err) {
				return fmt.Errorf("your rights do not let you list every tenant: the report is the cell's")
			}
			if err != nil {
				return err
			}
			pools, warnings, err := licencePools(cmd.Context(), c)
			if err != nil {
				return err
			}
			rep, err := bill(p, pools, tenants)
			if err != nil {
				return err
			}
			for _, w := range append(warnings, rep.warnings...) {
				o.warn("%s", w)
			}
			return rep.write(o.streams.Out, format)
		}),
	}
	out = addOutputFlag(cmd, "table", "wide", "csv", "markdown", "json", "yaml")
	cmd.AddCommand(newBarometerCommand(o), newGDPRCommand(o), newFundingCommand(o), newServiceCommand(o))
	return cmd
}

// licencePools are the cell's pools, whose procurement prices the seats; a reader who may not list
// them is warned that seats are priced from the price list alone.
func licencePools(ctx context.Context, c client.Reader) ([]v1alpha1.LicencePool, []string, error) {
	var pools v1alpha1.LicencePoolList
	switch err := c.List(ctx, &pools); {
	case apierrors.IsForbidden(err):
		return nil, []string{"your rights do not let you read the LicencePools: seats are priced from the TenancyPolicy's price list alone"}, nil
	case err != nil:
		return nil, nil, fmt.Errorf("listing the LicencePools: %w", err)
	}
	return pools.Items, nil, nil
}

// billRow is one tenant's line of the report.
type billRow struct {
	kind, name, tier string
	cpu, memory      string
	applications     []string
	seats            []string
	tierPrice        billing.Cents
	appsPrice        billing.Cents
	seatsPrice       billing.Cents
}

func (r billRow) total() billing.Cents { return r.tierPrice + r.appsPrice + r.seatsPrice }

type billReport struct {
	currency string
	rows     []billRow
	warnings []string
}

// bill computes each tenant's yearly participation: its tier's, each application it subscribes to
// itself (synergy is free: the commune pays for the instance), and each licence seat granted.
func bill(policy *v1alpha1.TenancyPolicy, pools []v1alpha1.LicencePool, tenants []v1alpha1.Tenant) (*billReport, error) {
	prices, err := billing.NewPrices(policy)
	if err != nil {
		return nil, err
	}
	effective := tenant.EffectivePolicy(policy)
	rep := &billReport{currency: prices.Currency, warnings: prices.WithPools(pools)}
	warned := map[string]bool{}
	for _, t := range tenants {
		st := t.TenantStatus()
		row := billRow{kind: t.TenantKind().Kind(), name: t.GetName(), tier: st.Tier, cpu: "-", memory: "-"}
		for _, tier := range effective.Tiers {
			if tier.Name != st.Tier {
				continue
			}
			quota := tier.Quota
			if t.TenantKind() == v1alpha1.KindCPAS {
				quota = tenant.ScaleQuota(quota, effective.CPASQuotaPercent)
			}
			if q, ok := quota[corev1.ResourceLimitsCPU]; ok {
				row.cpu = q.String()
			}
			if q, ok := quota[corev1.ResourceLimitsMemory]; ok {
				row.memory = q.String()
			}
		}
		items, warnings, err := prices.Items(t, nil)
		if err != nil {
			return nil, err
		}
		for _, w := range warnings {
			if !warned[w] {
				warned[w] = true
				rep.warnings = append(rep.warnings, w)
			}
		}
		row.tierPrice, row.appsPrice, row.seatsPrice = billing.Yearly(items, billing.ItemTier),
			billing.Yearly(items, billing.ItemApplication), billing.Yearly(items, billing.ItemSeats)
		for _, sub := range t.TenantSpec().Applications {
			row.applications = append(row.applications, sub.Name)
		}
		sort.Strings(row.applications)
		for _, l := range st.Licences {
			row.seats = append(row.seats, fmt.Sprintf("%s %d", l.Application, l.Granted))
		}
		rep.rows = append(rep.rows, row)
	}
	sort.Slice(rep.rows, func(i, j int) bool {
		if rep.rows[i].name != rep.rows[j].name {
			return rep.rows[i].name < rep.rows[j].name
		}
		return rep.rows[i].kind > rep.rows[j].kind // the Commune before its CPAS
	})
	return rep, nil
}

func (r *billReport) write(w io.Writer, format string) error {
	header := []string{"kind", "name", "tier", "limits.cpu", "limits.memory", "applications", "seats",
		"tier (" + r.currency + ")", "applications (" + r.currency + ")", "seats (" + r.currency + ")", "total (" + r.currency + ")"}
	var total billing.Cents
	var lines [][]string
	for _, row := range r.rows {
		total += row.total()
		lines = append(lines, []string{row.kind, row.name, orDash(row.tier), row.cpu, row.memory,
			orDash(strings.Join(row.applications, " ")), orDash(strings.Join(row.seats, ", ")),
			row.tierPrice.String(), row.appsPrice.String(), row.seatsPrice.String(), row.total().String()})
	}
	footer := []string{"total", fmt.Sprintf("%d tenants", len(r.rows)), "", "", "", "", "", "", "", "", total.String()}
	if format == "table" {
		// the quota is the wide view's: the table keeps what a bill shows
		keep := func(row []string) []string { return append(row[:3:3], row[5:]...) }
		header, footer = keep(header), keep(footer)
		for i := range lines {
			lines[i] = keep(lines[i])
		}
	}
	switch format {
	case "json", "yaml":
		_, err := writeStructured(w, format, rowsAsObjects(header, lines))
		return err
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(header)
		_ = cw.WriteAll(lines) // flushes
		_ = cw.Write(footer)
		cw.Flush()
		return cw.Error()
	case "markdown":
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, l := range append(lines, footer) {
			fmt.Fprintf(w, "| %s |\n", strings.Join(l, " | "))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, l := range append(append([][]string{header}, lines...), footer) { // table and wide
		fmt.Fprintln(tw, strings.Join(l, "\t")+"\t")
	}
	return tw.Flush()
}

// rowsAsObjects turns a table into the objects of a JSON or YAML output: one per row, keyed by
// the header's names.
func rowsAsObjects(header []string, rows [][]string) []map[string]string {
	out := make([]map[string]string, 0, len(rows))
	for _, row := range rows {
		obj := map[string]string{}
		for i, cell := range row {
			obj[header[i]] = cell
		}
		out = append(out, obj)
	}
	return out
}
