package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/agnivade/levenshtein"
	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate"
	"github.com/spf13/cobra"
)

func newNewCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "new commune|cpas <NIS or name>",
		Short: "The manifest of a new Commune or CPAS, from the NIS registry",
		Long: `The manifest of a new Commune or CPAS, from the NIS registry, checked as the API server would
check it before it is written: to stdout, or with --into into a GitOps tree's province folder and
its kustomization.`,
		GroupID: "git",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("new writes a commune or a cpas, not %q", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newTenantManifestCommand(o, v1alpha1.KindCommune), newTenantManifestCommand(o, v1alpha1.KindCPAS))
	return cmd
}

// tenantFlags are the flags of new commune and new cpas.
type tenantFlags struct {
	apps, sets, seats, domains, shares, adminGroups, viewerGroups []string
	into                                                          string
}

func newTenantManifestCommand(o *options, kind v1alpha1.TenantKind) *cobra.Command {
	f := &tenantFlags{}
	var lang *language
	use, short, example := "commune <NIS or name>", "The manifest of a Commune",
		`  kubectl mutualis new commune 62063 --app nextcloud --set nextcloud.domain=cloud.liege.be --admin-group liege-it
  kubectl mutualis new commune Liège --app iadelib --into tenants`
	if kind == v1alpha1.KindCPAS {
		use, short, example = "cpas <NIS or name of its commune>", "The manifest of a commune's CPAS (an ÖSHZ in the German-speaking Community)",
			`  kubectl mutualis new cpas liege --share nextcloud --app iadelib --into tenants`
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("new %s needs the commune's NIS code or name, once", strings.ToLower(kind.Kind()))
			}
			return nil
		},
		ValidArgsFunction: completeCommunes,
		RunE: func(cmd *cobra.Command, args []string) error {
			// the commune's people's language once it is known; French (or --lang) until then
			entry, notice, err := lookupCommune(args[0], i18n.For(lang.of()))
			if err != nil {
				return err
			}
			p := i18n.For(lang.ofNIS(entry.NIS))
			if notice != "" {
				fmt.Fprintln(o.streams.ErrOut, p.T("validate.severity.warning")+": "+notice)
			}
			manifest, err := tenantManifest(kind, entry, f, p)
			if err != nil {
				return err
			}
			if err := checkManifest(cmd.Context(), manifest, p); err != nil {
				return err
			}
			if f.into == "" {
				_, err := o.streams.Out.Write(manifest)
				return err
			}
			file, err := writeInto(f.into, entry, kind, manifest)
			if err != nil {
				return err
			}
			fmt.Fprintln(o.streams.ErrOut, p.T("new.wrote", "Kind", kind.Kind(), "Name", entry.Slug(), "File", file, "Tree", f.into))
			return nil
		},
	}
	lang = addLangFlag(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.apps, "app", nil, "an application of the catalogue to subscribe to (repeatable)")
	fl.StringArrayVar(&f.sets, "set", nil, "a parameter of a subscription, as application.parameter=value, such as nextcloud.domain=cloud.liege.be (repeatable)")
	fl.StringArrayVar(&f.seats, "seats", nil, "the licence seats of a subscription, as application=count, such as esignature=25 (repeatable)")
	fl.StringArrayVar(&f.domains, "domain", nil, "a host name the tenant publishes, such as liege.be or *.liege.be (repeatable)")
	fl.StringArrayVar(&f.adminGroups, "admin-group", nil, "a group of the cell's identity provider that administers the tenant (repeatable)")
	fl.StringArrayVar(&f.viewerGroups, "viewer-group", nil, "a group of the cell's identity provider that may read the tenant (repeatable)")
	fl.StringVar(&f.into, "into", "", "a GitOps tree's tenants folder: write the manifest into its province folder and list it in the kustomizations")
	if kind == v1alpha1.KindCPAS {
		fl.StringArrayVar(&f.shares, "share", nil, "an application of the commune the CPAS uses through synergy (repeatable)")
	}
	_ = cmd.MarkFlagDirname("into")
	return cmd
}

