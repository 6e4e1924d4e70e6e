// Package e2e runs mutualis as a process against the local cluster of hack/dev-cluster.sh: a real
// control plane with kube-controller-manager (namespace controller, garbage collector) and kwok's
// simulated nodes, so that deletion and garbage collection behave as in production.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

const clusterName = "mutualis-e2e"

var (
	root       string
	kubeconfig string
	k8s        client.Client
	// observer reads without client-side rate limiting, for polls that must see a short moment
	observer    client.Client
	operator    *process
	operatorLog string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	root, err = filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	work, err := os.MkdirTemp("", "mutualis-e2e-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(work)
	kubeconfig = filepath.Join(work, "kubeconfig.yaml")
	operatorLog = filepath.Join(work, "operator.log")

	step := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := step("hack/dev-cluster.sh", "up", clusterName, kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = step("hack/dev-cluster.sh", "down", clusterName, kubeconfig) }()
	// the CRDs, the tenant roles and the admission policies of tenant isolation, as installed
	if err := step("bin/kubectl", "apply", "--server-side", "-f", "config/crd/bases", "-f", "config/rbac/tenant-roles.yaml", "-f", "config/admission/tenant-isolation.yaml"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := step("bin/kubectl", "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := step("bin/kubectl", "create", "namespace", "mutualis-system"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// the operator of every test is the binary of the image that make image builds, as a cell
	// would run it (the local cluster has no container runtime to run the image itself)
	imageLayout = filepath.Join(work, "image")
	if err := step("go", "run", "./hack/release", "image", "-out", imageLayout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	managerBin := filepath.Join(work, "manager")
	extract := exec.Command("go", "run", "./hack/release", "extract", "-from", imageLayout, "-out", managerBin)
	extract.Dir = root
	extract.Stderr = os.Stderr
	digest, err := extract.Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "extracting the operator from its image:", err)
		return 1
	}
	imageDigest = strings.TrimSpace(string(digest))

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		panic(err)
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	unlimited := rest.CopyConfig(cfg)
	unlimited.QPS = -1
	if observer, err = client.New(unlimited, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}

	if err := startOperator(managerBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	stopOperator()
	if code != 0 {
		if log, err := os.ReadFile(operatorLog); err == nil {
			lines := strings.Split(string(log), "\n")
			if len(lines) > 80 {
				lines = lines[len(lines)-80:]
			}
			fmt.Fprintf(os.Stderr, "--- last lines of the operator's log:\n%s\n", strings.Join(lines, "\n"))
		}
	}
	return code
}

var managerPath string

// process is one operator process; exited is closed once it has ended.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// running says whether the process is still alive.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func startOperator(bin string) error {
	managerPath = bin
	p, err := launchOperator(operatorLog, "--metrics-bind-address=0")
	operator = p
	return err
}

// launchOperator starts one operator process with leader election, its output appended to a log.
func launchOperator(log string, extraArgs ...string) (*process, error) {
	args := append([]string{"--leader-elect=true", "--leader-election-namespace=mutualis-system", "--health-probe-bind-address=0"}, extraArgs...)
	return launchWith(kubeconfig, log, args...)
}

// launchWith starts the operator with exactly these arguments, as the identity of a kubeconfig.
func launchWith(kubeconfigPath, log string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(managerPath, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfigPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// kill ends a process at once, as a crash or an evicted pod would.
func (p *process) kill() {
	if p != nil {
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// stop asks a process to end, as Kubernetes does when it deletes a pod.
func (p *process) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.kill()
	}
}

// killOperator ends the operator at once, as a crash or an evicted pod would.
func killOperator() { operator.kill() }

// restartedAndReconciled starts the operator again and waits for a known event rather than for a
// while: the new process took the lease, filled its caches and reconciled every Commune and CPAS
// at least once, as its own reconcile counters say.
func restartedAndReconciled(t *testing.T) {
	t.Helper()
	const metricsAddr = "127.0.0.1:18091"
	p, err := launchOperator(operatorLog, "--metrics-bind-address="+metricsAddr)
	operator = p
	if err != nil {
		t.Fatal(err)
	}
	communes := strings.Count(kubectl(t, "get", "communes", "-o", "name"), "\n")
	cpas := strings.Count(kubectl(t, "get", "cpas", "-o", "name"), "\n")
	eventually(t, 2*time.Minute, func() error {
		got, err := reconciledOnce(metricsAddr)
		if err != nil {
			return err
		}
		if got["commune"] < communes || got["cpas"] < cpas {
			return fmt.Errorf("the new process reconciled %d of %d Communes and %d of %d CPAS", got["commune"], communes, got["cpas"], cpas)
		}
		return nil
	})
}

func stopOperator() { operator.stop() }

func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hasCondition checks one condition of a tenant: its status, and its reason and message when
// they are given.
func hasCondition(obj v1alpha1.Tenant, condType string, status metav1.ConditionStatus, reason, contains string) func() error {
	return func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		c := meta.FindStatusCondition(obj.TenantStatus().Conditions, condType)
		if c == nil || c.Status != status || (reason != "" && c.Reason != reason) || !strings.Contains(c.Message, contains) {
			return fmt.Errorf("%s %s %s: %+v; want %s %s %q", obj.TenantKind(), obj.GetName(), condType, c, status, reason, contains)
		}
		return nil
	}
}

func ready(obj v1alpha1.Tenant) func() error {
	return hasCondition(obj, v1alpha1.ConditionReady, metav1.ConditionTrue, "", "")
}

func gone(obj client.Object) func() error {
	return func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("%T %s still exists (err=%v)", obj, obj.GetName(), err)
	}
}

// kubectl runs bin/kubectl on the test cluster and returns its stdout: what a pipe would read
// (the plugin's summaries and warnings go to stderr, shown only when the command fails).
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := kubectlSplit(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// kubectlSplit runs bin/kubectl and returns its stdout and stderr apart, and its error: persona
// tests pass --as and --as-group and read what a refused command says.
func kubectlSplit(args ...string) (stdout, stderr string, err error) {
	return kubectlWithInput("", args...)
}

// kubectlWithInput is kubectlSplit with what kubectl reads on its standard input (-f -).
func kubectlWithInput(stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(filepath.Join(root, "bin", "kubectl"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %s: %v", obj.GetName(), err)
	}
}

var plugin struct {
	once sync.Once
	dir  string
	err  error
}

// withPlugin puts the kubectl plugin, built once, on the PATH of the test, where kubectl finds it
// as kubectl mutualis.
func withPlugin(t *testing.T) {
	t.Helper()
	plugin.once.Do(func() {
		if plugin.dir, plugin.err = os.MkdirTemp("", "mutualis-plugin-"); plugin.err != nil {
			return
		}
		build := exec.Command("go", "build", "-o", filepath.Join(plugin.dir, "kubectl-mutualis"), "./cmd/kubectl-mutualis")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			plugin.err = fmt.Errorf("building the plugin: %v\n%s", err, out)
		}
	})
	if plugin.err != nil {
		t.Fatal(plugin.err)
	}
	t.Setenv("PATH", plugin.dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestCommuneAndCPASBecomeReadyAndShowInKubectl(t *testing.T) {
	commune := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CommuneSpec{NIS: "62063"}}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CPASSpec{CommuneRef: "liege"}}
	create(t, commune)
	create(t, cpas)
	eventually(t, time.Minute, ready(commune))
	eventually(t, time.Minute, ready(cpas))

	out := kubectl(t, "get", "communes,cpas")
	t.Logf("kubectl get communes,cpas:\n%s", out)
	for _, want := range []string{"NIS", "TIER", "APPS", "LAST BACKUP", "READY", "62063", "XXL", "0/0", "True", "COMMUNE"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl output lacks %q", want)
		}
	}
	if short := kubectl(t, "get", "com", "liege", "-o", "name"); strings.TrimSpace(short) != "commune.mutualis.crtpl.be/liege" {
		t.Errorf("short name com: %q", short)
	}

	// the same tenants through the plugin, as kubectl runs it from the PATH, with a stalled one first
	bad := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "zele"}, Spec: v1alpha1.CommuneSpec{NIS: "42028"}}
	create(t, bad)
	eventually(t, time.Minute, hasCondition(bad, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonUnknownNIS, ""))
	withPlugin(t)
	status := kubectl(t, "mutualis", "status")
	t.Logf("kubectl mutualis status:\n%s", status)
	// other tests of the cluster may have stalled tenants of their own: the stalled ones come
	// first, zele among them, and the Ready liege after; in French, the default, each reason
	// said in words
	zele, liege := -1, -1
	for i, line := range strings.Split(strings.TrimSpace(status), "\n") {
		switch {
		case strings.HasPrefix(line, "Commune  zele"):
			zele = i
			if !strings.Contains(line, "Bloqué") || !strings.Contains(line, "UnknownNIS") || !strings.Contains(line, "commune wallonne") {
				t.Errorf("zele's line: %q", line)
			}
		case strings.HasPrefix(line, "Commune  liege"):
			liege = i
			if !strings.Contains(line, "Prêt") {
				t.Errorf("liege's line: %q", line)
			}
		case zele < 0 && i > 0 && !strings.Contains(line, "Bloqué"):
			t.Errorf("a tenant that is not stalled comes before the stalled zele: %q", line)
		}
	}
	if zele < 0 || liege < zele {
		t.Errorf("zele at line %d, liege at %d:\n%s", zele, liege, status)
	}
}

