package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/audit"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/tenant"
	"github.com/spf13/cobra"
)

// tenantAudit is one tenant's audit as the command prints it.
type tenantAudit struct {
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Namespace string         `json:"namespace"`
	Language  i18n.Lang      `json:"language"`
	Counts    map[string]int `json:"counts"`
	Findings  []shownFinding `json:"findings"`
	// NotChecked are the checks left out because the reader's rights refused what they read.
	NotChecked []audit.Check `json:"notChecked,omitempty"`
}

type shownFinding struct {
	audit.Finding
	Problem string `json:"problem"`
	Remedy  string `json:"remedy"`
	// Fields are the finding's facts by name, for a program (the sentences say them too).
	Fields map[string]string `json:"fields,omitempty"`
}

func newAuditCommand(o *options) *cobra.Command {
	var out *output
	var lang *language
	cmd := &cobra.Command{
		Use:   "audit [tenant...]",
		Short: "The security audit of tenants, live and read-only",
		Long: `The security audit of every tenant, or of those named (name, commune/name, cpas/name or province/name), with the
operator's own checks: each finding with its severity, the object and field that show it, and the
remedy. A commune's or a CPAS's people audit their own tenant; what their rights do not let them
read (the other tenants, the licence pools, the cell's policy) is named as not checked.`,
		Example: `  kubectl mutualis audit liege
  kubectl mutualis audit cpas/eupen --lang en -o markdown
  kubectl mutualis audit -o json`,
		GroupID:           "cluster",
		ValidArgsFunction: o.completeTenants,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, names []string, c client.Client, format string) error {
			reports, err := auditTenants(cmd.Context(), c, names, lang, time.Now())
			if err != nil {
				return err
			}
			if done, err := writeStructured(o.streams.Out, format, reports); done {
				return err
			}
			if format == "markdown" {
				return writeAuditMarkdown(o.streams.Out, reports)
			}
			return writeAuditTable(o.streams.Out, reports, format == "wide")
		}),
	}
	out = addOutputFlag(cmd, "table", "wide", "markdown", "json", "yaml")
	lang = addLangFlag(cmd)
	return cmd
}

// auditTenants gathers and evaluates the audit of the tenants named (all when none is), with
// what the reader's rights let it read: a refused input leaves its checks out, named in the
// report's notChecked.
func auditTenants(ctx context.Context, c client.Client, names []string, lang *language, now time.Time) ([]tenantAudit, error) {
	set, err := readTenants(ctx, c, names)
	if err != nil {
		return nil, err
	}
	var unread []audit.Input
	p, refused, err := policy(ctx, c)
	if err != nil {
		return nil, err
	}
	if refused {
		unread = append(unread, audit.InputPolicy)
	}
	peers, err := audit.Peers(ctx, c)
	if apierrors.IsForbidden(err) {
		unread, err = append(unread, audit.InputPeers), nil
	}
	if err != nil {
		return nil, err
	}
	var pools v1alpha1.LicencePoolList
	if err := c.List(ctx, &pools); apierrors.IsForbidden(err) {
		unread = append(unread, audit.InputPools)
	} else if err != nil {
		return nil, fmt.Errorf("listing the licence pools: %w", err)
	}
	// many tenants: each kind is listed once for all of them
	var live client.Reader = c
	if len(set.tenants) > 1 && set.listed {
		live = audit.Prefetched(c)
	}
	var out []tenantAudit
	for _, t := range set.tenants {
		partner := ""
		if set.listed {
			partner = partnerOf(t, set.tenants)
		} else {
			partner = partnerNamespace(ctx, c, t)
		}
		in, err := audit.Gather(ctx, live, t, partner, tenant.EffectivePolicy(p), peers, pools.Items, now)
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("your rights do not let you read the namespace %s of %s %s: ask the cell to reconcile the tenant, which grants its people that read", t.TenantNamespace(), t.TenantKind().Kind(), t.GetName())
		}
		if err != nil {
			return nil, err
		}
		in.Unread = append(in.Unread, unread...)
		out = append(out, showAudit(t, audit.Evaluate(in), in.Unread, lang.of(t)))
	}
	if len(names) > 0 {
		return out, nil
	}
	// the cell's view adds the namespaces kept after their Retain tenant past the policy's review
	// period; a reader who may not list namespaces is not the cell
	kept := &corev1.NamespaceList{}
	if err := c.List(ctx, kept, client.MatchingLabels{v1alpha1.LabelOrphaned: "true"}); apierrors.IsForbidden(err) {
		return out, nil
	} else if err != nil {
		return nil, fmt.Errorf("listing the kept namespaces: %w", err)
	}
	reviewAfter := tenant.EffectivePolicy(p).RetainedNamespaces.ReviewAfter.Duration
	for _, f := range audit.EvaluateRetained(audit.Retained(kept.Items), reviewAfter, now) {
		ns := strings.TrimPrefix(f.Object, "Namespace/")
		out = append(out, showReport("Namespace", ns, ns, []audit.Finding{f}, nil, lang.of()))
	}
	return out, nil
}

