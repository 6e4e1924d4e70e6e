package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/tenant"
	"github.com/spf13/cobra"
)

// baroGroup is one row of the barometer: the tenants of a province, a tier or a kind.
type baroGroup struct {
	dimension, name string
	tenants, ready  int
	backupsOK       int
	audited         int
	high, medium    int
	low             int
	seats           int
	podSecurity     map[string]int
	adopted         map[string]int
	// registry is how many communes and CPAS of the registry the group has (its members are among
	// them): the denominator of the Region's coverage
	registry int
	// synergy counts the CPAS that use an application of their commune
	synergy int
	// openSource and licensed count the subscriptions to open-source and to licensed applications
	openSource, licensed int
	// hostedOutside counts the subscriptions to applications iMio or a vendor hosts (External)
	hostedOutside int
}

func newBarometerCommand(o *options) *cobra.Command {
	var out *output
	var lang *language
	var trend bool
	cmd := &cobra.Command{
		Use:   "barometer",
		Short: "The cell's figures by province, tier and kind of tenant",
		Long: `The regional barometer: for every province, tier and kind of tenant, the applications adopted,
the health of the backups, the audit findings, the licence seats used and the Pod Security levels,
from the tenants' statuses and their namespaces' labels; the coverage of the Region (the communes and
CPAS of the NIS registry that are members), the CPAS in synergy with their commune and the share of
subscriptions to open-source applications. wide adds a column per application. --trend gives the
weeks instead: the audit's findings, those opened and closed, the backups and the restore drills,
by province and for the cell, summed from the tenants' records of service (the operator keeps two
months of them; keep the CSV of each run for a longer trend). The table and markdown speak French
(--lang de or en); csv, json and yaml keep the documented column names.`,
		Args: cobra.NoArgs,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, _ []string, c client.Client, format string) error {
			set, err := readTenants(cmd.Context(), c, nil)
			if err != nil {
				return err
			}
			l := i18n.French
			if lang.forced != "" {
				l = lang.forced
			}
			if trend {
				records, err := readHistories(cmd.Context(), c)
				if err != nil {
					return err
				}
				rows, err := barometerTrend(set.tenants, records)
				if err != nil {
					return err
				}
				return writeBarometerTrend(o.streams.Out, format, rows, l)
			}
			var namespaces corev1.NamespaceList
			if err := c.List(cmd.Context(), &namespaces, client.HasLabels{v1alpha1.LabelKind}); err != nil {
				return fmt.Errorf("listing the tenant namespaces: %w", err)
			}
			levels := map[string]string{}
			for _, ns := range namespaces.Items {
				levels[ns.Name] = ns.Labels[tenant.LabelPodSecurityEnforce]
			}
			p, _, err := policy(cmd.Context(), c)
			if err != nil {
				return err
			}
			models, external, err := licenceModels(cmd.Context(), c)
			if err != nil {
				return err
			}
			rows, apps := barometer(set.tenants, levels, baroContext{policy: tenant.EffectivePolicy(p), models: models, external: external})
			if format == "table" {
				apps = nil // a column per application is the wide view's
			}
			return writeBarometer(o.streams.Out, format, rows, apps, l)
		}),
	}
	out = addOutputFlag(cmd, "table", "wide", "csv", "markdown", "json", "yaml")
	lang = addLangFlag(cmd)
	cmd.Flags().BoolVar(&trend, "trend", false, "the trend instead: by week and province, the audit's findings, the findings opened and closed, the backups and the restore drills, from the tenants' records of service (two months)")
	return cmd
}

// provinceOf is the tenant's province in the registry (a Province's own), "unknown" for a code
// outside it.
func provinceOf(t v1alpha1.Tenant) string {
	if p, ok := registry.LookupProvince(v1alpha1.NISOf(t)); ok && t.TenantKind() == v1alpha1.KindProvince {
		return p.Name
	}
	if e, ok := registry.Lookup(v1alpha1.NISOf(t)); ok {
		return e.Province
	}
	return "unknown"
}