// tenantManifest writes the object of a new tenant of the registry's commune, with a comment
// line that says where it comes from.
func tenantManifest(kind v1alpha1.TenantKind, entry registry.Entry, f *tenantFlags, p *i18n.Printer) ([]byte, error) {
	spec := v1alpha1.TenantSpec{DisplayName: entry.LocalName()}
	for _, a := range f.apps {
		spec.Applications = append(spec.Applications, v1alpha1.ApplicationSubscription{Name: a})
	}
	subscription := func(flag, s, app string) (int, error) {
		i := slices.IndexFunc(spec.Applications, func(a v1alpha1.ApplicationSubscription) bool { return a.Name == app })
		if i < 0 {
			return 0, fmt.Errorf("--%s %s names an application not given with --app", flag, s)
		}
		return i, nil
	}
	for _, s := range f.sets {
		app, rest, ok := strings.Cut(s, ".")
		param, value, ok2 := strings.Cut(rest, "=")
		if !ok || !ok2 || app == "" || param == "" {
			return nil, fmt.Errorf("--set takes application.parameter=value, not %q", s)
		}
		i, err := subscription("set", s, app)
		if err != nil {
			return nil, err
		}
		if spec.Applications[i].Parameters == nil {
			spec.Applications[i].Parameters = map[string]string{}
		}
		spec.Applications[i].Parameters[param] = value
	}
	for _, s := range f.seats {
		app, count, ok := strings.Cut(s, "=")
		n, err := strconv.ParseInt(count, 10, 32)
		if !ok || err != nil || n < 1 {
			return nil, fmt.Errorf("--seats takes application=count, not %q", s)
		}
		i, err := subscription("seats", s, app)
		if err != nil {
			return nil, err
		}
		spec.Applications[i].Seats = ptr.To(int32(n))
	}
	for _, d := range f.domains {
		spec.Domains = append(spec.Domains, v1alpha1.Domain(d))
	}
	for _, g := range f.adminGroups {
		spec.Admins = append(spec.Admins, rbacv1.Subject{Kind: rbacv1.GroupKind, Name: g})
	}
	for _, g := range f.viewerGroups {
		spec.Viewers = append(spec.Viewers, rbacv1.Subject{Kind: rbacv1.GroupKind, Name: g})
	}
	var obj any
	var header string
	switch kind {
	case v1alpha1.KindCommune:
		header = "# " + p.T("new.header.commune", "Name", entry.LocalName(), "NIS", entry.NIS,
			"Province", p.T("province."+registry.Slug(entry.Province)), "Population", entry.Population) + "\n"
		obj = &v1alpha1.Commune{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Commune"},
			ObjectMeta: metav1.ObjectMeta{Name: entry.Slug()},
			Spec:       v1alpha1.CommuneSpec{NIS: entry.NIS, TenantSpec: spec},
		}
	case v1alpha1.KindCPAS:
		header = "# " + p.T("new.header.cpas", "Name", entry.CPASName(), "NIS", entry.NIS, "Commune", entry.Slug()) + "\n"
		spec.DisplayName = entry.CPASName()
		cpas := &v1alpha1.CPAS{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "CPAS"},
			ObjectMeta: metav1.ObjectMeta{Name: entry.Slug()},
			Spec:       v1alpha1.CPASSpec{CommuneRef: entry.Slug(), TenantSpec: spec},
		}
		cpas.Spec.Synergy.SharedApplications = f.shares
		obj = cpas
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	// a new object has no status, the API server fills its creation time, and the fields left
	// empty are the defaults' to fill
	delete(u, "status")
	dropEmpty(u)
	out, err := yaml.Marshal(u)
	if err != nil {
		return nil, err
	}
	return append([]byte(header), out...), nil
}

// checkManifest refuses what the API server would refuse: new never writes a manifest that a pull
// request's CI or the cluster would turn down on its own (a bad domain, an empty group name).
func checkManifest(ctx context.Context, manifest []byte, p *i18n.Printer) error {
	schemas, err := validate.LoadSchemas()
	if err != nil {
		return fmt.Errorf("the embedded CRDs: %w", err)
	}
	docs, findings := validate.Parse("manifest", manifest)
	rep := validate.Alone(ctx, schemas, docs)
	findings = append(findings, rep.Findings...)
	if len(findings) == 0 {
		return nil
	}
	var lines []string
	for _, f := range findings {
		lines = append(lines, "  "+f.In(p))
	}
	return errors.New(p.T("new.refused") + "\n" + strings.Join(lines, "\n"))
}

// dropEmpty removes the null values and the empty objects of a manifest, deepest first.
func dropEmpty(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			dropEmpty(sub)
			if len(sub) == 0 {
				delete(m, k)
			}
		} else if v == nil {
			delete(m, k)
		}
	}
}

// lookupCommune finds a current commune of the registry by NIS code or by name (its slug). A
// retired commune is mapped to the merged one that succeeded it, with a notice; a name not found
// is answered with the nearest names of the registry.
func lookupCommune(s string, p *i18n.Printer) (registry.Entry, string, error) {
	e, ok := registry.Lookup(s)
	if !ok {
		e, ok = registry.BySlug(registry.Slug(s))
	}
	if !ok {
		for _, old := range registry.All() {
			if !old.Current() && old.Slug() == registry.Slug(s) {
				e, ok = old, true
			}
		}
	}
	if !ok {
		if near := nearestCommunes(s); len(near) > 0 {
			return e, "", errors.New(p.T("new.didYouMean", "Typed", s, "Names", strings.Join(near, ", ")))
		}
		return e, "", errors.New(p.T("new.unknownCommune", "Typed", s))
	}
	if e.Current() {
		return e, "", nil
	}
	successor, found := registry.Lookup(e.Successor)
	if !found || !successor.Current() {
		return e, "", errors.New(p.T("new.retiredAlone", "Name", e.Name, "NIS", e.NIS, "Until", e.ValidUntil.Format("2006-01-02")))
	}
	notice := p.T("new.retired", "Name", e.Name, "NIS", e.NIS, "Until", e.ValidUntil.Format("2006-01-02"),
		"Successor", successor.LocalName(), "SuccessorNIS", successor.NIS)
	return successor, notice, nil
}

// nearestCommunes are the current communes whose slug is within two edits of what was typed,
// the nearest first (at most three).
func nearestCommunes(s string) []string {
	typed := registry.Slug(s)
	type near struct {
		name     string
		distance int
	}
	var found []near
	for _, e := range registry.CurrentEntries() {
		if d := levenshtein.ComputeDistance(typed, e.Slug()); d <= 2 {
			found = append(found, near{e.Name + " (" + e.NIS + ")", d})
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].distance < found[j].distance })
	var out []string
	for i := 0; i < len(found) && i < 3; i++ {
		out = append(out, found[i].name)
	}
	return out
}

// completeCommunes offers the slugs of the registry's current communes.
func completeCommunes(_ *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, e := range registry.CurrentEntries() {
		if strings.HasPrefix(e.Slug(), prefix) || strings.HasPrefix(e.NIS, prefix) {
			out = append(out, cobra.CompletionWithDesc(e.Slug(), e.Name+", "+e.NIS))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
