package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
)

// client reaches the cluster as kubectl would with the same flags: kubeconfig, context, --as,
// --as-group, --request-timeout and the rest of k8s.io/cli-runtime's ConfigFlags.
func (o *options) client() (client.Client, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reaching the cluster: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// onCluster is the RunE of a command that reads the cluster: the output format is checked
// first (a typo costs no connection), then the client is made, with kubectl's flags. out points
// at the command's -o flag, declared once the command exists.
func (o *options) onCluster(out **output, run func(cmd *cobra.Command, args []string, c client.Client, format string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		format, err := (*out).get()
		if err != nil {
			return err
		}
		c, err := o.client()
		if err != nil {
			return err
		}
		return run(cmd, args, c, format)
	}
}

// policy reads the cell's TenancyPolicy: nil when there is none, and refused when the reader's
// rights do not reach it (a tenant's people), which the caller says.
func policy(ctx context.Context, c client.Reader) (p *v1alpha1.TenancyPolicy, refused bool, err error) {
	p = &v1alpha1.TenancyPolicy{}
	switch err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.TenancyPolicyName}, p); {
	case apierrors.IsNotFound(err):
		return nil, false, nil
	case apierrors.IsForbidden(err):
		return nil, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("reading the TenancyPolicy: %w", err)
	}
	return p, false, nil
}

// tenantSet is what a command read of the tenants: those it may read, and whether it saw them
// all (a List) or only those named (a Get each, as a tenant's people may).
type tenantSet struct {
	tenants []v1alpha1.Tenant
	listed  bool
}

// readTenants reads every tenant when no name is given, else the tenants named: "liege" is the
// commune and the CPAS of that name, "commune/liege" and "cpas/liege" one of them. A List that the
// reader's rights refuse says to name the tenant; a name that is refused says so, unless its
// other kind was found (a commune's people may not read its CPAS, and need not).
func readTenants(ctx context.Context, c client.Client, names []string) (*tenantSet, error) {
	if len(names) == 0 {
		all, err := v1alpha1.ListTenants(ctx, c)
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("your rights do not let you list the tenants (a commune's or a CPAS's people read their own): name yours, such as liege or cpas/liege")
		}
		if err != nil {
			return nil, err
		}
		return &tenantSet{tenants: all, listed: true}, nil
	}
	set := &tenantSet{}
	for _, n := range names {
		kinds, name, err := parseTenantName(n)
		if err != nil {
			return nil, err
		}
		var found []v1alpha1.Tenant
		var refused []string
		for _, k := range kinds {
			t := k.New()
			switch err := c.Get(ctx, client.ObjectKey{Name: name}, t); {
			case apierrors.IsNotFound(err):
			case apierrors.IsForbidden(err):
				refused = append(refused, k.Kind()+" "+name)
			case err != nil:
				return nil, fmt.Errorf("reading %s %s: %w", k.Kind(), name, err)
			default:
				found = append(found, t)
			}
		}
		switch {
		case len(found) > 0:
			set.tenants = append(set.tenants, found...)
		case len(refused) > 0:
			return nil, fmt.Errorf("your rights do not let you read %s: is it your tenant, and are you in its spec.admins or spec.viewers?", strings.Join(refused, " nor "))
		default:
			return nil, fmt.Errorf("no tenant %q on the cluster (kubectl mutualis status lists them)", n)
		}
	}
	return set, nil
}

// parseTenantName reads name (the commune and the CPAS of that name), commune/name, cpas/name or
// province/name.
func parseTenantName(s string) ([]v1alpha1.TenantKind, string, error) {
	kind, name, qualified := strings.Cut(s, "/")
	if !qualified {
		return []v1alpha1.TenantKind{v1alpha1.KindCommune, v1alpha1.KindCPAS}, s, nil
	}
	switch strings.ToLower(kind) {
	case "commune", "communes":
		return []v1alpha1.TenantKind{v1alpha1.KindCommune}, name, nil
	case "cpas":
		return []v1alpha1.TenantKind{v1alpha1.KindCPAS}, name, nil
	case "province", "provinces":
		return []v1alpha1.TenantKind{v1alpha1.KindProvince}, name, nil
	}
	return nil, "", fmt.Errorf("%q: a tenant is name, commune/name, cpas/name or province/name", s)
}