func TestDeleteTenantRemovesItsNamespace(t *testing.T) {
	// backups off: the final backup has its own test, with Velero's part played
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "gedinne"},
		Spec: v1alpha1.CommuneSpec{NIS: "91054", TenantSpec: v1alpha1.TenantSpec{DeletionPolicy: v1alpha1.DeletionPolicyDelete,
			Backup: v1alpha1.BackupSpec{Disabled: true}}}}
	create(t, c)
	eventually(t, time.Minute, ready(c))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "commune-gedinne"}}
	data := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "scratch", Namespace: ns.Name}}
	create(t, data)
	if err := k8s.Delete(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// the namespace controller of kube-controller-manager empties and removes the namespace; the
	// tenant is released only after that
	eventually(t, 2*time.Minute, gone(ns))
	eventually(t, time.Minute, gone(c))
}

// A Retain tenant's namespace must outlive the tenant however it is deleted: with the default
// background cascade, and with a foreground cascade, where the garbage collector deletes every
// dependent of the owner before the owner's finalizers run.
func TestRetainSurvivesTheGarbageCollector(t *testing.T) {
	for _, cascade := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground} {
		t.Run(string(cascade), func(t *testing.T) {
			ctx := context.Background()
			name := "ciney-" + strings.ToLower(string(cascade))
			c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: v1alpha1.CommuneSpec{NIS: "91030", TenantSpec: v1alpha1.TenantSpec{DeletionPolicy: v1alpha1.DeletionPolicyDelete}}}
			if cascade == metav1.DeletePropagationForeground {
				c.Spec.NIS = "91034" // Dinant: one NIS per Commune
			}
			create(t, c)
			eventually(t, time.Minute, ready(c))
			// it was a Delete tenant (its namespace owned by it); turning it to Retain removes the
			// owner reference at once
			base := c.DeepCopy()
			c.Spec.DeletionPolicy = v1alpha1.DeletionPolicyRetain
			if err := k8s.Patch(ctx, c, client.MergeFrom(base)); err != nil {
				t.Fatal(err)
			}
			nsName := "commune-" + name
			eventually(t, time.Minute, func() error {
				ns := &corev1.Namespace{}
				if err := k8s.Get(ctx, client.ObjectKey{Name: nsName}, ns); err != nil {
					return err
				}
				if len(ns.OwnerReferences) > 0 {
					return fmt.Errorf("owner references left: %v", ns.OwnerReferences)
				}
				return nil
			})
			minutes := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "council-minutes", Namespace: nsName}, Data: map[string]string{"2026-11-05": "approved"}}
			create(t, minutes)
			// a witness owned by the tenant proves that the garbage collector runs in this cluster
			witness := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gc-witness", Namespace: "default",
				OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Commune", Name: c.Name, UID: c.UID}}}}
			create(t, witness)

			if err := k8s.Delete(ctx, c, client.PropagationPolicy(cascade)); err != nil {
				t.Fatal(err)
			}
			eventually(t, time.Minute, gone(c))
			eventually(t, time.Minute, gone(witness))
			// the collector has had its chance; the namespace and its data are still there
			time.Sleep(3 * time.Second)
			ns := &corev1.Namespace{}
			if err := k8s.Get(ctx, client.ObjectKey{Name: nsName}, ns); err != nil {
				t.Fatalf("the retained namespace is gone: %v", err)
			}
			if ns.DeletionTimestamp != nil || ns.Labels[v1alpha1.LabelOrphaned] != "true" {
				t.Fatalf("retained namespace: deleting=%v labels=%v", ns.DeletionTimestamp, ns.Labels)
			}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(minutes), minutes); err != nil || minutes.Data["2026-11-05"] != "approved" {
				t.Fatalf("the council minutes are lost: %v", err)
			}
			// isolation and quota stay in force
			for name, kept := range map[string]client.Object{
				"mutualis-quota": &corev1.ResourceQuota{}, "mutualis-limits": &corev1.LimitRange{},
				"mutualis-default-deny": &networkingv1.NetworkPolicy{},
			} {
				if err := k8s.Get(ctx, client.ObjectKey{Namespace: nsName, Name: name}, kept); err != nil {
					t.Errorf("%s of the retained namespace: %v", name, err)
				}
			}
		})
	}
}

