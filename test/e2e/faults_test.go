package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// communesOf picks current communes of the registry whose NIS code starts with one of the prefixes,
// leaving out the codes other tests use.
func communesOf(n int, prefixes ...string) []*v1alpha1.Commune {
	taken := map[string]bool{"62108": true, "64074": true, "64034": true, "62063": true, "61031": true, "83012": true, "92094": true, "91030": true, "91034": true, "91054": true, "25072": true, "25105": true}
	var out []*v1alpha1.Commune
	for _, e := range registry.CurrentEntries() {
		for _, p := range prefixes {
			if strings.HasPrefix(e.NIS, p) && !taken[e.NIS] && len(out) < n {
				out = append(out, &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: e.Slug()}, Spec: v1alpha1.CommuneSpec{NIS: e.NIS}})
			}
		}
	}
	return out
}

// createAll creates tenants with a few clients at once, as a GitOps tool applying a repository does.
func createAll(t *testing.T, tenants []*v1alpha1.Commune) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(tenants))
	work := make(chan *v1alpha1.Commune)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := k8s.Create(context.Background(), c); err != nil {
					errs <- fmt.Errorf("%s: %w", c.Name, err)
				}
			}
		}()
	}
	for _, c := range tenants {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// readyCount counts the tenants of a list that are Ready for their current generation.
func readyCount(names map[string]bool) (int, error) {
	list := &v1alpha1.CommuneList{}
	if err := k8s.List(context.Background(), list); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range list.Items {
		cond := meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionReady)
		if names[c.Name] && cond != nil && cond.Status == metav1.ConditionTrue && c.Status.ObservedGeneration == c.Generation {
			n++
		}
	}
	return n, nil
}

// onboardingProgress counts, among the named communes, those Ready for their generation and
// those whose namespace exists while they are not Ready.
func onboardingProgress(names map[string]bool) (ready, halfApplied int, err error) {
	communes := &v1alpha1.CommuneList{}
	if err := observer.List(context.Background(), communes); err != nil {
		return 0, 0, err
	}
	namespaces := &corev1.NamespaceList{}
	if err := observer.List(context.Background(), namespaces, client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}); err != nil {
		return 0, 0, err
	}
	exists := map[string]bool{}
	for _, ns := range namespaces.Items {
		exists[ns.Name] = true
	}
	for i := range communes.Items {
		c := &communes.Items[i]
		if !names[c.Name] {
			continue
		}
		cond := meta.FindStatusCondition(c.Status.Conditions, v1alpha1.ConditionReady)
		switch {
		case cond != nil && cond.Status == metav1.ConditionTrue && c.Status.ObservedGeneration == c.Generation:
			ready++
		case exists[c.TenantNamespace()]:
			halfApplied++
		}
	}
	return ready, halfApplied, nil
}

func allReady(t *testing.T, tenants []*v1alpha1.Commune, timeout time.Duration) {
	t.Helper()
	names := map[string]bool{}
	for _, c := range tenants {
		names[c.Name] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		n, err := readyCount(names)
		if err == nil && n == len(tenants) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d of %d tenants Ready (%v)", timeout, n, len(tenants), err)
		}
		time.Sleep(time.Second)
	}
}

// managedUIDs lists the uid of every object of the tenant contract that mutualis manages.
func managedUIDs(t *testing.T) map[string]types.UID {
	t.Helper()
	out := map[string]types.UID{}
	sel := client.MatchingLabels{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}
	lists := map[string]client.ObjectList{
		"Namespace": &corev1.NamespaceList{}, "ResourceQuota": &corev1.ResourceQuotaList{}, "LimitRange": &corev1.LimitRangeList{},
		"NetworkPolicy": &networkingv1.NetworkPolicyList{}, "RoleBinding": &rbacv1.RoleBindingList{},
	}
	for kind, list := range lists {
		if err := k8s.List(context.Background(), list, sel); err != nil {
			t.Fatal(err)
		}
		items, _ := meta.ExtractList(list)
		for _, item := range items {
			o := item.(client.Object)
			out[kind+"/"+o.GetNamespace()+"/"+o.GetName()] = o.GetUID()
		}
	}
	return out
}

