package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/spf13/cobra"
)

func newStatusCommand(o *options) *cobra.Command {
	var out *output
	var lang *language
	cmd := &cobra.Command{
		Use:   "status [tenant...]",
		Short: "Tenants with their state, applications and last backup, problems first",
		Long: `Every tenant of the cluster, or those named (name, commune/name, cpas/name or province/name), with its state,
its applications and its last backup: stalled tenants first (someone must change something), then
those not Ready yet, then the Ready ones. A commune's or a CPAS's people name their own tenant.
The table speaks French, German when every tenant shown is of the German-speaking Community, or
the language --lang names; its messages say what each condition's reason means (in English, the
conditions' own messages; -o wide adds every condition as the operator wrote it).`,
		Example: `  kubectl mutualis status
  kubectl mutualis status liege -o wide
  kubectl mutualis status cpas/liege -o yaml
  kubectl mutualis status eupen --lang en`,
		GroupID:           "cluster",
		ValidArgsFunction: o.completeTenants,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, names []string, c client.Client, format string) error {
			set, err := readTenants(cmd.Context(), c, names)
			if err != nil {
				return err
			}
			switch format {
			case "json", "yaml":
				return printObjects(o.streams.Out, format, set.tenants)
			}
			return writeStatus(o.streams.Out, o.streams.ErrOut, set.tenants, time.Now(), format == "wide", i18n.For(lang.of(set.tenants...)))
		}),
	}
	out = addOutputFlag(cmd, "table", "wide", "json", "yaml")
	lang = addLangFlag(cmd)
	return cmd
}

// printObjects writes the tenants as kubectl get -o json|yaml does: a List of the objects, without
// their managed fields.
func printObjects(w io.Writer, format string, tenants []v1alpha1.Tenant) error {
	list := &metav1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
	for _, t := range tenants {
		obj := t.DeepCopyObject().(v1alpha1.Tenant)
		obj.SetManagedFields(nil)
		obj.GetObjectKind().SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(t.TenantKind().Kind()))
		list.Items = append(list.Items, runtime.RawExtension{Object: obj})
	}
	var p printers.ResourcePrinter = &printers.JSONPrinter{}
	if format == "yaml" {
		p = &printers.YAMLPrinter{}
	}
	return p.PrintObj(list, w)
}

// health orders tenants for the reader: stalled first (someone must change something), then
// those not Ready yet, then the Ready ones.
func health(t v1alpha1.Tenant) (rank int, state string, cond *metav1.Condition) {
	conds := t.TenantStatus().Conditions
	if c := meta.FindStatusCondition(conds, v1alpha1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue {
		return 0, "Stalled", c
	}
	c := meta.FindStatusCondition(conds, v1alpha1.ConditionReady)
	switch {
	case c == nil:
		return 1, "Pending", &metav1.Condition{Reason: "NotReconciled", Message: "the operator has not reconciled it yet: is it running?"}
	case c.Status != metav1.ConditionTrue || c.ObservedGeneration != t.GetGeneration():
		return 1, "NotReady", c
	}
	return 2, "Ready", c
}

func writeStatus(w, summary io.Writer, tenants []v1alpha1.Tenant, now time.Time, wide bool, p *i18n.Printer) error {
	sort.SliceStable(tenants, func(i, j int) bool {
		ri, _, _ := health(tenants[i])
		rj, _, _ := health(tenants[j])
		if ri != rj {
			return ri < rj
		}
		if tenants[i].GetName() != tenants[j].GetName() {
			return tenants[i].GetName() < tenants[j].GetName()
		}
		return tenants[i].TenantKind() < tenants[j].TenantKind()
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, p.T("status.headers"))
	counts := map[string]int{}
	for _, t := range tenants {
		_, state, c := health(t)
		counts[state]++
		st := t.TenantStatus()
		backup := p.T("status.never")
		if b := st.Backup; b != nil && b.LastSuccessfulTime != nil {
			backup = p.T("status.ago", "Duration", duration.HumanDuration(now.Sub(b.LastSuccessfulTime.Time)))
		}
		apps := fmt.Sprintf("%d/%d", readyApps(st.Applications), len(st.Applications))
		message := c.Message
		if sentence := p.Reason(c.Reason); p.Lang != i18n.English && sentence != "" {
			message = sentence // the conditions' own messages are English: the reader gets the reason's
		}
		if state == "Ready" && !wide {
			message = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.TenantKind().Kind(), t.GetName(), orDash(st.Tier), p.T("status.state."+state), apps, backup, c.Reason, oneLine(message, wide))
		if wide {
			for _, cond := range st.Conditions {
				fmt.Fprintf(tw, "\t\t\t\t\t\t%s=%s\t%s: %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
			}
			for _, a := range st.Applications {
				ready := p.T("status.ready")
				if !a.Ready {
					ready = p.T("status.notReady")
				}
				fmt.Fprintf(tw, "\t\t\t\t\t\t%s\t%s: %s\n", p.T("status.application", "Name", a.Name), ready, a.Message)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(summary, p.T("status.summary", "Total", len(tenants), "Ready", counts["Ready"], "NotReady", counts["NotReady"],
		"Stalled", counts["Stalled"], "Pending", counts["Pending"]))
	return err
}

func readyApps(apps []v1alpha1.ApplicationStatus) int {
	n := 0
	for _, a := range apps {
		if a.Ready {
			n++
		}
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table row on one line: a long message is cut unless the output is wide.
func oneLine(s string, wide bool) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if !wide && len([]rune(s)) > 120 {
		return string([]rune(s)[:119]) + "…"
	}
	return s
}