// A restarted operator re-reads a converged cluster and writes nothing: every managed object keeps
// its resourceVersion.
func TestRestartWritesNothing(t *testing.T) {
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "durbuy"}, Spec: v1alpha1.CommuneSpec{NIS: "83012"}}
	create(t, c)
	eventually(t, time.Minute, ready(c))
	time.Sleep(2 * time.Second)
	// not Deployments: kube-controller-manager writes their status
	kinds := "namespace,resourcequota,limitrange,rolebinding,networkpolicy,clusterrole,clusterrolebinding,service,configmap"
	crd := &unstructured.Unstructured{}
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: "schedules.velero.io"}, crd); err == nil {
		kinds += ",schedules.velero.io" // when an earlier test installed Velero
	}
	versions := func() map[string]string {
		out := kubectl(t, "get", kinds,
			"-A", "-l", v1alpha1.LabelManagedBy+"="+v1alpha1.ManagedByValue,
			"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`)
		tenants := kubectl(t, "get", "communes,cpas", "-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`)
		m := map[string]string{}
		for _, line := range strings.Split(out+tenants, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				m[k] = v
			}
		}
		return m
	}
	before := versions()
	stopOperator()
	restartedAndReconciled(t)
	after := versions()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed from resourceVersion %s to %s after a restart", k, v, after[k])
		}
	}
	if len(before) < 10 {
		t.Fatalf("only %d objects compared: the listing is wrong", len(before))
	}
}