// The operator is killed (SIGKILL) while it onboards 100 communes; once restarted, every tenant
// converges, with nothing duplicated and nothing it had created deleted.
func TestOperatorKilledMidOnboarding(t *testing.T) {
	tenants := communesOf(100, "5", "8")
	if len(tenants) != 100 {
		t.Fatalf("only %d communes picked", len(tenants))
	}
	names := map[string]bool{}
	for _, c := range tenants {
		names[c.Name] = true
	}
	// the first half is applied while the operator is down (a throttled client creating them one
	// by one would let it keep up), then the operator starts on all fifty at once and dies while
	// some of them are half applied; the second half is applied while it is down, as a GitOps tool
	// goes on applying
	killOperator()
	createAll(t, tenants[:50])
	if err := startOperator(managerPath); err != nil {
		t.Fatal(err)
	}
	// the kill comes as soon as some tenants have their namespace and are not Ready yet: a
	// tenant is onboarded in well under a second, so waiting for a count of Ready tenants
	// instead left nothing half applied on a fast machine
	deadline := time.Now().Add(time.Minute)
	for {
		ready, halfApplied, err := onboardingProgress(names)
		if err != nil {
			t.Fatal(err)
		}
		if halfApplied >= 2 {
			killOperator()
			t.Logf("killed the operator with %d of %d tenants Ready and %d half applied", ready, len(tenants), halfApplied)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tenant was seen half applied in a minute (%d Ready)", ready)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// the kill must have cut onboarding short: some tenants of the first half have a namespace
	// and are not Ready, so that what follows proves a restart finishes half-applied tenants
	readyAtKill, halfApplied, err := onboardingProgress(names)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the kill: %d of 50 tenants Ready, %d with a namespace and not Ready", readyAtKill, halfApplied)
	if halfApplied == 0 {
		t.Fatalf("no tenant was half applied at the kill (%d Ready): the test proves nothing", readyAtKill)
	}
	createAll(t, tenants[50:])
	before := managedUIDs(t)
	if err := startOperator(managerPath); err != nil {
		t.Fatal(err)
	}
	allReady(t, tenants, 3*time.Minute)

	after := managedUIDs(t)
	for key, uid := range before {
		if after[key] != uid {
			t.Errorf("%s was deleted or replaced after the restart (uid %s, now %q)", key, uid, after[key])
		}
	}
	// exactly the tenant contract in every namespace, once
	perNamespace := map[string]int{}
	for key := range after {
		parts := strings.SplitN(key, "/", 3)
		if parts[0] != "Namespace" {
			perNamespace[parts[1]]++
		}
	}
	for _, c := range tenants {
		ns := c.TenantNamespace()
		if _, ok := after["Namespace//"+ns]; !ok {
			t.Errorf("namespace %s missing", ns)
		}
		if got := perNamespace[ns]; got != 13 { // quota, limits, 9 network policies, 2 role bindings
			t.Errorf("namespace %s holds %d objects of the tenant contract, want 13", ns, got)
		}
	}
}

// Drift across 30 tenants at once: network policies deleted, quotas edited, role bindings deleted,
// all at the same moment; everything is put back.
func TestDriftStorm(t *testing.T) {
	ctx := context.Background()
	tenants := communesOf(30, "6")
	createAll(t, tenants)
	allReady(t, tenants, 2*time.Minute)
	original := map[string]corev1.ResourceList{}
	for _, c := range tenants {
		q := &corev1.ResourceQuota{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: c.TenantNamespace(), Name: tenant.QuotaName}, q); err != nil {
			t.Fatal(err)
		}
		original[c.TenantNamespace()] = q.Spec.Hard
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*len(tenants))
	for _, c := range tenants {
		ns := c.TenantNamespace()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k8s.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenant.NetpolDefaultDeny}}); err != nil {
				errs <- err
			}
			if err := k8s.Delete(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenant.AdminsBindingName}}); err != nil {
				errs <- err
			}
			q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenant.QuotaName}}
			if err := k8s.Patch(ctx, q, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"hard":{"pods":"1000","requests.cpu":"500"}}}`))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() error {
		for _, c := range tenants {
			ns := c.TenantNamespace()
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant.NetpolDefaultDeny}, &networkingv1.NetworkPolicy{}); err != nil {
				return fmt.Errorf("%s: %w", ns, err)
			}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant.AdminsBindingName}, &rbacv1.RoleBinding{}); err != nil {
				return fmt.Errorf("%s: %w", ns, err)
			}
			q := &corev1.ResourceQuota{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant.QuotaName}, q); err != nil {
				return err
			}
			pods, cpu := q.Spec.Hard[corev1.ResourcePods], q.Spec.Hard[corev1.ResourceRequestsCPU]
			if pods.Cmp(original[ns][corev1.ResourcePods]) != 0 || cpu.Cmp(original[ns][corev1.ResourceRequestsCPU]) != 0 {
				return fmt.Errorf("%s: quota still edited: pods %s, cpu %s", ns, pods.String(), cpu.String())
			}
		}
		return nil
	})
}

// Argo CD prunes with a foreground cascade, as kubectl delete --cascade=foreground does: the
// garbage collector deletes the tenant's dependents before its finalizer runs. A Delete tenant's
// namespace is none of them: it stays, data included, until the final backup has completed.
func TestForegroundPruneWaitsForTheFinalBackup(t *testing.T) {
	ctx := context.Background()
	// the real Velero, its server held back while the prune runs, so that the final backup waits
	v := startVelero(t)
	v.stopServer()

	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "waremme"}, Spec: v1alpha1.CommuneSpec{NIS: "64074",
		TenantSpec: v1alpha1.TenantSpec{DeletionPolicy: v1alpha1.DeletionPolicyDelete}}}
	create(t, c)
	eventually(t, time.Minute, ready(c))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "commune-waremme"}}
	minutes := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "council-minutes", Namespace: ns.Name}, Data: map[string]string{"2026-11-26": "approved"}}
	create(t, minutes)
	witness := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gc-witness-waremme", Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Commune", Name: c.Name, UID: c.UID, BlockOwnerDeletion: ptrTrue()}}}}
	create(t, witness)

	if err := k8s.Delete(ctx, c, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
		t.Fatal(err)
	}
	// the collector has run: the tenant's own dependents are gone
	eventually(t, time.Minute, gone(witness))
	final := backup.FinalBackupName(ns.Name, c.UID)
	eventually(t, time.Minute, func() error { _, err := veleroGet("Backup", final); return err })
	time.Sleep(3 * time.Second)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(ns), ns); err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("the namespace went before its final backup: %v %v", err, ns.DeletionTimestamp)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(minutes), minutes); err != nil {
		t.Fatalf("the council minutes went before the final backup: %v", err)
	}
	v.startServer(t)
	eventually(t, 2*time.Minute, backupPhase(final, "Completed"))
	eventually(t, 2*time.Minute, gone(ns))
	eventually(t, time.Minute, gone(c))
}

func ptrTrue() *bool { v := true; return &v }

// A tenant admin as kubectl --as acts, on the cluster: what RBAC and the admission policies refuse.
// The full list of escapes runs on envtest (controllers/isolation_test.go); this proves that the
// shipped objects do the same on a cluster with the garbage collector and the namespace controller.
func TestTenantAdminOnTheCluster(t *testing.T) {
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "vise"}, Spec: v1alpha1.CommuneSpec{NIS: "62108"}}
	c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "vise-it", APIGroup: rbacv1.GroupName}}
	c.Spec.Domains = []v1alpha1.Domain{"vise.be"}
	create(t, c)
	eventually(t, time.Minute, ready(c))
	as := []string{"--as=it@vise.be", "--as-group=vise-it"}
	can := func(args ...string) string {
		out, _ := exec.Command(filepath.Join(root, "bin", "kubectl"), append(append([]string{"--kubeconfig", kubeconfig, "auth", "can-i"}, args...), as...)...).Output()
		return strings.TrimSpace(string(out))
	}
	for _, q := range [][]string{
		{"update", "resourcequotas", "-n", "commune-vise"},
		{"get", "secrets", "-n", "commune-liege"},
		{"patch", "namespaces/commune-vise"},
	} {
		if got := can(q...); got != "no" {
			t.Errorf("kubectl auth can-i %s as the tenant admin: %s", strings.Join(q, " "), got)
		}
	}
	if got := can("create", "networkpolicies", "-n", "commune-vise"); got != "yes" {
		t.Errorf("the tenant admin may create its own network policies: %s", got)
	}
	refusedByKubectl := func(manifest, want string) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "obj.yaml")
		if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(root, "bin", "kubectl"), append([]string{"--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", file}, as...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("kubectl apply as the tenant admin: err=%v, output %s; want %q", err, out, want)
		}
	}
	refusedByKubectl(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"into-liege","namespace":"commune-vise"},"spec":{"type":"ExternalName","externalName":"files.commune-liege.svc.cluster.local"}}`,
		"may only point to a Service of the partner tenant")
	refusedByKubectl(`{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"steal","namespace":"commune-vise"},"spec":{"rules":[{"host":"liege.be","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}`,
		"is not among the domains of this tenant")
	refusedByKubectl(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"root","namespace":"commune-vise"},"spec":{"containers":[{"name":"c","image":"busybox:1.37","securityContext":{"privileged":true}}]}}`,
		"violates PodSecurity")
	refusedByKubectl(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"mutualis-default-deny","namespace":"commune-vise"},"spec":{"podSelector":{}}}`,
		"belong to the cell")
}

