package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/audit"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// tenantAudit is one tenant's audit as the command prints it.
type tenantAudit struct {
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Namespace string         `json:"namespace"`
	Language  audit.Lang     `json:"language"`
	Counts    map[string]int `json:"counts"`
	Findings  []shownFinding `json:"findings"`
}

type shownFinding struct {
	audit.Finding
	Problem string `json:"problem"`
	Remedy  string `json:"remedy"`
}

// runAudit audits tenants live, read-only: every tenant, or those named (name, commune/name or
// cpas/name), with the operator's own checks.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := clusterFlags(fs)
	format := outputFlag(fs, "table", "markdown", "json")
	langFlag := fs.String("lang", "", "fr, en or de (default: fr, and de for the communes of the German-speaking Community and their CPAS)")
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	output, err := format.get()
	if err != nil {
		return err
	}
	var forced audit.Lang
	if *langFlag != "" {
		l, err := audit.ParseLang(*langFlag)
		if err != nil {
			return usageError(err.Error())
		}
		forced = l
	}
	c, err := conn.client()
	if err != nil {
		return err
	}
	reports, err := auditTenants(ctx, c, names, forced, time.Now())
	if err != nil {
		return err
	}
	switch output {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	case "markdown":
		return writeAuditMarkdown(stdout, reports)
	}
	return writeAuditTable(stdout, reports)
}

// parseInterspersed parses flags before, between and after the positional arguments, as kubectl
// does (audit liege -o json), and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// auditTenants gathers and evaluates the audit of the tenants named (all when none is).
func auditTenants(ctx context.Context, c client.Client, names []string, forced audit.Lang, now time.Time) ([]tenantAudit, error) {
	policy := &v1alpha1.TenancyPolicy{}
	if err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.TenancyPolicyName}, policy); apierrors.IsNotFound(err) {
		policy = nil
	} else if err != nil {
		return nil, fmt.Errorf("reading the TenancyPolicy: %w", err)
	}
	effective := tenant.EffectivePolicy(policy)
	all, err := v1alpha1.ListTenants(ctx, c)
	if err != nil {
		return nil, err
	}
	chosen, err := pickTenants(all, names)
	if err != nil {
		return nil, err
	}
	peers, err := audit.Peers(ctx, c)
	if err != nil {
		return nil, err
	}
	var pools v1alpha1.LicencePoolList
	if err := c.List(ctx, &pools); err != nil {
		return nil, fmt.Errorf("listing the licence pools: %w", err)
	}
	// many tenants: each kind is listed once for all of them
	var live client.Reader = c
	if len(chosen) > 1 {
		live = audit.Prefetched(c)
	}
	var out []tenantAudit
	for _, t := range chosen {
		in, err := audit.Gather(ctx, live, t, partnerOf(t, all), effective, peers, pools.Items, now)
		if err != nil {
			return nil, err
		}
		lang := forced
		if lang == "" {
			lang = languageOf(t)
		}
		out = append(out, showAudit(t, audit.Evaluate(in), lang))
	}
	return out, nil
}

// pickTenants resolves the names given: "liege" is the commune and the CPAS of that name,
// "commune/liege" and "cpas/liege" one of them.
func pickTenants(all []v1alpha1.Tenant, names []string) ([]v1alpha1.Tenant, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []v1alpha1.Tenant
	for _, n := range names {
		kind, name, qualified := strings.Cut(n, "/")
		if !qualified {
			kind, name = "", n
		}
		kind = strings.ToLower(kind)
		if qualified && kind != "commune" && kind != "cpas" {
			return nil, usageError(fmt.Sprintf("%q: a tenant is name, commune/name or cpas/name", n))
		}
		found := false
		for _, t := range all {
			if t.GetName() == name && (kind == "" || strings.ToLower(t.TenantKind().Kind()) == kind) {
				out = append(out, t)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no tenant %q on the cluster (kubectl mutualis status lists them)", n)
		}
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

// languageOf is German for the tenants of the German-speaking Community, French otherwise.
func languageOf(t v1alpha1.Tenant) audit.Lang {
	if e, ok := registry.Lookup(v1alpha1.NISOf(t)); ok && e.Language == "de" {
		return audit.German
	}
	return audit.French
}

func showAudit(t v1alpha1.Tenant, fs []audit.Finding, lang audit.Lang) tenantAudit {
	r := tenantAudit{Kind: t.TenantKind().Kind(), Name: t.GetName(), Namespace: t.TenantNamespace(), Language: lang,
		Counts: map[string]int{}, Findings: []shownFinding{}}
	for _, s := range audit.Severities {
		r.Counts[string(s)] = 0
	}
	for _, f := range fs {
		problem, remedy := audit.Text(f, lang)
		r.Counts[string(f.Severity)]++
		r.Findings = append(r.Findings, shownFinding{Finding: f, Problem: problem, Remedy: remedy})
	}
	return r
}

// words of the reports' frame, by language.
var auditWords = map[audit.Lang]map[string]string{
	audit.French:  {"severity": "GRAVITÉ", "check": "CONSTAT", "object": "OBJET", "field": "CHAMP", "problem": "PROBLÈME", "remedy": "REMÈDE", "none": "aucun constat", "title": "Audit de sécurité"},
	audit.English: {"severity": "SEVERITY", "check": "CHECK", "object": "OBJECT", "field": "FIELD", "problem": "PROBLEM", "remedy": "REMEDY", "none": "no finding", "title": "Security audit"},
	audit.German:  {"severity": "SCHWERE", "check": "BEFUND", "object": "OBJEKT", "field": "FELD", "problem": "PROBLEM", "remedy": "ABHILFE", "none": "kein Befund", "title": "Sicherheitsaudit"},
}

func countLine(r tenantAudit) string {
	var parts []string
	for _, s := range audit.Severities {
		parts = append(parts, fmt.Sprintf("%d %s", r.Counts[string(s)], audit.SeverityName(s, r.Language)))
	}
	return strings.Join(parts, ", ")
}

func writeAuditTable(w io.Writer, reports []tenantAudit) error {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		words := auditWords[r.Language]
		fmt.Fprintf(w, "%s/%s (%s): %s\n", r.Kind, r.Name, r.Namespace, countLine(r))
		if len(r.Findings) == 0 {
			fmt.Fprintf(w, "  %s\n", words["none"])
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", words["severity"], words["check"], words["object"], words["field"], words["problem"])
		for _, f := range r.Findings {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", audit.SeverityName(f.Severity, r.Language), f.Check, f.Object, dash(f.Field), f.Problem)
			fmt.Fprintf(tw, "  \t\t\t\t→ %s\n", f.Remedy)
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
		words := auditWords[r.Language]
		fmt.Fprintf(w, "## %s : %s/%s\n\n", words["title"], r.Kind, r.Name)
		fmt.Fprintf(w, "Namespace `%s` — %s\n\n", r.Namespace, countLine(r))
		if len(r.Findings) == 0 {
			fmt.Fprintf(w, "_%s_\n", words["none"])
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n|---|---|---|---|---|---|\n",
			words["severity"], words["check"], words["object"], words["field"], words["problem"], words["remedy"])
		for _, f := range r.Findings {
			fmt.Fprintf(w, "| %s | %s | `%s` | %s | %s | %s |\n", audit.SeverityName(f.Severity, r.Language), f.Check, f.Object,
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
