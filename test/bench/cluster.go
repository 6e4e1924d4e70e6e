package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/test/cell"
)

// cluster is one local cluster of hack/dev-cluster.sh.
type cluster struct {
	root, name, kubeconfig string
	cfg                    *rest.Config
	client                 client.Client
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}()

// startCluster creates the cluster (deleting a stale one of the same name) and installs what a
// cell installs before its first tenant: the CRDs, the tenant roles, the admission policies,
// Velero's CRDs and namespace, the TenancyPolicy and the catalogue.
func startCluster(root, name, work string, set cell.Set) (*cluster, error) {
	c := &cluster{root: root, name: name, kubeconfig: filepath.Join(work, name+".kubeconfig")}
	env := []string{"NODES=" + strconv.Itoa(cell.NodesFor(set.Size()))}
	if err := c.run(env, "hack/dev-cluster.sh", "up", name, c.kubeconfig); err != nil {
		return nil, err
	}
	if err := cell.Install(root, c.kubeconfig, set.Registry); err != nil {
		return nil, err
	}
	var err error
	if c.cfg, err = clientcmd.BuildConfigFromFlags("", c.kubeconfig); err != nil {
		return nil, err
	}
	// the certificates inline: client-go otherwise watches the files for rotation, and logs an
	// error every few seconds once the cluster and its files are deleted
	if err := rest.LoadTLSFiles(c.cfg); err != nil {
		return nil, err
	}
	// the bench's own client is a tuned one: the floor is measured with it
	c.cfg.QPS, c.cfg.Burst = 2000, 4000
	if c.client, err = client.New(c.cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	return c, nil
}

// apiServerCPU is the CPU time the cluster's API server has used, in seconds, from its own
// metrics: over a phase, it says whether the API server was the bound.
func (c *cluster) apiServerCPU() (float64, error) {
	hc, err := rest.HTTPClientFor(c.cfg)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Get(strings.TrimSuffix(c.cfg.Host, "/") + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("the API server's metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, err
	}
	f, found := families["process_cpu_seconds_total"]
	if !found || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("the API server reports no process_cpu_seconds_total")
	}
	return f.GetMetric()[0].GetCounter().GetValue(), nil
}

func (c *cluster) delete() {
	_ = c.run(nil, "hack/dev-cluster.sh", "down", c.name, c.kubeconfig)
}

func (c *cluster) run(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.root
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+c.kubeconfig), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// operator is one process of cmd/manager, run as in production but for leader election (one
// replica; the Lease's renewals would be writes of their own every two seconds).
type operator struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	metrics string
	pprof   string

	mu       sync.Mutex
	peakAnon int64
}

const (
	metricsAddr = "127.0.0.1:18190"
	pprofAddr   = "127.0.0.1:18192"
)

