package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/test/cell"
)

type bench struct {
	root          string
	set           cell.Set
	changes       int
	idle, timeout time.Duration
	keep, profile bool
	profileDir    string
	operatorArgs  []string
	// memoryLimit is the operator's container memory limit in bytes, 0 for none.
	memoryLimit int64
	// floorApply makes the floor's client write with server-side apply instead of POST.
	floorApply bool
}

func (b *bench) run(ctx context.Context) (*result, error) {
	work, err := os.MkdirTemp("", "mutualis-bench-")
	if err != nil {
		return nil, err
	}
	n := b.set.Size()
	res := &result{Set: b.set.Name, Tenants: n, Machine: describeMachine(b.root), Date: time.Now().UTC().Format("2006-01-02 15:04 MST"),
		MemoryLimit: b.memoryLimit, OperatorArgs: strings.Join(b.operatorArgs, " "), FloorApply: b.floorApply}
	binary := filepath.Join(work, "manager")
	logf("building the operator")
	build := exec.Command("go", "build", "-o", binary, "./cmd/manager")
	build.Dir = b.root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}

	// 1. the operator onboards every tenant
	logf("starting the operator's cluster for %d %s tenants (%d nodes)", n, b.set.Name, cell.NodesFor(n))
	c, err := startCluster(b.root, "mutualis-bench", work, b.set)
	if err != nil {
		return nil, err
	}
	if !b.keep {
		defer c.delete()
	}
	log := filepath.Join(work, "operator.log")
	logf("the operator's log: %s", log)
	op, err := startOperator(binary, c, log, b.operatorArgs, b.memoryLimit)
	if err != nil {
		return nil, err
	}
	defer func() { op.stop() }()
	watch, err := cache.New(c.cfg, cache.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	rd, err := watchReadiness(ctx, watch)
	if err != nil {
		return nil, err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() { _ = watch.Start(watchCtx) }()
	watch.WaitForCacheSync(ctx)
	before, err := op.scrape()
	if err != nil {
		return nil, err
	}

	cpuBefore, err := c.apiServerCPU()
	if err != nil {
		return nil, err
	}
	logf("creating %d tenants", n)
	start := time.Now()
	if err := cell.Create(ctx, c.client, b.set.Tenants, 16); err != nil {
		return nil, err
	}
	var profiles sync.WaitGroup
	if b.profile {
		profiles.Add(1)
		go func() {
			defer profiles.Done()
			if err := op.profile("profile?seconds=60", filepath.Join(b.profileDir, "cpu-"+b.set.Name+".pprof")); err != nil {
				logf("cpu profile: %v", err)
			}
		}()
	}
	last, err := rd.waitAllReady(ctx, n, b.timeout)
	if err != nil {
		return nil, err
	}
	res.OperatorSeconds = last.Sub(start).Seconds()
	logf("every tenant Ready in %.1f s", res.OperatorSeconds)
	if cpu, err := c.apiServerCPU(); err == nil {
		res.APIServerCores = (cpu - cpuBefore) / time.Since(start).Seconds()
	}
	profiles.Wait()
	if b.profile {
		if err := op.profile("heap", filepath.Join(b.profileDir, "heap-"+b.set.Name+".pprof")); err != nil {
			logf("heap profile: %v", err)
		}
	}
	converged, err := op.waitQuiet(ctx, 0, 10*time.Second, 15*time.Minute)
	if err != nil {
		return nil, err
	}
	onboarding := converged.minus(before)
	res.RequestsPerTenant = map[string]float64{}
	for method, v := range onboarding.requests {
		res.RequestsPerTenant[method] = v / float64(n)
	}
	res.Reconciles = onboarding.reconciles
	res.WritesInFlight = onboarding.writeSeconds / res.OperatorSeconds
	if onboarding.writeCount > 0 {
		res.WriteMillis = 1000 * onboarding.writeSeconds / onboarding.writeCount
	}
	logf("writes in flight on average %.1f, %.0f ms each; the API server used %.2f cores", res.WritesInFlight, res.WriteMillis, res.APIServerCores)
	// every figure is printed as soon as it is measured: a run stopped later keeps it in its log
	logf("requests per tenant while onboarding: %v; %.0f reconciles", res.RequestsPerTenant, res.Reconciles)

	// 2. one minute idle
	logf("watching the idle operator for %s", b.idle)
	idleStart, err := op.scrape()
	if err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(b.idle):
	}
	idleEnd, err := op.scrape()
	if err != nil {
		return nil, err
	}
	idleDiff := idleEnd.minus(idleStart)
	res.IdleWrites, res.IdleReconciles, res.IdleWritesNamed = idleDiff.writes(), idleDiff.reconciles, idleDiff.writesNamed()
	logf("idle: %.0f writes (%s), %.0f reconciles", res.IdleWrites, res.IdleWritesNamed, res.IdleReconciles)

	// 3. spec changes, one at a time, each timed until the tenant is Ready at its new generation
	logf("timing %d spec changes", b.changes)
	var latencies []float64
	for i := 0; i < b.changes; i++ {
		t := b.set.Tenants[(i*2)%n]
		began := time.Now()
		generation, err := changeOneViewer(ctx, c.client, t, i)
		if err != nil {
			return nil, err
		}
		for {
			if since, ok := rd.readySince(tenantKey(t), generation); ok {
				latencies = append(latencies, since.Sub(began).Seconds())
				break
			}
			if time.Since(began) > time.Minute {
				return nil, fmt.Errorf("%s not Ready a minute after a spec change: %v", tenantKey(t), rd.waiting(3))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	res.ChangeMedianSeconds, res.ChangeP95Seconds = percentile(latencies, 50), percentile(latencies, 95)
	if _, err := op.waitQuiet(ctx, 0, 5*time.Second, 5*time.Minute); err != nil {
		return nil, err
	}
	if res.PeakBytes, err = op.peakRSS(); err != nil {
		return nil, err
	}
	res.PeakAnonymousBytes = op.peakAnonymous()
	logf("spec change to Ready: median %.2f s, p95 %.2f s; peak RSS %s MiB (RssAnon %s MiB)",
		res.ChangeMedianSeconds, res.ChangeP95Seconds, mib(res.PeakBytes), mib(res.PeakAnonymousBytes))

	// 4. a restart on the converged cluster
	logf("restarting the operator")
	op.stop()
	op, err = startOperator(binary, c, log, b.operatorArgs, b.memoryLimit)
	if err != nil {
		return nil, err
	}
	restarted, err := op.waitQuiet(ctx, float64(n), 10*time.Second, 15*time.Minute)
	if err != nil {
		return nil, err
	}
	res.RestartWrites, res.RestartWritesNamed = restarted.writes(), restarted.writesNamed()
	res.RestartGets = restarted.requests["GET"]
	if peak, err := op.peakRSS(); err == nil && peak > res.PeakBytes {
		res.PeakBytes = peak
	}
	res.PeakAnonymousBytes = max(res.PeakAnonymousBytes, op.peakAnonymous())
	op.stop()
	logf("restart: %.0f writes, %.0f GET requests; peak RSS %s MiB", res.RestartWrites, res.RestartGets, mib(res.PeakBytes))

	// 5. the floor: the same objects, created by a tuned client on a fresh cluster
	objs, err := exportProduced(ctx, c)
	if err != nil {
		return nil, err
	}
	res.Objects = len(objs)
	res.ObjectKinds = kindCounts(objs)
	for _, o := range objs {
		if o.GetKind() == "Deployment" || o.GetKind() == "StatefulSet" {
			res.Workloads++
		}
	}
	logf("exported %d objects (%s)", res.Objects, res.ObjectKinds)
	stopWatch()
	if !b.keep {
		c.delete()
	}
	logf("starting the floor's cluster")
	f, err := startCluster(b.root, "mutualis-bench-floor", work, b.set)
	if err != nil {
		return nil, err
	}
	defer f.delete()
	workloads, err := cache.New(f.cfg, cache.Options{Scheme: scheme, DefaultLabelSelector: labels.SelectorFromSet(labels.Set{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue})})
	if err != nil {
		return nil, err
	}
	for _, obj := range []client.Object{&appsv1.Deployment{}, &appsv1.StatefulSet{}} {
		if _, err := workloads.GetInformer(ctx, obj); err != nil {
			return nil, err
		}
	}
	floorCtx, stopFloorWatch := context.WithCancel(ctx)
	defer stopFloorWatch()
	go func() { _ = workloads.Start(floorCtx) }()
	workloads.WaitForCacheSync(ctx)
	logf("creating the %d objects with a tuned client", len(objs))
	floorCPUBefore, err := f.apiServerCPU()
	if err != nil {
		return nil, err
	}
	floorStart := time.Now()
	floorWriteSeconds, err := createAll(ctx, f.client, objs, 32, b.floorApply)
	if err != nil {
		return nil, err
	}
	res.FloorCreateSeconds = time.Since(floorStart).Seconds()
	res.FloorWritesInFlight = floorWriteSeconds / res.FloorCreateSeconds
	res.FloorWriteMillis = 1000 * floorWriteSeconds / float64(len(objs))
	logf("floor: the objects created in %.1f s; waiting for the workloads", res.FloorCreateSeconds)
	done, err := waitWorkloads(ctx, workloads, res.Workloads, b.timeout)
	if err != nil {
		return nil, err
	}
	res.FloorSeconds = done.Sub(floorStart).Seconds()
	if cpu, err := f.apiServerCPU(); err == nil {
		res.FloorAPIServerCores = (cpu - floorCPUBefore) / time.Since(floorStart).Seconds()
	}
	res.Ratio = res.OperatorSeconds / res.FloorSeconds
	logf("floor: created in %.1f s, workloads available in %.1f s; ratio %.2f", res.FloorCreateSeconds, res.FloorSeconds, res.Ratio)
	return res, nil
}

func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	i := int(float64(len(sorted))*p/100+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
