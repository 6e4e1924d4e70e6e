package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
)

// cellRepository is a copy of config/samples as a cell's Git repository: a working tree the test
// edits and commits to, and the bare repository that git's own smart HTTP backend serves to
// Flux's source-controller.
type cellRepository struct {
	t    *testing.T
	work string
	bare string
	url  string
}

func (r *cellRepository) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Cellule", "-c", "user.email=cellule@crtpl.be", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = r.work
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits every change of the working tree and pushes it to the served repository; it
// returns the commit's hash.
func (r *cellRepository) commit(message string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", message)
	r.git("push", "-q", r.bare, "main")
	return r.git("rev-parse", "HEAD")
}

func serveCellRepository(t *testing.T) *cellRepository {
	t.Helper()
	backend := filepath.Join(strings.TrimSpace(runCommand(t, "git", "--exec-path")), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("git's smart HTTP backend is needed to serve the repository to Flux: %v", err)
	}
	dir := t.TempDir()
	r := &cellRepository{t: t, work: filepath.Join(dir, "work"), bare: filepath.Join(dir, "srv", "cell.git")}
	if err := os.CopyFS(r.work, os.DirFS(filepath.Join(root, "config", "samples"))); err != nil {
		t.Fatal(err)
	}
	runCommand(t, "git", "init", "-q", "--bare", "-b", "main", r.bare)
	r.git("init", "-q", "-b", "main")
	srv := httptest.NewServer(&cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(r.bare), "GIT_HTTP_EXPORT_ALL=1"}})
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/cell.git"
	return r
}

func runCommand(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// freeAddress is a local address no one listens on yet.
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startFlux installs Flux's CRDs and runs its source-controller and kustomize-controller, built
// from their Go modules by hack/tools.sh, as processes against the local cluster. They stop with
// the test, and the Flux objects go with them.
func startFlux(t *testing.T) {
	t.Helper()
	kubectl(t, "apply", "--server-side", "-f", filepath.Join(root, "bin", "source-controller-crds")+"/", "-f", filepath.Join(root, "bin", "kustomize-controller-crds")+"/")
	kubectl(t, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: "flux-system"}, &corev1.Namespace{}); err != nil {
		create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flux-system"}})
	}
	logs := t.TempDir()
	if err := os.Mkdir(filepath.Join(logs, "artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	storage := freeAddress(t)
	controllers := map[string][]string{
		"source-controller": {"--storage-path=" + filepath.Join(logs, "artifacts"), "--storage-addr=" + storage, "--storage-adv-addr=" + storage},
		// dependencies are looked at again every few seconds rather than every 30
		"kustomize-controller": {"--requeue-dependency=3s"},
	}
	for name, args := range controllers {
		args = append(args, "--metrics-addr=0", "--health-addr=0", "--log-level=info")
		logFile, err := os.Create(filepath.Join(logs, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(root, "bin", name), args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "RUNTIME_NAMESPACE=flux-system")
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			logFile.Close()
			if t.Failed() {
				if data, err := os.ReadFile(logFile.Name()); err == nil {
					lines := strings.Split(string(data), "\n")
					t.Logf("--- last lines of %s:\n%s", name, strings.Join(lines[max(0, len(lines)-25):], "\n"))
				}
			}
		})
	}
}

// fluxObject reads a Flux object of flux-system.
func fluxObject(kind, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	group := "kustomize.toolkit.fluxcd.io/v1"
	if kind == "GitRepository" {
		group = "source.toolkit.fluxcd.io/v1"
	}
	u.SetAPIVersion(group)
	u.SetKind(kind)
	return u, k8s.Get(context.Background(), client.ObjectKey{Namespace: "flux-system", Name: name}, u)
}

// fluxReady is what a Flux object's Ready condition says, and the revision it last applied.
func fluxReady(kind, name string) (status, reason, message, revision string, err error) {
	u, err := fluxObject(kind, name)
	if err != nil {
		return "", "", "", "", err
	}
	revision, _, _ = unstructured.NestedString(u.Object, "status", "lastAppliedRevision")
	if kind == "GitRepository" {
		revision, _, _ = unstructured.NestedString(u.Object, "status", "artifact", "revision")
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			status, _ = m["status"].(string)
			reason, _ = m["reason"].(string)
			message, _ = m["message"].(string)
		}
	}
	return status, reason, message, revision, nil
}

// syncedAt waits until a Kustomization applied a commit and is Ready with it, that is until every
// object it applied is Ready (wait: true).
func syncedAt(kind, name, commit string) func() error {
	return func() error {
		status, reason, message, revision, err := fluxReady(kind, name)
		if err != nil {
			return err
		}
		if status != "True" || !strings.HasSuffix(revision, commit) {
			return fmt.Errorf("%s %s: Ready=%s %s: %s (revision %s, want %s)", kind, name, status, reason, message, revision, commit)
		}
		return nil
	}
}