func startOperator(binary string, c *cluster, log string, extraArgs []string, memoryLimit int64) (*operator, error) {
	logFile, err := os.OpenFile(log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--leader-elect=false", "--metrics-bind-address=" + metricsAddr,
		"--health-probe-bind-address=0", "--pprof-bind-address=" + pprofAddr}, extraArgs...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig)
	if memoryLimit > 0 {
		// what automemlimit gives the operator in its pod: 90% of the container's limit (only the
		// operator's: the cluster's components keep their own)
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMEMLIMIT=%d", memoryLimit*9/10))
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	o := &operator{cmd: cmd, exited: make(chan struct{}), metrics: "http://" + metricsAddr + "/metrics", pprof: "http://" + pprofAddr}
	go func() { _ = cmd.Wait(); _ = logFile.Close(); close(o.exited) }()
	o.sampleAnonymous()
	// the metrics endpoint answers once the manager runs
	for i := 0; i < 300; i++ {
		if _, err := o.scrape(); err == nil {
			return o, nil
		}
		select {
		case <-o.exited:
			return nil, fmt.Errorf("the operator ended at start; see %s", log)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("the operator's metrics did not answer within 30 s; see %s", log)
}

func (o *operator) stop() {
	_ = o.cmd.Process.Signal(os.Interrupt)
	select {
	case <-o.exited:
	case <-time.After(30 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.exited
	}
}

// operatorMemoryLimit reads -operator-memory-limit: the limit of the manager's container in
// config/manager, a quantity, or none.
func operatorMemoryLimit(root, value string) (int64, error) {
	switch value {
	case "none", "":
		return 0, nil
	case "installed":
		data, err := os.ReadFile(filepath.Join(root, "config", "manager", "manager.yaml"))
		if err != nil {
			return 0, err
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			d := &appsv1.Deployment{}
			if err := yaml.Unmarshal([]byte(doc), d); err != nil || d.Kind != "Deployment" {
				continue
			}
			for _, ctr := range d.Spec.Template.Spec.Containers {
				if q, found := ctr.Resources.Limits[corev1.ResourceMemory]; found {
					return q.Value(), nil
				}
			}
		}
		return 0, fmt.Errorf("config/manager/manager.yaml gives the operator no memory limit: pass -operator-memory-limit")
	}
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return 0, fmt.Errorf("-operator-memory-limit: %w", err)
	}
	return q.Value(), nil
}

// peakRSS is the operator's peak resident memory so far (VmHWM), in bytes: its heap and the pages
// of its binary that were read.
func (o *operator) peakRSS() (int64, error) { return o.status("VmHWM:") }

// status reads one figure of /proc/<pid>/status, in bytes.
func (o *operator) status(field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", o.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, found := strings.CutPrefix(s.Text(), field); found {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kib << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, o.cmd.Process.Pid)
}

// sampleAnonymous records the operator's largest anonymous resident memory (RssAnon: what the Go
// runtime holds, without the binary's pages), looking every half second until it ends.
func (o *operator) sampleAnonymous() {
	go func() {
		for {
			select {
			case <-o.exited:
				return
			case <-time.After(500 * time.Millisecond):
			}
			if v, err := o.status("RssAnon:"); err == nil {
				o.mu.Lock()
				o.peakAnon = max(o.peakAnon, v)
				o.mu.Unlock()
			}
		}
	}()
}

func (o *operator) peakAnonymous() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.peakAnon
}

// profile saves a pprof profile of the operator (path such as "profile?seconds=30" or "heap").
func (o *operator) profile(path, file string) error {
	resp, err := http.Get(o.pprof + "/debug/pprof/" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	defer out.Close()
	_, err = io.Copy(out, resp.Body)
	return err
}

// counters are the operator's cumulative figures, from its metrics endpoint.
type counters struct {
	// requests are its requests to the API server by HTTP method (client-go's metric).
	requests map[string]float64
	// reconciles is the number of reconciles of every controller.
	reconciles float64
	// queued is what waits in the work queues.
	queued float64
	// writesBy are the writes by method and resource ("PATCH events.events.k8s.io"), from the
	// operator's mutualis_api_requests_total.
	writesBy map[string]float64
	// writeSeconds and writeCount are the time and number of the operator's writes, from
	// mutualis_api_request_duration_seconds.
	writeSeconds, writeCount float64
}

// writesNamed says which writes there were, such as "1 PATCH events.events.k8s.io".
func (c counters) writesNamed() string {
	var out []string
	for k, v := range c.writesBy {
		if v > 0 {
			out = append(out, fmt.Sprintf("%.0f %s", v, k))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func (c counters) writes() float64 {
	return c.requests["POST"] + c.requests["PUT"] + c.requests["PATCH"] + c.requests["DELETE"]
}

func (c counters) minus(earlier counters) counters {
	d := counters{requests: map[string]float64{}, reconciles: c.reconciles - earlier.reconciles, queued: c.queued, writesBy: map[string]float64{},
		writeSeconds: c.writeSeconds - earlier.writeSeconds, writeCount: c.writeCount - earlier.writeCount}
	for m, v := range c.requests {
		d.requests[m] = v - earlier.requests[m]
	}
	for k, v := range c.writesBy {
		d.writesBy[k] = v - earlier.writesBy[k]
	}
	return d
}

func (o *operator) scrape() (counters, error) {
	resp, err := http.Get(o.metrics)
	if err != nil {
		return counters{}, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return counters{}, err
	}
	c := counters{requests: map[string]float64{}, writesBy: map[string]float64{}}
	sum := func(name string, each func(*dto.Metric, float64)) {
		if f, found := families[name]; found {
			for _, m := range f.GetMetric() {
				v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
				each(m, v)
			}
		}
	}
	sum("rest_client_requests_total", func(m *dto.Metric, v float64) {
		for _, l := range m.GetLabel() {
			if l.GetName() == "method" {
				c.requests[l.GetValue()] += v
			}
		}
	})
	sum("mutualis_api_requests_total", func(m *dto.Metric, v float64) {
		var method, resource string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "method":
				method = l.GetValue()
			case "resource":
				resource = l.GetValue()
			}
		}
		if method != "GET" {
			c.writesBy[method+" "+resource] += v
		}
	})
	if f, found := families["mutualis_api_request_duration_seconds"]; found {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" && l.GetValue() != "GET" {
					c.writeSeconds += m.GetHistogram().GetSampleSum()
					c.writeCount += float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	sum("controller_runtime_reconcile_total", func(_ *dto.Metric, v float64) { c.reconciles += v })
	sum("workqueue_depth", func(_ *dto.Metric, v float64) { c.queued += v })
	return c, nil
}

// waitQuiet waits until the operator has reconciled at least minReconciles times, its queues are
// empty and no reconcile happened for quiet, and returns the counters then.
func (o *operator) waitQuiet(ctx context.Context, minReconciles float64, quiet, timeout time.Duration) (counters, error) {
	deadline := time.Now().Add(timeout)
	var last counters
	lastChange := time.Now()
	for {
		now, err := o.scrape()
		if err != nil {
			return counters{}, err
		}
		if now.reconciles != last.reconciles || now.queued > 0 {
			lastChange = time.Now()
		}
		last = now
		if now.reconciles >= minReconciles && now.queued == 0 && time.Since(lastChange) >= quiet {
			return now, nil
		}
		if time.Now().After(deadline) {
			return now, fmt.Errorf("the operator did not settle within %s (%v reconciles, %v queued)", timeout, now.reconciles, now.queued)
		}
		select {
		case <-ctx.Done():
			return now, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
