package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/history"
)

// trendRow is one week of one province (or of the cell): the weeks of its tenants' records summed.
type trendRow struct {
	dimension, name string
	history.Week
	// tenants is how many records hold a day of the week
	tenants int
}

// readHistories reads the record of service of each tenant that has one, by tenant namespace, in
// one List: the operator writes one in every tenant namespace (controllers/tenant_history.go).
func readHistories(ctx context.Context, c client.Reader) (map[string]history.History, error) {
	var maps corev1.ConfigMapList
	if err := c.List(ctx, &maps, client.MatchingFields{"metadata.name": history.ConfigMapName}); err != nil {
		return nil, fmt.Errorf("listing the records of service (ConfigMaps %s): %w", history.ConfigMapName, err)
	}
	out := map[string]history.History{}
	for _, cm := range maps.Items {
		var h history.History
		if err := json.Unmarshal([]byte(cm.Data[history.Key]), &h); err != nil {
			return nil, fmt.Errorf("the record of service %s/%s is no JSON record: %w", cm.Namespace, cm.Name, err)
		}
		out[cm.Namespace] = h
	}
	return out, nil
}

// barometerTrend sums the weeks of the tenants' records by province and for the cell, the weeks
// in order. A tenant without a record (just joined, or the operator never reached it) adds nothing.
func barometerTrend(tenants []v1alpha1.Tenant, records map[string]history.History) ([]*trendRow, error) {
	rows := map[string]*trendRow{}
	add := func(dimension, name string, w history.Week) {
		key := dimension + "\x00" + name + "\x00" + w.Week
		r, ok := rows[key]
		if !ok {
			r = &trendRow{dimension: dimension, name: name, Week: history.Week{Week: w.Week}}
			rows[key] = r
		}
		r.tenants++
		r.Week.Add(w)
	}
	for _, t := range tenants {
		h, ok := records[t.TenantNamespace()]
		if !ok {
			continue
		}
		weeks, err := history.WeeksOf(h)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t.TenantKind().Kind(), t.GetName(), err)
		}
		for _, w := range weeks {
			add("province", provinceOf(t), w)
			add("total", "cell", w)
		}
	}
	out := make([]*trendRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.dimension == "total") != (b.dimension == "total") {
			return b.dimension == "total"
		}
		if a.name != b.name {
			return a.name < b.name
		}
		return a.Week.Week < b.Week.Week
	})
	return out, nil
}

// trendHeader is the trend's stable CSV schema (docs/audit.md).
var trendHeader = []string{"dimension", "group", "week", "tenants", "high", "medium", "low", "opened", "closed",
	"backups completed", "backups failed", "drills passed", "drills failed"}

func (r *trendRow) cells() []string {
	return []string{r.dimension, r.name, r.Week.Week, strconv.Itoa(r.tenants), strconv.Itoa(r.High), strconv.Itoa(r.Medium),
		strconv.Itoa(r.Low), strconv.Itoa(r.FindingsOpened), strconv.Itoa(r.FindingsClosed), strconv.Itoa(r.BackupsCompleted),
		strconv.Itoa(r.BackupsFailed), strconv.Itoa(r.DrillsPassed), strconv.Itoa(r.DrillsFailed)}
}

func writeBarometerTrend(w io.Writer, output string, rows []*trendRow, lang i18n.Lang) error {
	p := i18n.For(lang)
	forPeople := func(r *trendRow) []string {
		c := r.cells()
		c[0], c[1] = baroName(p, c[0]), baroName(p, c[1])
		return c
	}
	switch output {
	case "json", "yaml":
		lines := make([][]string, 0, len(rows))
		for _, r := range rows {
			lines = append(lines, r.cells())
		}
		_, err := writeStructured(w, output, rowsAsObjects(trendHeader, lines))
		return err
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(trendHeader)
		for _, r := range rows {
			_ = cw.Write(r.cells())
		}
		cw.Flush()
		return cw.Error()
	case "markdown":
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(translatedHeader(trendHeader, lang), " | "), strings.Repeat("---|", len(trendHeader)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(forPeople(r), " | "))
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(translatedHeader(trendHeader, lang), "\t")))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(forPeople(r), "\t"))
	}
	return tw.Flush()
}
