// Package cell sets up what a cell runs on the local cluster of hack/dev-cluster.sh, for the
// demo (hack/demo) and the benchmark (test/bench): what a cell installs before its first tenant,
// and the tenants it onboards, every current commune of the registry and its CPAS (or synthetic
// ones), each with the applications a commune takes.
package cell

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Applications are the catalogue entries every tenant uses, from config/samples/catalog: a
// commune runs Nextcloud (files) and iA.Delib (council meetings) and subscribes to the shared
// Jitsi (visio for remote council sessions); its CPAS runs its own iA.Delib, subscribes to Jitsi
// and uses the commune's Nextcloud through synergy.
var Applications = []string{"nextcloud", "iadelib", "jitsi"}

// Set is the tenants of a run.
type Set struct {
	// Name says what the set is: "registry" or "synthetic".
	Name string
	// Registry is false for synthetic tenants: the policy then has nisRegistry Disabled.
	Registry bool
	Tenants  []v1alpha1.Tenant
}

// Size is the number of tenants.
func (s Set) Size() int { return len(s.Tenants) }

// Parse reads "registry" (every current commune and its CPAS) or an even number of synthetic
// tenants, half communes with the registry's populations in turn (so that the tiers are spread as
// in Wallonia), half their CPAS.
func Parse(spec string) (Set, error) {
	if spec == "registry" {
		set := Set{Name: "registry", Registry: true}
		for _, e := range registry.CurrentEntries() {
			set.Tenants = append(set.Tenants, Commune(e.Slug(), e.NIS, nil), CPAS(e.Slug()))
		}
		return set, nil
	}
	n, err := strconv.Atoi(spec)
	if err != nil || n < 2 || n%2 != 0 || n > 2*80000 {
		return Set{}, fmt.Errorf(`the tenants are "registry" or an even number of synthetic tenants (at most 160000), not %q`, spec)
	}
	entries := registry.CurrentEntries()
	set := Set{Name: "synthetic"}
	for i := 0; i < n/2; i++ {
		population := entries[i%len(entries)].Population
		name := fmt.Sprintf("synth-%05d", i)
		set.Tenants = append(set.Tenants, Commune(name, strconv.Itoa(10000+i), &population), CPAS(name))
	}
	return set, nil
}

// Commune is a commune with its applications.
func Commune(name, nis string, population *int32) *v1alpha1.Commune {
	return &v1alpha1.Commune{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.CommuneSpec{NIS: nis, Population: population, TenantSpec: v1alpha1.TenantSpec{
			Applications: []v1alpha1.ApplicationSubscription{
				{Name: "nextcloud", Parameters: map[string]string{"domain": "cloud-" + name + ".apps.crtpl.be"}},
				{Name: "iadelib"},
				{Name: "jitsi"},
			},
		}},
	}
}

// CPAS is a commune's CPAS with its applications.
func CPAS(commune string) *v1alpha1.CPAS {
	return &v1alpha1.CPAS{
		ObjectMeta: metav1.ObjectMeta{Name: commune},
		Spec: v1alpha1.CPASSpec{
			CommuneRef: commune,
			TenantSpec: v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{{Name: "iadelib"}, {Name: "jitsi"}}},
			Synergy:    v1alpha1.SynergySpec{SharedApplications: []string{"nextcloud"}},
		},
	}
}

// NodesFor gives the cluster a simulated node per 1,000 pods, counting six pods a tenant (these
// applications run about two and a half: room for a heavier catalogue), and two to spare.
func NodesFor(tenants int) int { return tenants*6/1000 + 2 }

// Install puts on the cluster what a cell installs before its first tenant: the CRDs, the tenant
// roles, the admission policies, Velero's CRDs and namespace, the shipped TenancyPolicy (with the
// registry disabled for synthetic tenants) and the catalogue entries of Applications. root is the
// repository's root, where bin/ holds kubectl and Velero's CRDs.
func Install(root, kubeconfig string, registryOn bool) error {
	k := Kubectl{Root: root, Kubeconfig: kubeconfig}
	steps := [][]string{
		{"apply", "--server-side", "-f", "config/crd/bases", "-f", "config/rbac/tenant-roles.yaml", "-f", "config/admission/tenant-isolation.yaml", "-f", "bin/velero-crds/"},
		{"wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"},
		{"create", "namespace", "mutualis-system"},
		{"create", "namespace", "velero"},
	}
	for _, s := range steps {
		if _, err := k.Run("", s...); err != nil {
			return err
		}
	}
	policy, err := os.ReadFile(filepath.Join(root, "config/samples/platform/tenancypolicy.yaml"))
	if err != nil {
		return err
	}
	if !registryOn {
		policy = []byte(strings.Replace(string(policy), "nisRegistry: Embedded", "nisRegistry: Disabled", 1))
	}
	if _, err := k.Run(string(policy), "apply", "--server-side", "-f", "-"); err != nil {
		return err
	}
	for _, app := range Applications {
		if _, err := k.Run("", "apply", "--server-side", "-f", filepath.Join("config/samples/catalog", app+".yaml")); err != nil {
			return err
		}
	}
	return nil
}

// Kubectl runs bin/kubectl of the repository against one cluster.
type Kubectl struct{ Root, Kubeconfig string }

// Run runs kubectl with stdin, and returns its output; an error carries the output.
func (k Kubectl) Run(stdin string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(k.Root, "bin", "kubectl"), args...)
	cmd.Dir = k.Root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.Kubeconfig)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// Create creates the tenants with parallel clients, as a GitOps tool syncing a repository would.
// It returns the first error, after trying every tenant.
func Create(ctx context.Context, c client.Client, tenants []v1alpha1.Tenant, workers int) error {
	work := make(chan v1alpha1.Tenant)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				if err := c.Create(ctx, t.DeepCopyObject().(client.Object)); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("creating %s %s: %w", t.TenantKind(), t.GetName(), err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, t := range tenants {
		work <- t
	}
	close(work)
	wg.Wait()
	return first
}
