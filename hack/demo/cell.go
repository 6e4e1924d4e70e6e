package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
)

// cellOpened begins the year over which the demo's tenants joined the cell: its first, from
// September 2021, so that the funding lines of the sample policy (2021 to 2023) have days to count.
var cellOpened = time.Date(2021, 9, 1, 0, 0, 0, 0, time.UTC)

// cpasCouncil is the size of a CPAS's council of social action by its commune's population, by the
// organic law's scale (9, 11, 13 or 15 members): the demo's assumption, where a real CPAS
// declares its own.
func cpasCouncil(population int32) int32 {
	switch {
	case population < 15000:
		return 9
	case population <= 50000:
		return 11
	case population <= 150000:
		return 13
	}
	return 15
}

// decorate gives the demo's tenants what a cell's Git holds beyond the registry: the day each
// commune joined (spread over the cell's first year by its NIS, the same on every run; its CPAS
// with it), the size of each CPAS's council, and the contacts the sample tenants declare (the
// record of processing activities names them).
func decorate(tenants []v1alpha1.Tenant, samples map[string]*v1alpha1.TenantContacts) {
	joined := map[string]v1alpha1.Date{}
	for _, t := range tenants {
		if c, ok := t.(*v1alpha1.Commune); ok {
			h := fnv.New32a()
			_, _ = h.Write([]byte(c.Spec.NIS))
			joined[c.Name] = v1alpha1.Date(cellOpened.AddDate(0, 0, int(h.Sum32()%365)).Format(time.DateOnly))
		}
	}
	for _, t := range tenants {
		spec := t.TenantSpec()
		switch o := t.(type) {
		case *v1alpha1.Commune:
			spec.JoinedOn = joined[o.Name]
		case *v1alpha1.CPAS:
			spec.JoinedOn = joined[o.Spec.CommuneRef]
			var population int32
			for _, c := range tenants {
				if commune, ok := c.(*v1alpha1.Commune); ok && commune.Name == o.Spec.CommuneRef {
					if e, ok := registry.Lookup(commune.Spec.NIS); ok {
						population = e.Population
					}
					if commune.Spec.Population != nil {
						population = *commune.Spec.Population
					}
				}
			}
			spec.Councillors = ptr.To(cpasCouncil(population))
		}
		if c, ok := samples[t.TenantKind().Kind()+"/"+t.GetName()]; ok {
			spec.Contacts = c
		}
	}
}

// sampleContacts are the contacts of the tenants of config/samples/tenants, by Kind/name.
func sampleContacts(root string) (map[string]*v1alpha1.TenantContacts, error) {
	files, err := filepath.Glob(filepath.Join(root, "config", "samples", "tenants", "*", "*.yaml"))
	if err != nil {
		return nil, err
	}
	out := map[string]*v1alpha1.TenantContacts{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			var obj struct {
				Kind     string
				Metadata struct{ Name string }
				Spec     struct{ Contacts *v1alpha1.TenantContacts }
			}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if obj.Spec.Contacts != nil && (obj.Kind == "Commune" || obj.Kind == "CPAS") {
				out[obj.Kind+"/"+obj.Metadata.Name] = obj.Spec.Contacts
			}
		}
	}
	return out, nil
}

// reports shows what the plugin reports of the demo's cell: the yearly participation, what each
// funding line of the sample policy pays and the barometer, each as its last lines (the totals),
// and the head of Namur's record of processing activities (its contacts and where its data lives).
func (d *demo) reports(ctx context.Context) error {
	plugin := filepath.Join(d.work, "kubectl-mutualis")
	build := exec.CommandContext(ctx, "go", "build", "-o", plugin, "./cmd/kubectl-mutualis")
	build.Dir = d.root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the plugin: %v\n%s", err, out)
	}
	for _, report := range []struct {
		args []string
		last int
		head bool
	}{
		{[]string{"report"}, 3, false},
		{[]string{"report", "funding", "--line", "reunions-a-distance"}, 4, false},
		{[]string{"report", "funding", "--line", "informatique-locale"}, 4, false},
		{[]string{"report", "barometer"}, 6, false},
		{[]string{"report", "gdpr", "commune/namur"}, 11, true},
	} {
		cmd := exec.CommandContext(ctx, plugin, append(report.args, "--kubeconfig", d.kubeconfig)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("kubectl mutualis %s: %v\n%s", strings.Join(report.args, " "), err, stderr.String())
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		shown, which := lines[max(0, len(lines)-report.last):], "last"
		if report.head {
			shown, which = lines[:min(report.last, len(lines))], "first"
		}
		fmt.Printf("\n$ kubectl mutualis %s   (%d lines; the %s %d)\n", strings.Join(report.args, " "), len(lines), which, len(shown))
		for _, l := range shown {
			fmt.Println("  " + l)
		}
	}
	return nil
}