// licenceModels are the catalogue's licence models, by application ("" is OpenSource), and the
// applications hosted outside the cell.
func licenceModels(ctx context.Context, c client.Reader) (map[string]v1alpha1.LicenceModel, map[string]bool, error) {
	var apps v1alpha1.SharedApplicationList
	if err := c.List(ctx, &apps); err != nil {
		return nil, nil, fmt.Errorf("listing the catalogue: %w", err)
	}
	out, external := map[string]v1alpha1.LicenceModel{}, map[string]bool{}
	for _, a := range apps.Items {
		out[a.Name] = a.Spec.Licence.Model
		external[a.Name] = a.Spec.Instance == v1alpha1.InstanceExternal
	}
	return out, external, nil
}

// baroContext is what the barometer reads beside the tenants: the policy's tiers (to place the
// registry's communes) and the catalogue's licence models.
type baroContext struct {
	policy   v1alpha1.TenancyPolicySpec
	models   map[string]v1alpha1.LicenceModel
	external map[string]bool
}

// barometer groups the tenants by province, tier and kind, then adds the cell's total. levels are
// the Pod Security levels enforced by namespace.
func barometer(tenants []v1alpha1.Tenant, levels map[string]string, bc baroContext) ([]*baroGroup, []string) {
	groups := map[string]*baroGroup{}
	var order []string
	appSet := map[string]bool{}
	get := func(dimension, name string) *baroGroup {
		key := dimension + "\x00" + name
		if g, ok := groups[key]; ok {
			return g
		}
		g := &baroGroup{dimension: dimension, name: name, podSecurity: map[string]int{}, adopted: map[string]int{}}
		groups[key] = g
		order = append(order, key)
		return g
	}
	for _, t := range tenants {
		st := t.TenantStatus()
		tier := st.Tier
		if tier == "" {
			tier = "none"
		}
		for _, g := range []*baroGroup{get("province", provinceOf(t)), get("tier", tier), get("kind", t.TenantKind().Kind()), get("total", "cell")} {
			g.tenants++
			if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady); c != nil && c.Status == "True" {
				g.ready++
			}
			if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionBackupReady); c != nil && c.Status == "True" {
				g.backupsOK++
			}
			if a := st.Audit; a != nil {
				g.audited++
				g.high += int(a.High)
				g.medium += int(a.Medium)
				g.low += int(a.Low)
			}
			for _, l := range st.Licences {
				g.seats += int(l.Granted)
			}
			level := levels[t.TenantNamespace()]
			if level == "" {
				level = "none"
			}
			g.podSecurity[level]++
			for _, a := range st.Applications {
				g.adopted[a.Name]++
				appSet[a.Name] = true
				if bc.external[a.Name] {
					g.hostedOutside++
				}
				switch model, known := bc.models[a.Name]; {
				case !known:
				case model == "" || model == v1alpha1.LicenceOpenSource:
					g.openSource++
				default:
					g.licensed++
				}
			}
			if cpas, ok := t.(*v1alpha1.CPAS); ok && len(cpas.Spec.Synergy.SharedApplications) > 0 {
				g.synergy++
			}
		}
	}
	// the Region: every current commune of the registry and its CPAS, and the provinces, placed as
	// a member would be
	if bc.policy.NISRegistry != v1alpha1.NISRegistryDisabled {
		for _, e := range registry.CurrentEntries() {
			tier := "none"
			if t, err := tenant.SelectTier(bc.policy, e.Population, ""); err == nil {
				tier = t.Name
			}
			for _, k := range []struct{ dimension, name string }{{"province", e.Province}, {"tier", tier}, {"total", "cell"}} {
				get(k.dimension, k.name).registry += 2
			}
			get("kind", v1alpha1.KindCommune.Kind()).registry++
			get("kind", v1alpha1.KindCPAS.Kind()).registry++
		}
		// and the five provincial administrations
		for _, p := range registry.Provinces() {
			tier := "none"
			if t, err := tenant.SelectTier(bc.policy, p.Population, ""); err == nil {
				tier = t.Name
			}
			for _, k := range []struct{ dimension, name string }{{"province", p.Name}, {"tier", tier}, {"kind", v1alpha1.KindProvince.Kind()}, {"total", "cell"}} {
				get(k.dimension, k.name).registry++
			}
		}
	}
	rows := make([]*baroGroup, 0, len(order))
	rank := map[string]int{"province": 0, "tier": 1, "kind": 2, "total": 3}
	for _, k := range order {
		rows = append(rows, groups[k])
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if rank[a.dimension] != rank[b.dimension] {
			return rank[a.dimension] < rank[b.dimension]
		}
		return a.name < b.name
	})
	return rows, slices.Sorted(maps.Keys(appSet))
}

