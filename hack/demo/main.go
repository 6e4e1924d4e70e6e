// Command demo shows mutualis doing its job on the local cluster (make demo, make demo-down):
// every current Walloon commune of the registry and its CPAS, each with the applications a
// commune takes, onboarded at once as a GitOps sync would, followed until every tenant is Ready,
// then summed up. The cluster and the operator keep running for a look with kubectl.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/test/cell"
)

func main() {
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	name := fs.String("cluster", "mutualis-demo", "the local cluster's name")
	kubeconfig := fs.String("kubeconfig", ".kube/mutualis-demo.yaml", "where the cluster's kubeconfig goes")
	tenants := fs.String("tenants", "registry", `"registry" (every current commune and its CPAS) or an even number of synthetic tenants`)
	timeout := fs.Duration("timeout", 30*time.Minute, "how long the tenants may take to become Ready")
	if len(os.Args) < 2 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: demo up|down [flags] (make demo, make demo-down)")
		os.Exit(2)
	}
	_ = fs.Parse(os.Args[2:])
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	d := &demo{root: root, name: *name, kubeconfig: *kubeconfig, work: filepath.Join(root, ".demo")}
	if !filepath.IsAbs(d.kubeconfig) {
		d.kubeconfig = filepath.Join(root, d.kubeconfig)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch os.Args[1] {
	case "up":
		set, err := cell.Parse(*tenants)
		if err != nil {
			fail(err)
		}
		ok, err := d.up(ctx, set, *timeout)
		if err != nil {
			fail(err)
		}
		if !ok {
			os.Exit(1)
		}
	case "down":
		d.down()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demo:", err)
	os.Exit(2)
}

type demo struct {
	root, name, kubeconfig, work string
}

func (d *demo) pidFile() string { return filepath.Join(d.work, "operator.pid") }
func (d *demo) logFile() string { return filepath.Join(d.work, "operator.log") }

func say(format string, args ...any) {
	fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (d *demo) up(ctx context.Context, set cell.Set, timeout time.Duration) (bool, error) {
	start := time.Now()
	if err := os.MkdirAll(d.work, 0o755); err != nil {
		return false, err
	}
	d.stopOperator()
	nodes := cell.NodesFor(set.Size())
	say("starting the local cluster %s (%d simulated nodes, room for %d Service IPs and every volume)", d.name, nodes, 65534)
	up := exec.CommandContext(ctx, filepath.Join(d.root, "hack", "dev-cluster.sh"), "up", d.name, d.kubeconfig)
	up.Dir = d.root
	up.Env = append(os.Environ(), "NODES="+strconv.Itoa(nodes))
	if out, err := up.CombinedOutput(); err != nil {
		return false, fmt.Errorf("hack/dev-cluster.sh up: %v\n%s", err, out)
	}
	say("installing mutualis (CRDs, tenant roles, admission policies), Velero's CRDs, the sample TenancyPolicy and catalogue (%s)", strings.Join(cell.Applications, ", "))
	if err := cell.Install(d.root, d.kubeconfig, set.Registry); err != nil {
		return false, err
	}
	if err := d.startOperator(); err != nil {
		return false, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", d.kubeconfig)
	if err != nil {
		return false, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return false, err
	}
	communes := 0
	for _, t := range set.Tenants {
		if t.TenantKind() == v1alpha1.KindCommune {
			communes++
		}
	}
	if set.Registry {
		contacts, err := sampleContacts(d.root)
		if err != nil {
			return false, err
		}
		decorate(set.Tenants, contacts)
	}
	say("onboarding %d communes and their %d CPAS at once, as a GitOps sync would", communes, set.Size()-communes)
	onboarded := time.Now()
	if err := cell.Create(ctx, c, set.Tenants, 16); err != nil {
		return false, err
	}
	tenants, err := d.follow(ctx, c, set.Size(), onboarded, timeout)
	if err != nil {
		return false, err
	}
	ok := summarize(tenants, set.Size(), onboarded, start)
	if err := d.reports(ctx); err != nil {
		return false, err
	}
	fmt.Printf("\nThe cluster and the operator keep running (its log: %s):\n  export KUBECONFIG=%s\n  bin/kubectl get communes,cpas\nmake demo-down removes them.\n",
		rel(d.root, d.logFile()), rel(d.root, d.kubeconfig))
	return ok, nil
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}

// startOperator builds nothing (make demo built bin/manager) and runs the operator detached from
// this process, so that it outlives the demo's command until make demo-down.
func (d *demo) startOperator() error {
	log, err := os.OpenFile(d.logFile(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(filepath.Join(d.root, "bin", "manager"), "--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+d.kubeconfig)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting bin/manager (make demo builds it): %w", err)
	}
	say("the operator runs as process %d, logging to %s", cmd.Process.Pid, rel(d.root, d.logFile()))
	return os.WriteFile(d.pidFile(), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
}

// stopOperator ends the operator of an earlier demo, if it runs.
func (d *demo) stopOperator() {
	data, err := os.ReadFile(d.pidFile())
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if p, err := os.FindProcess(pid); err == nil && pid > 0 {
		if p.Signal(syscall.SIGTERM) == nil {
			for i := 0; i < 100 && p.Signal(syscall.Signal(0)) == nil; i++ {
				time.Sleep(100 * time.Millisecond)
			}
			_ = p.Signal(syscall.SIGKILL)
		}
	}
	_ = os.Remove(d.pidFile())
}

func (d *demo) down() {
	d.stopOperator()
	down := exec.Command(filepath.Join(d.root, "hack", "dev-cluster.sh"), "down", d.name, d.kubeconfig)
	down.Dir, down.Stdout, down.Stderr = d.root, os.Stdout, os.Stderr
	if err := down.Run(); err != nil {
		fail(err)
	}
	fmt.Println("the demo's operator and cluster are gone")
}

// follow lists the tenants every 5 s (two light lists: the demo must not compete with the
// operator) and prints a progress line until every one is Ready or the time is up.
func (d *demo) follow(ctx context.Context, c client.Client, want int, since time.Time, timeout time.Duration) ([]v1alpha1.Tenant, error) {
	deadline := since.Add(timeout)
	for {
		tenants, err := v1alpha1.ListTenants(ctx, c)
		if err != nil {
			return nil, err
		}
		ready, apps, appsReady := 0, 0, 0
		for _, t := range tenants {
			if isReady(t) {
				ready++
			}
			for _, a := range t.TenantStatus().Applications {
				apps++
				if a.Ready {
					appsReady++
				}
			}
		}
		say("%d/%d tenants Ready, %d/%d applications ready, %s", ready, want, appsReady, apps, time.Since(since).Round(time.Second))
		if ready == want || time.Now().After(deadline) {
			return tenants, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

func readyCondition(t v1alpha1.Tenant) *metav1.Condition {
	return meta.FindStatusCondition(t.TenantStatus().Conditions, v1alpha1.ConditionReady)
}

func isReady(t v1alpha1.Tenant) bool {
	c := readyCondition(t)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == t.GetGeneration()
}

// summarize prints the counts by tier and kind and by condition, the slowest tenants and every
// tenant not Ready with its condition's message; it says whether every tenant is Ready.
func summarize(tenants []v1alpha1.Tenant, want int, onboarded, start time.Time) bool {
	tiers := map[string][2]int{}
	reasons := map[string]int{}
	type took struct {
		id string
		d  time.Duration
	}
	var times []took
	var notReady []string
	ready := 0
	for _, t := range tenants {
		st := t.TenantStatus()
		n := tiers[st.Tier]
		if t.TenantKind() == v1alpha1.KindCommune {
			n[0]++
		} else {
			n[1]++
		}
		tiers[st.Tier] = n
		c := readyCondition(t)
		id := fmt.Sprintf("%s %s", t.TenantKind().Kind(), t.GetName())
		switch {
		case c == nil:
			reasons["no Ready condition"]++
			notReady = append(notReady, id+": no Ready condition yet")
		case isReady(t):
			ready++
			reasons["Ready"]++
			times = append(times, took{id, c.LastTransitionTime.Sub(t.GetCreationTimestamp().Time)})
		default:
			reasons[c.Reason]++
			notReady = append(notReady, fmt.Sprintf("%s: %s: %s", id, c.Reason, c.Message))
		}
	}
	fmt.Printf("\n%d of %d tenants Ready, %s after the tenants were created (%s in all, with the cluster)\n\n",
		ready, want, time.Since(onboarded).Round(time.Second), time.Since(start).Round(time.Second))
	fmt.Println("| tier | communes | CPAS |\n|---|---|---|")
	var names []string
	for tier := range tiers {
		names = append(names, tier)
	}
	sort.Slice(names, func(i, j int) bool { return tierOrder(names[i]) < tierOrder(names[j]) })
	for _, tier := range names {
		label := tier
		if label == "" {
			label = "(none yet)"
		}
		fmt.Printf("| %s | %d | %d |\n", label, tiers[tier][0], tiers[tier][1])
	}
	fmt.Println("\n| Ready condition | tenants |\n|---|---|")
	var rs []string
	for r := range reasons {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	for _, r := range rs {
		fmt.Printf("| %s | %d |\n", r, reasons[r])
	}
	sort.Slice(times, func(i, j int) bool { return times[i].d > times[j].d })
	if len(times) > 0 {
		fmt.Println("\nThe slowest tenants, from creation to Ready:")
		for _, t := range times[:min(5, len(times))] {
			fmt.Printf("  %-32s %s\n", t.id, t.d.Round(time.Second))
		}
	}
	if len(notReady) > 0 {
		sort.Strings(notReady)
		fmt.Printf("\nNot Ready (%d):\n", len(notReady))
		for _, n := range notReady[:min(20, len(notReady))] {
			fmt.Println("  " + n)
		}
	}
	return ready == want && len(tenants) == want
}

// tierOrder sorts the tiers from the smallest, the shipped ones first.
func tierOrder(t string) string {
	for i, name := range []string{"S", "M", "L", "XL", "XXL"} {
		if t == name {
			return strconv.Itoa(i)
		}
	}
	return "9" + t
}
