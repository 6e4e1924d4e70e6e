package main

import (
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
}

func newBarometerCommand(o *options) *cobra.Command {
	var out *output
	cmd := &cobra.Command{
		Use:   "barometer",
		Short: "The cell's figures by province, tier and kind of tenant",
		Long: `The regional barometer: for every province, tier and kind of tenant, the applications adopted,
the health of the backups, the audit findings, the licence seats used and the Pod Security levels,
from the tenants' statuses and their namespaces' labels. wide adds a column per application.`,
		Args: cobra.NoArgs,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, _ []string, c client.Client, format string) error {
			set, err := readTenants(cmd.Context(), c, nil)
			if err != nil {
				return err
			}
			var namespaces corev1.NamespaceList
			if err := c.List(cmd.Context(), &namespaces, client.HasLabels{v1alpha1.LabelKind}); err != nil {
				return fmt.Errorf("listing the tenant namespaces: %w", err)
			}
			levels := map[string]string{}
			for _, ns := range namespaces.Items {
				levels[ns.Name] = ns.Labels[tenant.LabelPodSecurityEnforce]
			}
			rows, apps := barometer(set.tenants, levels)
			if format == "table" {
				apps = nil // a column per application is the wide view's
			}
			return writeBarometer(o.streams.Out, format, rows, apps)
		}),
	}
	out = addOutputFlag(cmd, "table", "wide", "csv", "markdown", "json", "yaml")
	return cmd
}

// provinceOf is the tenant's province in the registry, "unknown" for a code outside it.
func provinceOf(t v1alpha1.Tenant) string {
	if e, ok := registry.Lookup(v1alpha1.NISOf(t)); ok {
		return e.Province
	}
	return "unknown"
}

// barometer groups the tenants by province, tier and kind, then adds the cell's total. levels are
// the Pod Security levels enforced by namespace.
func barometer(tenants []v1alpha1.Tenant, levels map[string]string) ([]*baroGroup, []string) {
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
		"restricted", "baseline", "other pss"}
	for _, a := range apps {
		h = append(h, "app "+a)
	}
	return h
}

func barometerRow(g *baroGroup, apps []string) []string {
	other := g.tenants - g.podSecurity["restricted"] - g.podSecurity["baseline"]
	r := []string{g.dimension, g.name, strconv.Itoa(g.tenants), strconv.Itoa(g.ready), strconv.Itoa(g.backupsOK),
		strconv.Itoa(g.audited), strconv.Itoa(g.high), strconv.Itoa(g.medium), strconv.Itoa(g.low), strconv.Itoa(g.seats),
		strconv.Itoa(g.podSecurity["restricted"]), strconv.Itoa(g.podSecurity["baseline"]), strconv.Itoa(other)}
	for _, a := range apps {
		r = append(r, strconv.Itoa(g.adopted[a]))
	}
	return r
}

func writeBarometer(w io.Writer, output string, rows []*baroGroup, apps []string) error {
	header := barometerHeader(apps)
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
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, g := range rows {
			cells := barometerRow(g, apps)
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
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(header, "\t")))
	for _, g := range rows {
		fmt.Fprintln(tw, strings.Join(barometerRow(g, apps), "\t"))
	}
	return tw.Flush()
}