// partnerNamespace is the namespace of the tenant's partner, as the operator chose it and wrote it
// on the tenant namespace; empty when the namespace has none or cannot be read.
func partnerNamespace(ctx context.Context, c client.Reader, t v1alpha1.Tenant) string {
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: t.TenantNamespace()}, ns); err != nil {
		return ""
	}
	return ns.Annotations[v1alpha1.AnnotationPartner]
}

// completeTenants offers the names of the tenants the reader may list, for shell completion.
func (o *options) completeTenants(cmd *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := o.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	all, err := v1alpha1.ListTenants(cmd.Context(), c)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, t := range all {
		qualified := strings.ToLower(t.TenantKind().Kind()) + "/" + t.GetName()
		for _, n := range []string{t.GetName(), qualified} {
			if strings.HasPrefix(n, prefix) && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// output is the -o flag of a read command: the formats it writes, the first its default.
type output struct {
	value   string
	formats []string
}

// addOutputFlag declares -o on a command, with its completion.
func addOutputFlag(cmd *cobra.Command, formats ...string) *output {
	o := &output{formats: formats}
	cmd.Flags().StringVarP(&o.value, "output", "o", formats[0], "the output format: "+inWords(formats))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	return o
}

// get is the format asked for, or an error naming the formats there are.
func (o *output) get() (string, error) {
	if !slices.Contains(o.formats, o.value) {
		return "", fmt.Errorf("--output is %s, not %q", inWords(o.formats), o.value)
	}
	return o.value, nil
}

// writeStructured writes v as JSON or YAML; other formats are the command's own.
func writeStructured(w io.Writer, format string, v any) (bool, error) {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case "yaml":
		out, err := yaml.Marshal(v)
		if err == nil {
			_, err = w.Write(out)
		}
		return true, err
	}
	return false, nil
}

// inWords lists formats as a sentence does: "table, csv or markdown".
func inWords(formats []string) string {
	if len(formats) == 1 {
		return formats[0]
	}
	return strings.Join(formats[:len(formats)-1], ", ") + " or " + formats[len(formats)-1]
}

// warn writes a warning on stderr, where it does not mix with a result piped elsewhere.
func (o *options) warn(format string, args ...any) {
	fmt.Fprintf(o.streams.ErrOut, "warning: "+format+"\n", args...)
}

// language is the --lang flag of a command that communes and CPAS read. Unset, the language is
// that of the tenants' people: German when every tenant shown is of the German-speaking
// Community, French otherwise.
type language struct{ forced i18n.Lang }

func (l *language) String() string { return string(l.forced) }
func (l *language) Type() string   { return "fr|de|en" }
func (l *language) Set(s string) (err error) {
	l.forced, err = i18n.Parse(s)
	return err
}

func addLangFlag(cmd *cobra.Command) *language {
	l := &language{}
	cmd.Flags().Var(l, "lang", "fr, de or en (default: fr, and de for the communes of the German-speaking Community and their CPAS)")
	_ = cmd.RegisterFlagCompletionFunc("lang", cobra.FixedCompletions([]string{"fr", "de", "en"}, cobra.ShellCompDirectiveNoFileComp))
	return l
}

// ofNIS is the language asked for, or that of the people of a commune and its CPAS.
func (l *language) ofNIS(nis string) i18n.Lang {
	if l.forced != "" {
		return l.forced
	}
	return i18n.OfCommune(nis)
}

// of is the language asked for, or that of the tenants' people.
func (l *language) of(tenants ...v1alpha1.Tenant) i18n.Lang {
	if l.forced != "" {
		return l.forced
	}
	if len(tenants) == 0 {
		return i18n.French
	}
	for _, t := range tenants {
		if tenantLanguage(t) != i18n.German {
			return i18n.French
		}
	}
	return i18n.German
}

// tenantLanguage is the language a tenant asked to be written to in (spec.contacts.language), else
// its commune's by the registry (German in the German-speaking Community).
func tenantLanguage(t v1alpha1.Tenant) i18n.Lang {
	if c := t.TenantSpec().Contacts; c != nil && c.Language != "" {
		return i18n.Lang(c.Language)
	}
	return i18n.OfCommune(v1alpha1.NISOf(t))
}
