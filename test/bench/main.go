// Command bench is `make bench`: the scale benchmark of DESIGN.md section 8, every figure from one
// run so that its ratios hold on a noisy machine.
//
// One run, for one set of tenants (the 522 of the registry, or N synthetic ones with the registry
// Disabled), each with three applications:
//  1. a local cluster with room for the work (hack/dev-cluster.sh), the CRDs, the admission
//     policies, Velero's CRDs, the shipped policy and catalogue;
//  2. the operator as a process; every tenant created at once, timed until all are Ready;
//  3. one minute idle, and a restart, counting the operator's writes; 50 spec changes, timed each
//     until Ready; the operator's request counts and peak memory;
//  4. the floor: the objects the operator produced, exported from the converged cluster, created on
//     a fresh cluster by a tuned parallel client, timed until the same workloads are available.
//
// It prints a Markdown table, writes the figures as JSON (-json), and exits non-zero when a target
// is missed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/crtpl/mutualis/test/cell"
)

func main() {
	var (
		tenants  = flag.String("tenants", "registry", `"registry" (every current commune and its CPAS) or a number of synthetic tenants, half communes, half their CPAS`)
		jsonOut  = flag.String("json", "", "file to write the figures to, as JSON")
		baseline = flag.String("baseline", "", "figures of a smaller run (-json of it): the memory per tenant must stay within 1.2 times its own")
		changes  = flag.Int("changes", 50, "spec changes timed until Ready")
		idle     = flag.Duration("idle", time.Minute, "how long the converged operator is watched for writes")
		timeout  = flag.Duration("timeout", 45*time.Minute, "how long every tenant may take to become Ready (each run)")
		keep     = flag.Bool("keep", false, "leave the operator's cluster running at the end (for a look with kubectl)")
		profile  = flag.Bool("profile", false, "save CPU and heap profiles of the operator while it converges, next to -json")
		opArgs   = flag.String("operator-args", "", "more flags for the operator, space-separated (such as --tenant-workers=16)")
		floorSSA = flag.Bool("floor-apply", false, "the floor's client writes with server-side apply instead of POST (a measurement of what apply costs, not the floor of the targets)")
		memLimit = flag.String("operator-memory-limit", "installed", `the operator's container memory limit, whose 90% the operator takes as GOMEMLIMIT as it does in its pod: "installed" (the limit of config/manager), a quantity such as 512Mi, or "none"`)
	)
	flag.Parse()
	// the bench's own watches log nothing worth reading; the operator's log is a file of its own
	ctrllog.SetLogger(logr.Discard())
	root, err := filepath.Abs(".")
	if err != nil {
		fail(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		fail(fmt.Errorf("run bench from the repository's root (make bench): %w", err))
	}
	set, err := cell.Parse(*tenants)
	if err != nil {
		fail(err)
	}
	limit, err := operatorMemoryLimit(root, *memLimit)
	if err != nil {
		fail(err)
	}
	b := &bench{root: root, set: set, memoryLimit: limit, floorApply: *floorSSA, changes: *changes, idle: *idle, timeout: *timeout, keep: *keep, profile: *profile, operatorArgs: strings.Fields(*opArgs)}
	if *jsonOut != "" {
		b.profileDir = filepath.Dir(*jsonOut)
	}
	// an interrupt ends the waits, and the run's clusters are deleted on the way out
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := b.run(ctx)
	if err != nil {
		fail(err)
	}
	var base *result
	if *baseline != "" {
		data, err := os.ReadFile(*baseline)
		if err != nil {
			fail(fmt.Errorf("reading the baseline: %w", err))
		}
		base = &result{}
		if err := json.Unmarshal(data, base); err != nil {
			fail(fmt.Errorf("reading the baseline %s: %w", *baseline, err))
		}
	}
	verdicts := res.check(base)
	fmt.Print(res.markdown(verdicts))
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			fail(err)
		}
	}
	for _, v := range verdicts {
		if !v.met {
			fmt.Fprintln(os.Stderr, "bench: a target is missed:", v.target)
			os.Exit(1)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(2)
}

// logf prints a progress line with the time of day.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func mib(bytes int64) string { return strconv.FormatFloat(float64(bytes)/(1<<20), 'f', 0, 64) }