// kube-apiserver (and the rest of the control plane) restarts under the running operator: the
// operator recovers by itself, without a restart of its own, and serves a change made afterwards.
func TestAPIServerRestart(t *testing.T) {
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "hannut"}, Spec: v1alpha1.CommuneSpec{NIS: "64034"}}
	create(t, c)
	eventually(t, time.Minute, ready(c))
	kwokctl := func(args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(root, "bin", "kwokctl"), append([]string{"--name", clusterName}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kwokctl %v: %v\n%s", args, err, out)
		}
	}
	kwokctl("stop", "cluster")
	time.Sleep(2 * time.Second)
	kwokctl("start", "cluster")
	eventually(t, time.Minute, func() error { return k8s.Get(context.Background(), client.ObjectKeyFromObject(c), c) })
	if !operator.running() {
		t.Fatal("the operator exited when the API server went away")
	}
	base := c.DeepCopy()
	c.Spec.Tier = "S"
	if err := k8s.Patch(context.Background(), c, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() error {
		if err := ready(c)(); err != nil {
			return err
		}
		if c.Status.Tier != "S" || c.Status.ObservedGeneration != c.Generation {
			return fmt.Errorf("tier %s at generation %d of %d", c.Status.Tier, c.Status.ObservedGeneration, c.Generation)
		}
		return nil
	})
	if !operator.running() {
		t.Fatal("the operator exited after the API server came back")
	}
}

