package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
)

// runNew writes the manifest of a new Commune or CPAS to stdout.
func runNew(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "commune" && args[0] != "cpas") {
		return usageError("new takes commune or cpas")
	}
	kind := args[0]
	fs := flag.NewFlagSet("new "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var apps, sets, seats, domains, shares, adminGroups multiFlag
	fs.Var(&apps, "app", "an application of the catalogue to subscribe to (repeatable)")
	fs.Var(&sets, "set", "a parameter of a subscription, as application.parameter=value, such as nextcloud.domain=cloud.liege.be (repeatable)")
	fs.Var(&seats, "seats", "the licence seats of a subscription, as application=count, such as esignature=25 (repeatable)")
	fs.Var(&domains, "domain", "a host name the tenant publishes, such as liege.be or *.liege.be (repeatable)")
	fs.Var(&adminGroups, "admin-group", "a group of the cell's identity provider that administers the tenant (repeatable)")
	if kind == "cpas" {
		fs.Var(&shares, "share", "an application of the commune the CPAS uses through synergy (repeatable)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: kubectl mutualis new %s <NIS or name> [flags]\n", kind)
		fs.PrintDefaults()
	}
	// the commune comes first, flags after it, as in kubectl mutualis new commune 62063 --app nextcloud
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		if len(args) >= 2 && (args[1] == "-h" || args[1] == "--help") {
			fs.Usage()
			return flag.ErrHelp
		}
		return usageError(fmt.Sprintf("new %s needs the commune's NIS code or name", kind))
	}
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("unexpected arguments %v", fs.Args()))
	}
	entry, err := lookupCommune(args[1])
	if err != nil {
		return err
	}
	spec := v1alpha1.TenantSpec{DisplayName: entry.Name}
	for _, a := range apps {
		spec.Applications = append(spec.Applications, v1alpha1.ApplicationSubscription{Name: a})
	}
	for _, s := range sets {
		app, rest, ok := strings.Cut(s, ".")
		param, value, ok2 := strings.Cut(rest, "=")
		if !ok || !ok2 || app == "" || param == "" {
			return usageError(fmt.Sprintf("--set takes application.parameter=value, not %q", s))
		}
		i := slices.IndexFunc(spec.Applications, func(a v1alpha1.ApplicationSubscription) bool { return a.Name == app })
		if i < 0 {
			return usageError(fmt.Sprintf("--set %s names an application not given with --app", s))
		}
		if spec.Applications[i].Parameters == nil {
			spec.Applications[i].Parameters = map[string]string{}
		}
		spec.Applications[i].Parameters[param] = value
	}
	for _, s := range seats {
		app, count, ok := strings.Cut(s, "=")
		n, err := strconv.ParseInt(count, 10, 32)
		i := slices.IndexFunc(spec.Applications, func(a v1alpha1.ApplicationSubscription) bool { return a.Name == app })
		switch {
		case !ok || err != nil || n < 1:
			return usageError(fmt.Sprintf("--seats takes application=count, not %q", s))
		case i < 0:
			return usageError(fmt.Sprintf("--seats %s names an application not given with --app", s))
		}
		spec.Applications[i].Seats = ptr.To(int32(n))
	}
	for _, d := range domains {
		spec.Domains = append(spec.Domains, v1alpha1.Domain(d))
	}
	for _, g := range adminGroups {
		spec.Admins = append(spec.Admins, rbacv1.Subject{Kind: rbacv1.GroupKind, Name: g})
	}
	var obj any
	var header string
	switch kind {
	case "commune":
		header = fmt.Sprintf("# %s (NIS %s, province of %s, %d inhabitants in the registry): its tier follows from the population.\n",
			entry.Name, entry.NIS, entry.Province, entry.Population)
		obj = &v1alpha1.Commune{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Commune"},
			ObjectMeta: metav1.ObjectMeta{Name: entry.Slug()},
			Spec:       v1alpha1.CommuneSpec{NIS: entry.NIS, TenantSpec: spec},
		}
	case "cpas":
		header = fmt.Sprintf("# The CPAS of %s (NIS %s): it needs the Commune %s in the same tree.\n", entry.Name, entry.NIS, entry.Slug())
		spec.DisplayName = "CPAS de " + entry.Name
		if entry.Language == "de" {
			spec.DisplayName = "ÖSHZ " + entry.Name
		}
		cpas := &v1alpha1.CPAS{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "CPAS"},
			ObjectMeta: metav1.ObjectMeta{Name: entry.Slug()},
			Spec:       v1alpha1.CPASSpec{CommuneRef: entry.Slug(), TenantSpec: spec},
		}
		cpas.Spec.Synergy.SharedApplications = shares
		obj = cpas
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	// a new object has no status, the API server fills its creation time, and the fields left
	// empty are the defaults' to fill
	delete(u, "status")
	dropEmpty(u)
	out, err := yaml.Marshal(u)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(stdout, header+string(out))
	return err
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

// lookupCommune finds a current commune of the registry by NIS code or by name (its slug).
func lookupCommune(s string) (registry.Entry, error) {
	e, ok := registry.Lookup(s)
	if !ok {
		e, ok = registry.BySlug(registry.Slug(s))
	}
	if !ok {
		return e, fmt.Errorf("%q is neither the NIS code nor the name of a Walloon commune of the registry", s)
	}
	if !e.Current() {
		return e, fmt.Errorf("NIS %s (%s) was retired on %s; its successor is %s: onboard the merged commune", e.NIS, e.Name, e.ValidUntil.Format("2006-01-02"), e.Successor)
	}
	return e, nil
}