// requestSync asks Flux to fetch the repository now, as `flux reconcile source git` does.
func requestSync(t *testing.T) {
	t.Helper()
	kubectl(t, "annotate", "--overwrite", "-n", "flux-system", "gitrepository/mutualis-cell", "reconcile.fluxcd.io/requestedAt="+time.Now().Format(time.RFC3339Nano))
}

// The cell's repository, config/samples as shipped, synced by Flux's own controllers from a Git
// repository served over HTTP: the platform, then the catalogue, then the tenants, each
// Kustomization Ready only when its objects are. A commune's pull request, written by kubectl
// mutualis new and checked by validate, is merged and reaches Ready through Flux; a broken
// catalogue entry turns the catalogue's sync red and holds the tenants back; removed communes are
// pruned by Flux and the data rules hold: Retain keeps the namespace, Delete takes its final
// backup first.
func TestFluxAppliesTheCellsRepository(t *testing.T) {
	ctx := context.Background()
	withPlugin(t)
	// the sample policy backs tenants up with Velero: the real one runs, and takes the final backup
	// of a pruned Delete commune
	startVelero(t)
	repo := serveCellRepository(t)
	first := repo.commit("the cell's repository")

	sync, err := os.ReadFile(filepath.Join(root, "config", "samples", "gitops", "flux", "sync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "sync.yaml")
	if err := os.WriteFile(manifest, []byte(strings.ReplaceAll(string(sync), "https://git.example.be/cell/mutualis-cell.git", repo.url)), 0o644); err != nil {
		t.Fatal(err)
	}
	// cleanups run last first: the controllers stop before the cell is removed
	t.Cleanup(func() { removeCell(manifest, repo) })
	startFlux(t)
	kubectl(t, "apply", "--server-side", "-f", manifest)

	for _, k := range []string{"mutualis-platform", "mutualis-catalog", "mutualis-tenants"} {
		eventually(t, 5*time.Minute, syncedAt("Kustomization", k, first))
	}
	// Flux's tenants sync is Ready only when every tenant is
	for _, name := range []string{"liege", "herstal", "eupen", "namur", "mons", "wavre", "daverdisse"} {
		c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := ready(c)(); err != nil {
			t.Errorf("the tenants' sync is Ready while %v", err)
		}
	}

	// a commune's pull request: new writes its file into its province, validate checks the tree
	kubectl(t, "mutualis", "new", "commune", "Wanze", "--app", "iadelib", "--admin-group", "wanze-it", "--into", filepath.Join(repo.work, "tenants"))
	kubectl(t, "mutualis", "validate", repo.work)
	merged := repo.commit("Wanze joins")
	requestSync(t)
	eventually(t, 5*time.Minute, syncedAt("Kustomization", "mutualis-tenants", merged))
	wanze := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "wanze"}}
	if err := ready(wanze)(); err != nil {
		t.Errorf("Flux reports the merge applied while %v", err)
	}

	// a catalogue entry that breaks the tenant contract turns the catalogue's sync red, and the
	// tenants' sync waits for it
	broken := "apiVersion: mutualis.crtpl.be/v1alpha1\nkind: SharedApplication\nmetadata:\n  name: sneaky\nspec:\n  version: \"1\"\n" +
		"  resources:\n    - {apiVersion: v1, kind: Namespace, metadata: {name: sneaky}}\n"
	if err := os.WriteFile(filepath.Join(repo.work, "catalog", "sneaky.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	appendLine(t, filepath.Join(repo.work, "catalog", "kustomization.yaml"), "  - sneaky.yaml")
	repo.commit("a broken catalogue entry")
	requestSync(t)
	eventually(t, 3*time.Minute, func() error {
		status, reason, message, _, err := fluxReady("Kustomization", "mutualis-catalog")
		if err != nil {
			return err
		}
		if status != "False" || !strings.Contains(message, "sneaky") {
			return fmt.Errorf("the catalogue's sync: Ready=%s %s: %s", status, reason, message)
		}
		t.Logf("Flux says: %s: %s", reason, message)
		return nil
	})
	eventually(t, 2*time.Minute, func() error {
		status, reason, message, _, err := fluxReady("Kustomization", "mutualis-tenants")
		if err != nil {
			return err
		}
		if status != "False" || reason != "DependencyNotReady" {
			return fmt.Errorf("the tenants' sync: Ready=%s %s: %s, want it waiting for the catalogue", status, reason, message)
		}
		return nil
	})
	// the cell reverts the entry and retires it (the catalogue is not pruned: a retired entry is
	// the cell's decision)
	if err := os.Remove(filepath.Join(repo.work, "catalog", "sneaky.yaml")); err != nil {
		t.Fatal(err)
	}
	removeLine(t, filepath.Join(repo.work, "catalog", "kustomization.yaml"), "  - sneaky.yaml")
	fixed := repo.commit("revert the broken entry")
	kubectl(t, "delete", "sharedapplication", "sneaky")
	requestSync(t)
	eventually(t, 3*time.Minute, syncedAt("Kustomization", "mutualis-catalog", fixed))
	eventually(t, 3*time.Minute, syncedAt("Kustomization", "mutualis-tenants", fixed))

	// two communes leave the repository: Flux prunes them; Herstal (Retain, the default) keeps its
	// namespace, Daverdisse (Delete) keeps it until its final backup completed
	daverdisse := &v1alpha1.Commune{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "daverdisse"}, daverdisse); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"liege/herstal.yaml", "luxembourg/daverdisse.yaml"} {
		if err := os.Remove(filepath.Join(repo.work, "tenants", f)); err != nil {
			t.Fatal(err)
		}
		removeLine(t, filepath.Join(repo.work, "tenants", filepath.Dir(f), "kustomization.yaml"), "  - "+filepath.Base(f))
	}
	// Luxembourg's folder keeps no tenant: it leaves the tree too, as kustomize refuses an empty
	// kustomization, which the pull request's check says
	if out, _, err := kubectlSplit("mutualis", "validate", repo.work, "--lang", "en"); err == nil || !strings.Contains(out, "kustomize cannot build") {
		t.Errorf("validate passes a tree whose kustomization kustomize refuses: %v\n%s", err, out)
	}
	removeLine(t, filepath.Join(repo.work, "tenants", "kustomization.yaml"), "  - luxembourg")
	if err := os.RemoveAll(filepath.Join(repo.work, "tenants", "luxembourg")); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "mutualis", "validate", repo.work)
	left := repo.commit("Herstal and Daverdisse leave")
	requestSync(t)
	eventually(t, 3*time.Minute, syncedAt("Kustomization", "mutualis-tenants", left))
	eventually(t, time.Minute, gone(&v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "herstal"}}))
	herstalNS := &corev1.Namespace{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: "commune-herstal"}, herstalNS); err != nil || herstalNS.DeletionTimestamp != nil {
		t.Errorf("Retain: the namespace of a pruned commune must stay: %v", err)
	}
	// Velero takes the final backup, and only then does the namespace go (the order itself, with
	// Velero held back, is proven by backup_test.go and faults_test.go)
	final := backup.FinalBackupName("commune-daverdisse", daverdisse.UID)
	eventually(t, 2*time.Minute, backupPhase(final, "Completed"))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "commune-daverdisse"}}
	eventually(t, 2*time.Minute, gone(ns))
	eventually(t, time.Minute, gone(daverdisse))
}

