package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// runStatus prints every tenant of the cluster with its conditions, applications and last
// backup, the tenants with a problem first.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := clusterFlags(fs)
	wide := fs.Bool("wide", false, "every condition of every tenant, and the message of those Ready")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("status takes no arguments, not %v", fs.Args()))
	}
	c, err := conn.client()
	if err != nil {
		return err
	}
	tenants, err := v1alpha1.ListTenants(ctx, c)
	if err != nil {
		return err
	}
	return writeStatus(stdout, tenants, time.Now(), *wide)
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

func writeStatus(w io.Writer, tenants []v1alpha1.Tenant, now time.Time, wide bool) error {
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
	fmt.Fprintln(tw, "KIND\tNAME\tTIER\tSTATE\tAPPS\tLAST BACKUP\tREASON\tMESSAGE")
	counts := map[string]int{}
	for _, t := range tenants {
		_, state, c := health(t)
		counts[state]++
		st := t.TenantStatus()
		backup := "never"
		if b := st.Backup; b != nil && b.LastSuccessfulTime != nil {
			backup = duration.HumanDuration(now.Sub(b.LastSuccessfulTime.Time)) + " ago"
		}
		apps := fmt.Sprintf("%d/%d", readyApps(st.Applications), len(st.Applications))
		message := c.Message
		if state == "Ready" && !wide {
			message = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.TenantKind().Kind(), t.GetName(), orDash(st.Tier), state, apps, backup, c.Reason, oneLine(message, wide))
		if wide {
			for _, cond := range st.Conditions {
				fmt.Fprintf(tw, "\t\t\t\t\t\t%s=%s\t%s: %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
			}
			for _, a := range st.Applications {
				ready := "ready"
				if !a.Ready {
					ready = "not ready"
				}
				fmt.Fprintf(tw, "\t\t\t\t\t\tapplication %s\t%s: %s\n", a.Name, ready, a.Message)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d tenants: %d Ready, %d not Ready, %d Stalled, %d not reconciled yet\n",
		len(tenants), counts["Ready"], counts["NotReady"], counts["Stalled"], counts["Pending"])
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