// The installation manifests render with kustomize and pass the API server's validation.
func TestInstallManifestsValidate(t *testing.T) {
	out := kubectl(t, "apply", "--server-side", "--force-conflicts", "--dry-run=server", "--field-manager=mutualis-install", "-k", filepath.Join(root, "config", "default"))
	for _, want := range []string{"deployment.apps/mutualis", "clusterrole.rbac.authorization.k8s.io/mutualis-manager", "customresourcedefinition.apiextensions.k8s.io/communes.mutualis.crtpl.be"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %s:\n%s", want, out)
		}
	}
	// the example GitOps repository applies as Argo CD and Flux apply it, folder by folder
	out = ""
	for _, folder := range []string{"platform", "catalog", "tenants"} {
		out += kubectl(t, "apply", "--server-side", "--dry-run=server", "--field-manager=gitops", "-k", filepath.Join(root, "config", "samples", folder))
	}
	for _, want := range []string{"commune.mutualis.crtpl.be/namur", "cpas.mutualis.crtpl.be/mons", "sharedapplication.mutualis.crtpl.be/nextcloud", "licencepool.mutualis.crtpl.be/esignature-2026", "tenancypolicy.mutualis.crtpl.be/default"} {
		if !strings.Contains(out, want) {
			t.Errorf("the GitOps sample's dry-run lacks %s:\n%s", want, out)
		}
	}
}