func appendLine(t *testing.T, file, line string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.TrimRight(string(data), "\n")+"\n"+line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// removeLine removes a line, whatever its indentation (kustomize's YAML library may have
// re-indented a kustomization it edited).
func removeLine(t *testing.T, file, line string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == strings.TrimSpace(line) {
			kept := strings.Join(append(lines[:i:i], lines[i+1:]...), "\n")
			if err := os.WriteFile(file, []byte(kept), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("%s has no line %q:\n%s", file, line, data)
}

// removeCell leaves the cluster as the other tests expect it: Flux's objects gone without
// pruning anything (their finalizers lifted once the controllers stopped), then the repository's
// tenants, catalogue and policy deleted by the test itself.
func removeCell(manifest string, repo *cellRepository) {
	ctx := context.Background()
	for _, k := range []struct{ kind, name string }{
		{"Kustomization", "mutualis-tenants"}, {"Kustomization", "mutualis-catalog"}, {"Kustomization", "mutualis-platform"}, {"GitRepository", "mutualis-cell"},
	} {
		if u, err := fluxObject(k.kind, k.name); err == nil {
			u.SetFinalizers(nil)
			_ = k8s.Update(ctx, u)
		}
	}
	_, _, _ = kubectlSplit("delete", "--ignore-not-found", "--wait=false", "-f", manifest)
	for _, folder := range []string{"tenants", "catalog", "platform"} {
		_, _, _ = kubectlSplit("delete", "--ignore-not-found", "--wait=false", "-k", filepath.Join(repo.work, folder))
	}
}
