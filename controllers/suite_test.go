package controllers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// One control plane (a real kube-apiserver and etcd from bin/) and one running operator serve
// every test of the package. Tests use their own tenant names so that they do not interfere.
var (
	k8s       client.Client
	clientset *kubernetes.Clientset
	// testConfig reaches the API server as its administrator.
	testConfig *rest.Config
	// operatorUser is who the operator of the tests is: the ServiceAccount of config/rbac.
	operatorUser = "system:serviceaccount:mutualis-system:mutualis"
	// operatorCache is the running operator's cache.
	operatorCache cache.Cache
	// operatorWrites counts the requests of the operator that write to the API server.
	operatorWrites atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	logTo := io.Discard
	if os.Getenv("MUTUALIS_TEST_DEBUG") != "" {
		logTo = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(logTo)))
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets, _ = filepath.Abs("../bin")
	}
	env := &envtest.Environment{
		// Velero's own CRDs, from its Go module (make tools puts them in bin/velero-crds)
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases"), filepath.Join("..", "bin", "velero-crds")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting envtest (run make tools first): %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	testConfig = cfg

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	clientset = kubernetes.NewForConfigOrDie(cfg)
	// the tenant roles and the admission policies of tenant isolation, as installed
	for _, f := range []string{filepath.Join("..", "config", "rbac", "tenant-roles.yaml"), filepath.Join("..", "config", "admission", "tenant-isolation.yaml")} {
		if err := applyFile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "velero"}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	// the operator runs as its own ServiceAccount with the generated ClusterRole and nothing more,
	// so that every test also proves that the role is enough
	for _, f := range []string{filepath.Join("..", "config", "rbac", "generated", "role.yaml"), filepath.Join("..", "config", "rbac", "role_binding.yaml")} {
		if err := applyFile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	operatorCfg := rest.CopyConfig(cfg)
	operatorCfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser}
	operatorCfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countWrites{rt} }
	mgr, err := ctrl.NewManager(operatorCfg, ctrl.Options{
		Scheme:  scheme,
		Cache:   CacheOptions(),
		Client:  ClientOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	operatorCache = mgr.GetCache()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// the cell's incident hook: a server that keeps what the operator posts to it
	hook := httptest.NewServer(http.HandlerFunc(incidentHook.receive))
	defer hook.Close()
	if err := Setup(ctx, mgr, Config{ConflictRetry: time.Second, IncidentHook: hook.URL}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

type countWrites struct{ next http.RoundTripper }

func (c countWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Query().Get("watch") != "true" {
		operatorReads.Add(1)
		readLogMu.Lock()
		readLog = append(readLog, req.URL.Path)
		readLogMu.Unlock()
	}
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		operatorWrites.Add(1)
		writeLogMu.Lock()
		writeLog = append(writeLog, req.Method+" "+req.URL.Path)
		writeLogMu.Unlock()
	}
	return c.next.RoundTrip(req)
}

var (
	writeLogMu sync.Mutex
	writeLog   []string
	// operatorReads counts the operator's GET requests that are not watches: live reads and lists.
	operatorReads atomic.Int64
	readLogMu     sync.Mutex
	readLog       []string
)

// readsSince returns the paths of the operator's live reads after the n-th.
func readsSince(n int64) []string {
	readLogMu.Lock()
	defer readLogMu.Unlock()
	if int(n) >= len(readLog) {
		return nil
	}
	return append([]string(nil), readLog[n:]...)
}

// writesSince returns the operator's write requests after the n-th.
func writesSince(n int64) []string {
	writeLogMu.Lock()
	defer writeLogMu.Unlock()
	if int(n) >= len(writeLog) {
		return nil
	}
	return append([]string(nil), writeLog[n:]...)
}

// applyFile creates the objects of a YAML file of the repository.
func applyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		obj := &unstructuredObject{}
		if err := obj.fromYAML(doc); err != nil {
			return err
		}
		if obj.Object == nil {
			continue
		}
		if err := k8s.Create(context.Background(), &obj.Unstructured); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// eventually retries check until it passes or the timeout expires, then fails the test with the
// last error.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// consistently checks that check keeps passing for the whole duration.
func consistently(t *testing.T, duration time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) {
		if err := check(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// conditionIs checks one condition of a tenant, and that the status describes the current spec.
func conditionIs(obj v1alpha1.Tenant, condType string, status metav1.ConditionStatus, reason string) func() error {
	return func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		st := obj.TenantStatus()
		c := meta.FindStatusCondition(st.Conditions, condType)
		if c == nil {
			return fmt.Errorf("%s %s has no %s condition yet (conditions %v)", obj.TenantKind(), obj.GetName(), condType, st.Conditions)
		}
		if c.Status != status || (reason != "" && c.Reason != reason) || st.ObservedGeneration != obj.GetGeneration() {
			return fmt.Errorf("%s %s: %s=%s reason %s (%q), observedGeneration %d of %d; want %s %s",
				obj.TenantKind(), obj.GetName(), condType, c.Status, c.Reason, c.Message, st.ObservedGeneration, obj.GetGeneration(), status, reason)
		}
		return nil
	}
}

// reconcileCount reads controller-runtime's reconcile counter of one controller.
func reconcileCount(controller string) float64 {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == controller {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func intstrFromInt(i int) intstr.IntOrString { return intstr.FromInt(i) }

// warningEvent checks that a Warning event with a reason was recorded about an object.
func warningEvent(regarding, reason string) func() error {
	return func() error {
		events, err := clientset.EventsV1().Events("").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == regarding && e.Reason == reason && e.Type == corev1.EventTypeWarning {
				return nil
			}
		}
		return fmt.Errorf("no Warning event %s about %s", reason, regarding)
	}
}

// finalizeNamespace plays the namespace controller's part, which envtest does not run: it empties
// the finalizers of a deleting namespace so that it goes.
func finalizeNamespace(t *testing.T, ns *corev1.Namespace) {
	t.Helper()
	ns.Spec.Finalizers = nil
	if _, err := clientset.CoreV1().Namespaces().Finalize(context.Background(), ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// absent checks that an object no longer exists.
func absent(obj client.Object) func() error {
	return func() error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
			return fmt.Errorf("%T %s is still there (%v)", obj, obj.GetName(), err)
		}
		return nil
	}
}