// The Helm chart lints, renders, and its objects pass the API server's validation.
func TestHelmChart(t *testing.T) {
	helm := func(args ...string) string {
		cmd := exec.Command(filepath.Join(root, "bin", "helm"), args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	chart := filepath.Join(root, "charts", "mutualis")
	ha := filepath.Join(chart, "values-ha.yaml")
	for _, values := range [][]string{nil, {"-f", ha}} {
		// no --kube-version: the project's helm is built as a release is, and knows Kubernetes 1.37
		helm(append([]string{"lint", "--strict", chart}, values...)...)
		rendered := helm(append([]string{"template", "mutualis", chart, "--namespace", "mutualis-system"}, values...)...)
		file := filepath.Join(t.TempDir(), "chart.yaml")
		if err := os.WriteFile(file, []byte(rendered), 0o644); err != nil {
			t.Fatal(err)
		}
		out := kubectl(t, "apply", "--server-side", "--force-conflicts", "--dry-run=server", "--field-manager=mutualis-chart", "-n", "mutualis-system", "-f", file)
		for _, want := range []string{"deployment.apps/mutualis", "clusterrole.rbac.authorization.k8s.io/mutualis-manager",
			"customresourcedefinition.apiextensions.k8s.io/communes.mutualis.crtpl.be", "poddisruptionbudget.policy/mutualis", "service/mutualis-metrics",
			"validatingadmissionpolicy.admissionregistration.k8s.io/"} {
			if !strings.Contains(out, want) {
				t.Errorf("values %v: dry-run output lacks %s:\n%s", values, want, out)
			}
		}
		if values != nil && (!strings.Contains(rendered, "replicas: 3") || !strings.Contains(rendered, "podAntiAffinity")) {
			t.Errorf("the HA values do not reach the Deployment:\n%s", rendered)
		}
	}
	// the Prometheus Operator's objects, off by default; the local cluster has no CRDs for them, so
	// they are linted and rendered, not dry-run
	monitoring := []string{"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true"}
	helm(append([]string{"lint", "--strict", chart}, monitoring...)...)
	rendered := helm(append([]string{"template", "mutualis", chart}, monitoring...)...)
	for _, want := range []string{"kind: ServiceMonitor", "kind: PrometheusRule", "alert: MutualisBackupStale", "alert: MutualisTenantStalled", "alert: MutualisPoolExhausted"} {
		if !strings.Contains(rendered, want) {
			t.Errorf("monitoring enabled: the chart lacks %s", want)
		}
	}
	if plain := helm("template", "mutualis", chart); strings.Contains(plain, "kind: ServiceMonitor") || strings.Contains(plain, "kind: PrometheusRule") {
		t.Error("the monitoring objects are on by default")
	}
	// values.schema.json and the templates refuse what would install something else than asked
	for _, bad := range []struct {
		set  []string
		says string
	}{
		{[]string{"replicas=two"}, "/replicas"},
		{[]string{"resources.limit.memory=1Gi"}, "'limit' not allowed"},
		{[]string{"image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
		{[]string{"replicaCount=3"}, "'replicaCount' not allowed"},
		{[]string{"leaderElection=false"}, "at '/replicas': maximum: got 2, want 1"},
		{[]string{"image.digest=latest"}, "/image/digest"},
		{[]string{"logLevel=verbose"}, "/logLevel"},
		{[]string{"extraArgs={tenant-workers=4}"}, "/extraArgs/0"},
		{[]string{"crds.keep=no"}, "/crds/keep"},
	} {
		args := []string{"lint", "--strict", chart}
		for _, s := range bad.set {
			args = append(args, "--set", s)
		}
		out, err := exec.Command(filepath.Join(root, "bin", "helm"), args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), bad.says) {
			t.Errorf("helm lint --set %v: %v; want it refused, saying %q:\n%s", bad.set, err, bad.says, out)
		}
	}
	helm("lint", "--strict", chart, "--set", "leaderElection=false", "--set", "replicas=1")
	// the knobs every operator chart has reach the Deployment
	digest := "sha256:" + strings.Repeat("ab", 32)
	rendered = helm("template", "mutualis", chart, "--set", "image.digest="+digest, "--set", "logLevel=debug", "--set", "tenantWorkers=16",
		"--set", "auditInterval=2h", "--set", "extraArgs={--zap-stacktrace-level=panic}", "--set", "env[0].name=GOMEMLIMIT", "--set", "env[0].value=140MiB",
		"--set", "podAnnotations.team=cellule", "--set", "priorityClassName=cell-critical", "--set", "imagePullSecrets[0].name=regcred",
		"--set", "serviceAccount.annotations.owner=cellule", "--set", "crds.keep=false")
	for _, want := range []string{`image: "ghcr.io/crtpl/mutualis:v` + strings.TrimSpace(readFile(t, filepath.Join(root, "VERSION"))) + "@" + digest + `"`,
		"--zap-log-level=debug", "--tenant-workers=16", "--audit-interval=2h", `- "--zap-stacktrace-level=panic"`, "name: GOMEMLIMIT",
		"team: cellule", "priorityClassName: cell-critical", "- name: regcred", "owner: cellule", "--metrics-secure", "kind: Role\n"} {
		if !strings.Contains(rendered, want) {
			t.Errorf("the chart's values do not reach the objects: no %q", want)
		}
	}
	if strings.Contains(rendered, "helm.sh/resource-policy: keep") {
		t.Error("crds.keep=false still keeps the CRDs on uninstall")
	}
	crds, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crds) < 6 {
		t.Fatalf("the generated CRDs: %v %v", crds, err)
	}
	if plain := helm("template", "mutualis", chart); strings.Count(plain, "helm.sh/resource-policy: keep") != len(crds) {
		t.Errorf("by default the %d CRDs are templates of the chart, kept on uninstall", len(crds))
	}
	if none := helm("template", "mutualis", chart, "--set", "crds.enabled=false"); strings.Contains(none, "kind: CustomResourceDefinition") {
		t.Error("crds.enabled=false still renders the CRDs")
	}
	// helm template, which installs, fails on the same values with a sentence that says why
	if out, err := exec.Command(filepath.Join(root, "bin", "helm"), "template", "mutualis", chart,
		"--skip-schema-validation", "--set", "leaderElection=false").CombinedOutput(); err == nil || !strings.Contains(string(out), "leaderElection=false with 2 replicas") {
		t.Errorf("helm template with leaderElection=false and two replicas: %v\n%s", err, out)
	}
}
