package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

var (
	// imageLayout is the OCI layout that hack/release wrote for this run, imageDigest its index.
	imageLayout string
	imageDigest string
)

// The chart installs the image that make image built, pinned by its digest, and the binary that
// image holds runs with nothing but the chart's ServiceAccount and RBAC: two replicas, one leads
// and reconciles every tenant, the other stands by; the metrics are HTTPS for the holders of the
// metrics-reader ClusterRole only, and only the leader exports the cell's state.
func TestTheChartRunsTheBuiltImage(t *testing.T) {
	const ns, release = "mutualis-chart", "mutualis"
	chart := filepath.Join(root, "charts", "mutualis")
	// the cluster-wide objects that the suite applied from config/ pass to the release, as they
	// would for a cell moving from config/ to the chart (the CRDs stay apart: crds.enabled=false)
	for _, file := range []string{"config/rbac/tenant-roles.yaml", "config/admission/tenant-isolation.yaml"} {
		path := filepath.Join(root, file)
		kubectl(t, "annotate", "--overwrite", "-f", path, "meta.helm.sh/release-name="+release, "meta.helm.sh/release-namespace="+ns)
		kubectl(t, "label", "--overwrite", "-f", path, "app.kubernetes.io/managed-by=Helm")
	}
	helmRun(t, "install", release, chart, "--namespace", ns, "--create-namespace", "--kubeconfig", kubeconfig,
		"--set", "crds.enabled=false", "--set", "image.repository=registry.crtpl.be/mutualis", "--set", "image.digest="+imageDigest,
		"--wait", "--timeout", "2m")
	wantImage := "registry.crtpl.be/mutualis:v" + strings.TrimSpace(readFile(t, filepath.Join(root, "VERSION"))) + "@" + imageDigest
	if got := kubectl(t, "get", "deployment", "-n", ns, release, "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != wantImage {
		t.Fatalf("the chart deployed %q, want the built image %q", got, wantImage)
	}
	// the replicas run with the Deployment's own arguments, their ports moved to free local ones
	// and the Lease's namespace given (a pod reads it from its service account)
	chartArgs := strings.Fields(kubectl(t, "get", "deployment", "-n", ns, release, "-o", `jsonpath={range .spec.template.spec.containers[0].args[*]}{@}{" "}{end}`))
	serviceAccount := serviceAccountKubeconfig(t, ns, release)
	stopOperator()
	defer restartedAndReconciled(t)
	type replica struct {
		p              *process
		metrics, probe string
		log            string
	}
	var replicas []replica
	for i := range 2 {
		r := replica{metrics: freeAddress(t), probe: freeAddress(t), log: filepath.Join(t.TempDir(), fmt.Sprintf("replica-%d.log", i))}
		args := []string{"--leader-election-namespace=" + ns}
		for _, a := range chartArgs {
			switch {
			case strings.HasPrefix(a, "--metrics-bind-address="):
				a = "--metrics-bind-address=" + r.metrics
			case strings.HasPrefix(a, "--health-probe-bind-address="):
				a = "--health-probe-bind-address=" + r.probe
			}
			args = append(args, a)
		}
		p, err := launchWith(serviceAccount, r.log, args...)
		if err != nil {
			t.Fatal(err)
		}
		r.p = p
		defer p.stop()
		replicas = append(replicas, r)
		eventually(t, time.Minute, func() error {
			resp, err := http.Get("http://" + r.probe + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("replica %d /readyz: %s", i, resp.Status)
			}
			return nil
		})
		if i == 0 {
			// the first replica leads before the second starts
			eventually(t, time.Minute, func() error {
				holder, _, err := kubectlSplit("get", "lease", "-n", ns, "mutualis.crtpl.be", "-o", "jsonpath={.spec.holderIdentity}")
				if err != nil || holder == "" {
					return fmt.Errorf("no leader in %s yet (%v)", ns, err)
				}
				return nil
			})
		}
	}

	// who may scrape: nobody without a token, not any ServiceAccount, the metrics readers only
	kubectl(t, "create", "serviceaccount", "-n", ns, "prometheus")
	kubectl(t, "create", "clusterrolebinding", "mutualis-chart-prometheus", "--clusterrole="+release+"-metrics-reader", "--serviceaccount="+ns+":prometheus")
	reader := strings.TrimSpace(kubectl(t, "create", "token", "-n", ns, "prometheus"))
	stranger := strings.TrimSpace(kubectl(t, "create", "token", "-n", ns, "default"))
	leader, standby := replicas[0], replicas[1]
	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {stranger, http.StatusForbidden}} {
		if code, _ := scrapeHTTPS(t, leader.metrics, c.token); code != c.want {
			t.Errorf("a scrape with token %.12q: %d, want %d", c.token, code, c.want)
		}
	}

	// the leader reconciles what exists and what comes, with the chart's rights alone
	gesves := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "gesves"}, Spec: v1alpha1.CommuneSpec{NIS: "92054"}}
	create(t, gesves)
	eventually(t, 2*time.Minute, ready(gesves))
	communes := strings.Count(kubectl(t, "get", "communes", "-o", "name"), "\n")
	eventually(t, 2*time.Minute, func() error {
		code, page := scrapeHTTPS(t, leader.metrics, reader)
		if code != http.StatusOK {
			return fmt.Errorf("the metrics reader's scrape: %d", code)
		}
		got, err := reconcileTotals(strings.NewReader(page))
		if err != nil {
			return err
		}
		if got["commune"] < communes {
			return fmt.Errorf("the chart's replica reconciled %d of %d Communes", got["commune"], communes)
		}
		for _, family := range []string{`mutualis_tenants{condition="Ready",kind="Commune",status="True"}`, "mutualis_build_info{"} {
			if !strings.Contains(page, family) {
				return fmt.Errorf("the leader does not export %s", family)
			}
		}
		return nil
	})
	code, page := scrapeHTTPS(t, standby.metrics, reader)
	if code != http.StatusOK || !strings.Contains(page, "mutualis_build_info{") {
		t.Fatalf("the standby replica's metrics: %d\n%.2000s", code, page)
	}
	for _, family := range []string{"mutualis_tenants{", "mutualis_restore_drills_running ", "mutualis_retained_namespaces_overdue "} {
		if strings.Contains(page, family) {
			t.Errorf("the standby replica exports %s: with two replicas every alert would fire twice", strings.TrimSuffix(family, "{"))
		}
	}
	for _, r := range replicas {
		if log := readFile(t, r.log); strings.Contains(log, "forbidden") {
			t.Errorf("the chart's RBAC refused the operator something:\n%s", grepLines(log, "forbidden"))
		}
	}
}

func helmRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "bin", "helm"), args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// serviceAccountKubeconfig writes a kubeconfig for the test cluster with a token of a
// ServiceAccount: what a pod of that account would be.
func serviceAccountKubeconfig(t *testing.T, ns, name string) string {
	t.Helper()
	admin, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	token := strings.TrimSpace(kubectl(t, "create", "token", "-n", ns, name, "--duration=1h"))
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cell"] = cluster
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["cell"] = &clientcmdapi.Context{Cluster: "cell", AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = "cell"
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// scrapeHTTPS gets /metrics over HTTPS (the certificate is the operator's self-signed one) with a
// bearer token, and returns the status code and the page.
func scrapeHTTPS(t *testing.T, addr, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func grepLines(text, word string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, word) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
