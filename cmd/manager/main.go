// Command manager runs the mutualis operator: the tenant reconcilers for Commune and CPAS, with
// leader election, health probes and the controller-runtime metrics endpoint.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"math"
	"os"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/internal/build"
	"github.com/crtpl/mutualis/controllers"
	"github.com/crtpl/mutualis/controllers/audit"
)

func main() {
	var (
		metricsAddr, probeAddr, pprofAddr, leaderNamespace string
		metricsCertDir, incidentHook                       string
		leaderElect, printVersion, metricsSecure           bool
		tenantWorkers                                      int
		auditInterval                                      time.Duration
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint; 0 turns it off")
	flag.BoolVar(&metricsSecure, "metrics-secure", false, "serve the metrics over HTTPS to clients whose token may get the /metrics URL (a TokenReview and a SubjectAccessReview per scrape, as kube-state-metrics behind its proxy does); they name tenants and count their findings")
	flag.StringVar(&metricsCertDir, "metrics-cert-dir", "", "folder of tls.crt and tls.key for the HTTPS metrics (reloaded when they change); empty: a self-signed certificate made at start")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz probes")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "address of the Go profiler's endpoints (/debug/pprof/); empty, the default, turns it off")
	flag.BoolVar(&leaderElect, "leader-elect", true, "elect a leader so that only one replica reconciles")
	flag.StringVar(&leaderNamespace, "leader-election-namespace", "", "namespace of the leader election Lease; defaults to the pod's namespace")
	flag.IntVar(&tenantWorkers, "tenant-workers", controllers.DefaultTenantWorkers, "how many Communes, and how many CPAS, are reconciled at once")
	flag.DurationVar(&auditInterval, "audit-interval", audit.DefaultInterval, "how often a tenant that did not change is audited (it is also audited whenever it becomes Ready)")
	flag.StringVar(&incidentHook, "incident-hook", "", "URL to which a notice (JSON) of each incident touching a tenant's data is posted: the cell's mail relay or ticketing, which writes to the tenant's DPO; empty: Warning events only")
	flag.BoolVar(&printVersion, "version", false, "print the build (version, commit, Go version, platform) as JSON and exit")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if printVersion {
		// the image's test and a cell checking what it pulled read this, without a cluster
		utilruntime.Must(json.NewEncoder(os.Stdout).Encode(build.Running()))
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	// in a container, the Go runtime learns the memory limit and collects before reaching it, rather
	// than growing its heap to twice what is live and being killed; GOMEMLIMIT, when set, wins
	if limit, err := memlimit.Set(memlimit.WithRatio(0.9)); err != nil {
		log.Error(err, "reading the container's memory limit; the Go runtime runs without one")
	} else if limit != math.MaxInt64 {
		log.Info("Go memory limit", "bytes", limit)
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	cfg := ctrl.GetConfigOrDie()
	cfg.Wrap(controllers.CountRequests)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controllers.CacheOptions(),
		Client:                  controllers.ClientOptions(),
		Metrics:                 metricsOptions(metricsAddr, metricsSecure, metricsCertDir),
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "mutualis.crtpl.be",
		LeaderElectionNamespace: leaderNamespace,
		// the cache is the only state: a new leader starts from what the API server says
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		log.Error(err, "creating the manager")
		os.Exit(1)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controllers.Setup(ctx, mgr, controllers.Config{TenantWorkers: tenantWorkers, AuditInterval: auditInterval, IncidentHook: incidentHook}); err != nil {
		log.Error(err, "setting up the reconcilers")
		os.Exit(1)
	}
	running := build.Running()
	utilruntime.Must(build.Register(metrics.Registry, running))
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", healthz.Ping))
	log.Info("starting mutualis", "version", running.Version, "commit", running.Commit)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "running the manager")
		os.Exit(1)
	}
}

// metricsOptions serves the metrics over plain HTTP (make run, the tests) or, with secure, over
// HTTPS behind the API server's authentication and authorisation. HTTP/2 is off: its stream
// resets let one client exhaust the server (CVE-2023-44487), and a scrape needs none of it.
func metricsOptions(addr string, secure bool, certDir string) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: addr}
	if secure {
		opts.SecureServing = true
		opts.CertDir = certDir
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
		opts.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	}
	return opts
}
