package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// result is every figure of one run.
type result struct {
	Set     string `json:"set"`
	Tenants int    `json:"tenants"`
	Date    string `json:"date"`
	Machine string `json:"machine"`
	// MemoryLimit is the operator's container memory limit (GOMEMLIMIT is 90% of it), 0 for none.
	MemoryLimit  int64  `json:"memoryLimit"`
	OperatorArgs string `json:"operatorArgs,omitempty"`
	// FloorApply is set when the floor wrote with server-side apply instead of POST.
	FloorApply bool `json:"floorApply,omitempty"`

	OperatorSeconds    float64 `json:"operatorSeconds"`
	FloorSeconds       float64 `json:"floorSeconds"`
	FloorCreateSeconds float64 `json:"floorCreateSeconds"`
	Ratio              float64 `json:"ratio"`
	Objects            int     `json:"objects"`
	ObjectKinds        string  `json:"objectKinds"`
	Workloads          int     `json:"workloads"`

	// WritesInFlight is how many writes the operator had in flight on average while onboarding,
	// WriteMillis how long one took; FloorWritesInFlight and FloorWriteMillis the same of the
	// floor's client while it created. APIServerCores and FloorAPIServerCores are the API
	// server's CPU use on average over each phase.
	WritesInFlight      float64 `json:"writesInFlight"`
	WriteMillis         float64 `json:"writeMillis"`
	FloorWritesInFlight float64 `json:"floorWritesInFlight"`
	FloorWriteMillis    float64 `json:"floorWriteMillis"`
	APIServerCores      float64 `json:"apiServerCores"`
	FloorAPIServerCores float64 `json:"floorAPIServerCores"`

	RequestsPerTenant map[string]float64 `json:"requestsPerTenant"`
	Reconciles        float64            `json:"reconciles"`
	IdleWrites        float64            `json:"idleWrites"`
	IdleReconciles    float64            `json:"idleReconciles"`
	// IdleWritesNamed and RestartWritesNamed say which writes there were, by method and resource.
	IdleWritesNamed    string  `json:"idleWritesNamed,omitempty"`
	RestartWritesNamed string  `json:"restartWritesNamed,omitempty"`
	RestartWrites      float64 `json:"restartWrites"`
	RestartGets        float64 `json:"restartGets"`
	PeakBytes          int64   `json:"peakBytes"`
	// PeakAnonymousBytes is the largest RssAnon seen (sampled twice a second): the runtime's memory
	// without the binary's pages.
	PeakAnonymousBytes int64 `json:"peakAnonymousBytes"`

	ChangeMedianSeconds float64 `json:"changeMedianSeconds"`
	ChangeP95Seconds    float64 `json:"changeP95Seconds"`
}

func (r *result) bytesPerTenant() float64 { return float64(r.PeakBytes) / float64(r.Tenants) }

type verdict struct {
	target, measured string
	met              bool
}

// check holds the run against the targets of DESIGN.md section 8.
func (r *result) check(baseline *result) []verdict {
	v := []verdict{
		{"onboarding at most 1.5 times the floor", fmt.Sprintf("%.2f", r.Ratio), r.Ratio <= 1.5},
		{"no write in a minute idle", fmt.Sprintf("%.0f", r.IdleWrites), r.IdleWrites == 0},
		{"no write on restart", fmt.Sprintf("%.0f", r.RestartWrites), r.RestartWrites == 0},
		{"a change Ready in under 2 s (p95)", fmt.Sprintf("%.2f s", r.ChangeP95Seconds), r.ChangeP95Seconds < 2},
	}
	if r.Tenants <= 522 {
		v = append(v, verdict{"at most 150 MiB at 522 tenants", mib(r.PeakBytes) + " MiB", r.PeakBytes <= 150<<20})
	}
	if baseline != nil {
		ratio := r.bytesPerTenant() / baseline.bytesPerTenant()
		v = append(v, verdict{
			fmt.Sprintf("memory per tenant at most 1.2 times that at %d tenants", baseline.Tenants),
			fmt.Sprintf("%.0f KiB against %.0f KiB: %.2f", r.bytesPerTenant()/1024, baseline.bytesPerTenant()/1024, ratio),
			ratio <= 1.2,
		})
	}
	return v
}