// reconciledOnce reads an operator's metrics and says how many reconciles each controller ended,
// successful or not.
func reconciledOnce(metricsAddr string) (map[string]int, error) {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return reconcileTotals(resp.Body)
}

// reconcileTotals reads controller-runtime's reconcile counters of a metrics page, by controller.
func reconcileTotals(page io.Reader) (map[string]int, error) {
	out := map[string]int{}
	scan := bufio.NewScanner(page)
	scan.Buffer(make([]byte, 1024*1024), 1024*1024)
	for scan.Scan() {
		line := scan.Text()
		rest, ok := strings.CutPrefix(line, `controller_runtime_reconcile_total{controller="`)
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, `"`)
		fields := strings.Fields(line)
		n, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
		out[name] += int(n)
	}
	return out, scan.Err()
}

// writesOf reads an operator's client metrics and counts the requests that wrote to the API server.
func writesOf(metricsAddr string) (int, error) {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	total := 0
	scan := bufio.NewScanner(resp.Body)
	scan.Buffer(make([]byte, 1024*1024), 1024*1024)
	for scan.Scan() {
		line := scan.Text()
		if !strings.HasPrefix(line, "rest_client_requests_total{") {
			continue
		}
		for _, verb := range []string{`method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`} {
			if strings.Contains(line, verb) {
				fields := strings.Fields(line)
				n, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
				total += int(n)
			}
		}
	}
	return total, scan.Err()
}

// Two operators with leader election: the one that is not leader writes nothing while the leader
// works; the leader is killed while tenants change, and the other takes over and serves them.
func TestLeaderFailover(t *testing.T) {
	const standbyMetrics = "127.0.0.1:18089"
	standby, err := launchOperator(operatorLog+".standby", "--metrics-bind-address="+standbyMetrics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if standby != operator {
			standby.kill()
		}
	})
	eventually(t, 30*time.Second, func() error { _, err := writesOf(standbyMetrics); return err })
	tenants := communesOf(10, "9")
	createAll(t, tenants)
	allReady(t, tenants, time.Minute)
	if n, err := writesOf(standbyMetrics); err != nil || n != 0 {
		t.Fatalf("the operator that is not leader wrote %d times (%v)", n, err)
	}

	// the leader dies while tenants change; the lease is not released, the other waits it out
	for _, c := range tenants[:5] {
		base := c.DeepCopy()
		c.Spec.Tier = "M"
		if err := k8s.Patch(context.Background(), c, client.MergeFrom(base)); err != nil {
			t.Fatal(err)
		}
	}
	killOperator()
	operator = standby
	eventually(t, time.Minute, func() error {
		for _, c := range tenants[:5] {
			if err := ready(c)(); err != nil {
				return err
			}
			if c.Status.Tier != "M" || c.Status.ObservedGeneration != c.Generation {
				return fmt.Errorf("%s: tier %s at generation %d of %d", c.Name, c.Status.Tier, c.Status.ObservedGeneration, c.Generation)
			}
		}
		return nil
	})
	if n, err := writesOf(standbyMetrics); err != nil || n == 0 {
		t.Fatalf("the new leader should have written the changes: %d writes (%v)", n, err)
	}
	q := &corev1.ResourceQuota{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: tenants[0].TenantNamespace(), Name: tenant.QuotaName}, q); err != nil {
		t.Fatal(err)
	}
	if cpu := q.Spec.Hard[corev1.ResourceRequestsCPU]; cpu.Cmp(resource.MustParse("8")) != 0 {
		t.Errorf("the new leader did not apply tier M: requests.cpu %s", cpu.String())
	}
}
