package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/history"
)

func newServiceCommand(o *options) *cobra.Command {
	var out *output
	var lang *language
	var month string
	cmd := &cobra.Command{
		Use:   "service <tenant>",
		Short: "The cell's account of a month of service to one tenant",
		Long: `The account of one month of service to a commune or a CPAS, from the record the operator keeps in
the ConfigMap mutualis-service-history of its namespace (two months, a point per day): how long
the tenant was Ready, and why not when it was not; its backups completed and failed; its restore
drills; the audit's findings opened and closed, and open at the month's end; its applications and
seats. In the commune's language (French, German for a German-speaking commune; --lang), as
Markdown, CSV or JSON. A commune's people run it on their own tenant with their own rights.`,
		Example: `  kubectl mutualis report service liege --month 2026-11
  kubectl mutualis report service cpas/amel --month 2026-11 -o csv`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.completeTenants,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, args []string, c client.Client, format string) error {
			ctx := cmd.Context()
			t, err := oneTenant(ctx, c, args[0])
			if err != nil {
				return err
			}
			now := time.Now()
			if month == "" {
				month = now.In(history.Brussels).AddDate(0, -1, 0).Format("2006-01")
			}
			cm := &corev1.ConfigMap{}
			switch err := c.Get(ctx, client.ObjectKey{Namespace: t.TenantNamespace(), Name: history.ConfigMapName}, cm); {
			case apierrors.IsNotFound(err):
				return fmt.Errorf("%s %s has no record of service yet (the ConfigMap %s of %s): the operator writes it once the tenant's namespace exists",
					t.TenantKind().Kind(), t.GetName(), history.ConfigMapName, t.TenantNamespace())
			case apierrors.IsForbidden(err):
				return fmt.Errorf("your rights do not let you read the record of service of %s %s (the ConfigMap %s of %s)", t.TenantKind().Kind(), t.GetName(), history.ConfigMapName, t.TenantNamespace())
			case err != nil:
				return err
			}
			var h history.History
			if err := json.Unmarshal([]byte(cm.Data[history.Key]), &h); err != nil {
				return fmt.Errorf("the record of service of %s cannot be read: %w", t.GetName(), err)
			}
			m, err := history.MonthOf(h, month, now)
			if err != nil {
				return fmt.Errorf("%s %s: %w", t.TenantKind().Kind(), t.GetName(), err)
			}
			return writeService(o.streams.Out, format, t, m, i18n.For(lang.of(t)))
		}),
	}
	out = addOutputFlag(cmd, "markdown", "csv", "json")
	lang = addLangFlag(cmd)
	cmd.Flags().StringVar(&month, "month", "", "the month, YYYY-MM (default: last month)")
	return cmd
}

// writeService writes a month's account; JSON stays in English, for programs.
func writeService(w io.Writer, format string, t v1alpha1.Tenant, m history.Month, p *i18n.Printer) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
			NIS  string `json:"nis"`
			history.Month
		}{t.TenantKind().Kind(), t.GetName(), v1alpha1.NISOf(t), m})
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(strings.Split(p.T("service.csvHeader"), ","))
		for _, d := range m.Days {
			var notReady int64
			for _, s := range d.NotReady {
				notReady += s
			}
			_ = cw.Write([]string{d.Date, strconv.FormatInt(notReady, 10), reasonsOf(d.NotReady, p), strconv.Itoa(d.BackupsCompleted), strconv.Itoa(d.BackupsFailed),
				strconv.Itoa(d.DrillsPassed), strconv.Itoa(d.DrillsFailed), strconv.Itoa(d.FindingsOpened), strconv.Itoa(d.FindingsClosed),
				strconv.Itoa(d.Applications), strconv.Itoa(d.Seats)})
		}
		cw.Flush()
		return cw.Error()
	}
	day := func(t time.Time) string { return t.In(history.Brussels).Format(time.DateOnly) }
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", p.Say("service.title", map[string]string{"Kind": p.T("offboard.kind." + t.TenantKind().Kind()), "Name": t.GetName(), "Month": m.Month}))
	line := func(key string, fields map[string]string) {
		b.WriteString("- " + p.Say("service."+key, fields) + "\n")
	}
	line("period", map[string]string{"From": day(m.From), "To": day(m.To), "NIS": v1alpha1.NISOf(t)})
	line("availability", map[string]string{"Percent": strconv.FormatFloat(m.Availability, 'f', 2, 64), "Duration": (time.Duration(m.NotReadyTotal) * time.Second).String()})
	if len(m.NotReady) > 0 {
		line("why", map[string]string{"Reasons": reasonsOf(m.NotReady, p)})
	}
	line("backups", map[string]string{"Completed": strconv.Itoa(m.BackupsCompleted), "Failed": strconv.Itoa(m.BackupsFailed)})
	line("drills", map[string]string{"Passed": strconv.Itoa(m.DrillsPassed), "Failed": strconv.Itoa(m.DrillsFailed)})
	line("findings", map[string]string{"Opened": strconv.Itoa(m.FindingsOpened), "Closed": strconv.Itoa(m.FindingsClosed),
		"High": strconv.Itoa(m.High), "Medium": strconv.Itoa(m.Medium), "Low": strconv.Itoa(m.Low)})
	line("applications", map[string]string{"Applications": strconv.Itoa(m.Applications), "Seats": strconv.Itoa(m.Seats)})
	b.WriteString("\n" + p.T("service.source") + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// reasonsOf says the time not Ready by reason, longest first, each reason in the reader's words.
func reasonsOf(byReason map[string]int64, p *i18n.Printer) string {
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if byReason[reasons[i]] != byReason[reasons[j]] {
			return byReason[reasons[i]] > byReason[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, 0, len(reasons))
	for _, r := range reasons {
		parts = append(parts, fmt.Sprintf("%s (%s) %s", r, strings.TrimSuffix(p.Reason(r), "."), time.Duration(byReason[r])*time.Second))
	}
	return strings.Join(parts, "; ")
}