func (r *result) markdown(verdicts []verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %d tenants (%s), %s\n\n%s\n\n", r.Tenants, r.Set, r.Date, r.Machine)
	limit := "none"
	if r.MemoryLimit > 0 {
		limit = fmt.Sprintf("%s MiB (GOMEMLIMIT %s MiB)", mib(r.MemoryLimit), mib(r.MemoryLimit*9/10))
	}
	fmt.Fprintf(&b, "Operator: memory limit %s; flags: %s\n\n", limit, strings.TrimSpace("--leader-elect=false "+r.OperatorArgs))
	fmt.Fprintf(&b, "| figure | value |\n|---|---|\n")
	row := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "| %s | %s |\n", name, fmt.Sprintf(format, args...))
	}
	row("objects the operator produced", "%d (%s)", r.Objects, r.ObjectKinds)
	row("operator: every tenant Ready", "%.1f s", r.OperatorSeconds)
	how := "created (POST)"
	if r.FloorApply {
		how = "applied (server-side apply)"
	}
	row("floor: same objects "+how+" by a tuned client", "%.1f s", r.FloorCreateSeconds)
	row(fmt.Sprintf("floor: ... and its %d workloads available", r.Workloads), "%.1f s", r.FloorSeconds)
	row("ratio", "%.2f", r.Ratio)
	var methods []string
	for m := range r.RequestsPerTenant {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	var reqs []string
	for _, m := range methods {
		reqs = append(reqs, fmt.Sprintf("%s %.1f", m, r.RequestsPerTenant[m]))
	}
	row("API requests per tenant, onboarding", "%s", strings.Join(reqs, ", "))
	row("writes in flight on average, and the time of one", "operator while onboarding: %.1f, %.0f ms; floor while creating: %.1f, %.0f ms",
		r.WritesInFlight, r.WriteMillis, r.FloorWritesInFlight, r.FloorWriteMillis)
	row("API server CPU on average", "%.2f cores over the operator's phase, %.2f over the floor's", r.APIServerCores, r.FloorAPIServerCores)
	row("reconciles, onboarding", "%.0f (%.1f per tenant)", r.Reconciles, r.Reconciles/float64(r.Tenants))
	row("writes in one minute idle", "%.0f (%.0f reconciles)%s", r.IdleWrites, r.IdleReconciles, named(r.IdleWritesNamed))
	row("writes on restart", "%.0f (GET requests: %.0f)%s", r.RestartWrites, r.RestartGets, named(r.RestartWritesNamed))
	row("peak memory (RSS)", "%s MiB (%.0f KiB per tenant); without the binary's pages (RssAnon) %s MiB", mib(r.PeakBytes), r.bytesPerTenant()/1024, mib(r.PeakAnonymousBytes))
	row("spec change to Ready", "median %.2f s, p95 %.2f s", r.ChangeMedianSeconds, r.ChangeP95Seconds)
	fmt.Fprintf(&b, "\n| target | measured | met |\n|---|---|---|\n")
	for _, v := range verdicts {
		met := "yes"
		if !v.met {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", v.target, v.measured, met)
	}
	return b.String()
}

// describeMachine names the CPU, the cores, the memory and the versions.
func describeMachine(root string) string {
	cpu, mem := "unknown CPU", "unknown memory"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if rest, found := strings.CutPrefix(s.Text(), "model name"); found {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if rest, found := strings.CutPrefix(s.Text(), "MemTotal:"); found {
				var kib int64
				fmt.Sscanf(strings.TrimSpace(rest), "%d", &kib)
				mem = fmt.Sprintf("%.0f GiB", float64(kib)/(1<<20))
				break
			}
		}
		f.Close()
	}
	// the binaries built from the module proxy carry no version of their own: hack/tools.sh pins it
	apiserver := "Kubernetes (version unknown)"
	if data, err := os.ReadFile(filepath.Join(root, "hack", "tools.sh")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, found := strings.CutPrefix(line, "KUBERNETES_VERSION="); found {
				apiserver = "Kubernetes " + strings.Trim(v, `"'`)
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s; %s; %s; kwok nodes", cpu, runtime.NumCPU(), mem, runtime.Version(), apiserver)
}

func named(writes string) string {
	if writes == "" {
		return ""
	}
	return ": " + writes
}