// partnerOf is the namespace of the tenant's partner among the tenants listed, picked by the
// planner's rule (plan.CommunePartner, plan.CPASPartner).
func partnerOf(t v1alpha1.Tenant, all []v1alpha1.Tenant) string {
	if cpas, ok := t.(*v1alpha1.CPAS); ok {
		for _, o := range all {
			if commune, ok := o.(*v1alpha1.Commune); ok && commune.Name == cpas.Spec.CommuneRef {
				if partner := plan.CPASPartner(commune); partner != nil {
					return partner.TenantNamespace()
				}
			}
		}
		return ""
	}
	var naming []*v1alpha1.CPAS
	for _, o := range all {
		if cpas, ok := o.(*v1alpha1.CPAS); ok && cpas.Spec.CommuneRef == t.GetName() {
			naming = append(naming, cpas)
		}
	}
	if partner := plan.CommunePartner(naming); partner != nil {
		return partner.TenantNamespace()
	}
	return ""
}

func showAudit(t v1alpha1.Tenant, fs []audit.Finding, unread []audit.Input, lang i18n.Lang) tenantAudit {
	return showReport(t.TenantKind().Kind(), t.GetName(), t.TenantNamespace(), fs, unread, lang)
}

// showReport is one audited subject as the command prints it: a tenant, or a kept namespace.
func showReport(kind, name, namespace string, fs []audit.Finding, unread []audit.Input, lang i18n.Lang) tenantAudit {
	r := tenantAudit{Kind: kind, Name: name, Namespace: namespace, Language: lang,
		Counts: map[string]int{}, Findings: []shownFinding{}, NotChecked: audit.Unchecked(unread)}
	for _, s := range audit.Severities {
		r.Counts[string(s)] = 0
	}
	for _, f := range fs {
		problem, remedy := i18n.For(lang).Finding(f)
		r.Counts[string(f.Severity)]++
		r.Findings = append(r.Findings, shownFinding{Finding: f, Problem: problem, Remedy: remedy, Fields: f.Fields()})
	}
	return r
}

func countLine(r tenantAudit) string {
	var parts []string
	for _, s := range audit.Severities {
		parts = append(parts, fmt.Sprintf("%d %s", r.Counts[string(s)], i18n.For(r.Language).Severity(s)))
	}
	return strings.Join(parts, ", ")
}

// notChecked is the sentence that names the checks left out, empty when none was.
func notChecked(r tenantAudit) string {
	if len(r.NotChecked) == 0 {
		return ""
	}
	names := make([]string, 0, len(r.NotChecked))
	for _, c := range r.NotChecked {
		names = append(names, string(c))
	}
	return i18n.For(r.Language).T("auditWords.unchecked") + ": " + strings.Join(names, ", ")
}

// writeAuditTable writes each finding with its remedy below it; wide adds the check and the field.
func writeAuditTable(w io.Writer, reports []tenantAudit, wide bool) error {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		p := i18n.For(r.Language)
		words := func(key string) string { return p.T("auditWords." + key) }
		fmt.Fprintf(w, "%s/%s (%s): %s\n", r.Kind, r.Name, r.Namespace, countLine(r))
		if n := notChecked(r); n != "" {
			fmt.Fprintf(w, "  %s\n", n)
		}
		if len(r.Findings) == 0 {
			fmt.Fprintf(w, "  %s\n", words("none"))
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		columns := []string{words("severity"), words("object"), words("problem")}
		if wide {
			columns = []string{words("severity"), words("check"), words("object"), words("field"), words("problem")}
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(columns, "\t"))
		for _, f := range r.Findings {
			cells := []string{p.Severity(f.Severity), f.Object, f.Problem}
			if wide {
				cells = []string{p.Severity(f.Severity), string(f.Check), f.Object, dash(f.Field), f.Problem}
			}
			fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
			fmt.Fprintf(tw, "  %s→ %s\n", strings.Repeat("\t", len(cells)-1), f.Remedy)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func writeAuditMarkdown(w io.Writer, reports []tenantAudit) error {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		p := i18n.For(r.Language)
		words := func(key string) string { return p.T("auditWords." + key) }
		fmt.Fprintf(w, "## %s : %s/%s\n\n", words("title"), r.Kind, r.Name)
		fmt.Fprintf(w, "Namespace `%s` — %s\n\n", r.Namespace, countLine(r))
		if n := notChecked(r); n != "" {
			fmt.Fprintf(w, "_%s_\n\n", n)
		}
		if len(r.Findings) == 0 {
			fmt.Fprintf(w, "_%s_\n", words("none"))
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n|---|---|---|---|---|---|\n",
			words("severity"), words("check"), words("object"), words("field"), words("problem"), words("remedy"))
		for _, f := range r.Findings {
			fmt.Fprintf(w, "| %s | %s | `%s` | %s | %s | %s |\n", p.Severity(f.Severity), f.Check, f.Object,
				mdCode(f.Field), mdEscape(f.Problem), mdEscape(f.Remedy))
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mdCode(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