func barometerHeader(apps []string) []string {
	h := []string{"dimension", "group", "tenants", "ready", "backups ok", "audited", "high", "medium", "low", "seats",
		"restricted", "baseline", "other pss", "registry", "coverage %", "synergy", "open source %", "hosted outside"}
	for _, a := range apps {
		h = append(h, "app "+a)
	}
	return h
}

func barometerRow(g *baroGroup, apps []string) []string {
	other := g.tenants - g.podSecurity["restricted"] - g.podSecurity["baseline"]
	r := []string{g.dimension, g.name, strconv.Itoa(g.tenants), strconv.Itoa(g.ready), strconv.Itoa(g.backupsOK),
		strconv.Itoa(g.audited), strconv.Itoa(g.high), strconv.Itoa(g.medium), strconv.Itoa(g.low), strconv.Itoa(g.seats),
		strconv.Itoa(g.podSecurity["restricted"]), strconv.Itoa(g.podSecurity["baseline"]), strconv.Itoa(other),
		strconv.Itoa(g.registry), percent(g.tenants, g.registry), strconv.Itoa(g.synergy), percent(g.openSource, g.openSource+g.licensed), strconv.Itoa(g.hostedOutside)}
	for _, a := range apps {
		r = append(r, strconv.Itoa(g.adopted[a]))
	}
	return r
}

// percent is part of whole in percent with one decimal, empty when whole is nothing.
func percent(part, whole int) string {
	if whole == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(part)*100/float64(whole), 'f', 1, 64)
}

// translatedHeader is the header in a language, for people: the CSV and structured outputs keep
// the documented names.
func translatedHeader(header []string, lang i18n.Lang) []string {
	p := i18n.For(lang)
	out := make([]string, len(header))
	for i, h := range header {
		if app, ok := strings.CutPrefix(h, "app "); ok {
			out[i] = p.T("barometer.col.app", "Application", app)
			continue
		}
		out[i] = p.T("barometer.col." + strings.ReplaceAll(h, " ", "_"))
	}
	return out
}

// baroNames are the names of the dimensions and of the cell's row in a language.
func baroName(p *i18n.Printer, s string) string {
	switch s {
	case "province", "tier", "kind", "total", "cell", "none", "unknown":
		return p.T("barometer.name." + s)
	}
	return s
}

func writeBarometer(w io.Writer, output string, rows []*baroGroup, apps []string, lang i18n.Lang) error {
	header := barometerHeader(apps)
	p := i18n.For(lang)
	forPeople := func(g *baroGroup) []string {
		r := barometerRow(g, apps)
		r[0], r[1] = baroName(p, r[0]), baroName(p, r[1])
		return r
	}
	switch output {
	case "json", "yaml":
		var lines [][]string
		for _, g := range rows {
			lines = append(lines, barometerRow(g, apps))
		}
		_, err := writeStructured(w, output, rowsAsObjects(header, lines))
		return err
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(header)
		for _, g := range rows {
			_ = cw.Write(barometerRow(g, apps))
		}
		cw.Flush()
		return cw.Error()
	case "markdown":
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(translatedHeader(header, lang), " | "), strings.Repeat("---|", len(header)))
		for _, g := range rows {
			cells := forPeople(g)
			if g.dimension == "total" {
				for i := range cells {
					cells[i] = "**" + cells[i] + "**"
				}
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(translatedHeader(header, lang), "\t")))
	for _, g := range rows {
		fmt.Fprintln(tw, strings.Join(forPeople(g), "\t"))
	}
	return tw.Flush()
}
