package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/audit"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// manifest is what an export archive says of itself (MANIFEST.json, first in the archive).
type manifest struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Exported  time.Time `json:"exported"`
	// Backup is the Velero Backup whose contents are namespace.tar.gz; Expires when Velero deletes
	// it (its TTL).
	Backup  string     `json:"backup"`
	Expires *time.Time `json:"expires,omitempty"`
	// Objects counts the namespace's objects in the backup, by resource.
	Objects map[string]int `json:"objects"`
	// Files are the other entries of the archive with their SHA-256.
	Files map[string]string `json:"files"`
}

func newExportCommand(o *options) *cobra.Command {
	var file, from string
	var timeout time.Duration
	var allowExcluded bool
	cmd := &cobra.Command{
		Use:   "export <tenant>",
		Short: "Export a tenant's namespace as an archive (the cell's, for a commune that leaves)",
		Long: `Export one tenant's namespace as a tar archive for the commune or CPAS: the contents of a Velero
backup of its namespace (every object, as JSON, in namespace.tar.gz) and MANIFEST.json, which names
the backup, when it expires, how many objects of each resource it holds, and the SHA-256 of each
file. Without --backup, a new backup is taken for the export and waited for.

It needs the cell's rights: creating Backups and DownloadRequests in Velero's namespace. Volume
files are in the archive only where Velero's node agent backed them up (docs/backups.md).`,
		Example: `  kubectl mutualis export commune/nivelles -f nivelles.tar
  kubectl mutualis export cpas/nivelles --backup mutualis-cpas-nivelles-final-0a1b2c3d4e5f`,
		GroupID:           "cluster",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			t, err := oneTenant(ctx, c, args[0])
			if err != nil {
				return err
			}
			if file == "" {
				file = fmt.Sprintf("%s-%s-export-%s.tar", t.TenantKind(), t.GetName(), time.Now().UTC().Format("20060102"))
			}
			m, err := exportTenant(ctx, c, t, from, file, allowExcluded, func(format string, args ...any) {
				fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %s %s: backup %s, %s, into %s (SHA-256 %s)\n",
				t.TenantKind().Kind(), t.GetName(), m.Backup, backup.Summary(m.Objects), file, m.Files[archiveSum])
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the archive to write (default <kind>-<name>-export-<date>.tar)")
	cmd.Flags().StringVar(&from, "backup", "", "export this Completed Backup of the tenant rather than take a new one")
	cmd.Flags().BoolVar(&allowExcluded, "allow-excluded", false, "export even though objects labelled velero.io/exclude-from-backup=true are left out")
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Minute, "how long to wait for the backup and the download")
	return cmd
}

// archiveSum is the key under which a manifest's caller finds the SHA-256 of the archive itself.
const archiveSum = "(archive)"

// oneTenant reads the one tenant a name designates.
func oneTenant(ctx context.Context, c client.Client, name string) (v1alpha1.Tenant, error) {
	set, err := readTenants(ctx, c, []string{name})
	if err != nil {
		return nil, err
	}
	if len(set.tenants) != 1 {
		return nil, fmt.Errorf("%q is a commune and a CPAS: say commune/%s or cpas/%s", name, name, name)
	}
	return set.tenants[0], nil
}

// exportTenant takes (or reads) a Completed backup of the tenant's namespace, downloads its
// contents and writes them with a manifest, and the extra files (the shared instances' exports of
// an offboarding), into a tar archive at file. The archive is written
// beside file and renamed once whole: a failed export leaves no half archive under its name.
func exportTenant(ctx context.Context, c client.Client, t v1alpha1.Tenant, from, file string, allowExcluded bool, progress func(string, ...any), extra ...archived) (*manifest, error) {
	p, _, err := policy(ctx, c)
	if err != nil {
		return nil, err
	}
	settings := backup.EffectiveSettings(t.TenantSpec().Backup, tenant.EffectivePolicy(p))
	ns := t.TenantNamespace()
	if !allowExcluded {
		// a backup leaves out what is labelled so, and an export is the commune's copy of its data
		left, err := excludedFromBackup(ctx, c, ns)
		if err != nil {
			return nil, err
		}
		if len(left) > 0 {
			return nil, fmt.Errorf("the export would leave out %s, labelled %s=true: remove the label (kubectl -n %s label <kind> <name> %s-), or export without them with --allow-excluded",
				strings.Join(left, ", "), backup.LabelExcludeFromBackup, ns, backup.LabelExcludeFromBackup)
		}
	}
	name := from
	if name == "" {
		b := backup.ExportBackup(ns, settings, time.Now())
		name = b.GetName()
		if err := c.Create(ctx, b, client.FieldOwner("kubectl-mutualis")); err != nil {
			return nil, fmt.Errorf("taking the export's backup %s/%s: %w", settings.VeleroNamespace, name, err)
		}
		progress("backup %s/%s requested; waiting for Velero", settings.VeleroNamespace, name)
	}
	taken, err := completedBackup(ctx, c, settings.VeleroNamespace, name, ns)
	if err != nil {
		return nil, err
	}
	contents, err := download(ctx, c, settings.VeleroNamespace, name)
	if err != nil {
		return nil, err
	}
	counts, err := backup.Contents(bytes.NewReader(contents), ns)
	if err != nil {
		return nil, err
	}
	m := &manifest{Kind: t.TenantKind().Kind(), Name: t.GetName(), Namespace: ns, Exported: time.Now().UTC().Truncate(time.Second),
		Backup: name, Objects: counts, Files: map[string]string{}}
	if exp, _, _ := unstructured.NestedString(taken.Object, "status", "expiration"); exp != "" {
		if at, err := time.Parse(time.RFC3339, exp); err == nil {
			m.Expires = &at
		}
	}
	files := append([]archived{{name: "namespace.tar.gz", data: contents}}, extra...)
	if err := writeArchive(file, m, files); err != nil {
		return nil, err
	}
	return m, nil
}

// excludedFromBackup lists the namespace (when labelled) and its objects that Velero's label
// leaves out of every backup, by their metadata.
func excludedFromBackup(ctx context.Context, c client.Reader, namespace string) ([]string, error) {
	var out []string
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := c.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return nil, fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	if ns.Labels[backup.LabelExcludeFromBackup] == "true" {
		out = append(out, "Namespace/"+namespace)
	}
	for _, gvk := range audit.ExcludableKinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(namespace), client.MatchingLabels{backup.LabelExcludeFromBackup: "true"}); err != nil {
			return nil, fmt.Errorf("listing the %ss of %s labelled out of the backups: %w", gvk.Kind, namespace, err)
		}
		for _, o := range list.Items {
			out = append(out, gvk.Kind+"/"+o.Name)
		}
	}
	return out, nil
}

// completedBackup waits until a Backup of the tenant namespace is Completed.
func completedBackup(ctx context.Context, c client.Client, veleroNamespace, name, tenantNamespace string) (*unstructured.Unstructured, error) {
	b := &unstructured.Unstructured{}
	b.SetGroupVersionKind(backup.BackupGVK)
	for {
		switch err := c.Get(ctx, client.ObjectKey{Namespace: veleroNamespace, Name: name}, b); {
		case apierrors.IsNotFound(err):
			return nil, fmt.Errorf("no Backup %s/%s (kubectl -n %s get backups -l %s=%s lists the tenant's)", veleroNamespace, name, veleroNamespace, v1alpha1.LabelTenant, tenantNamespace)
		case err != nil:
			return nil, err
		}
		if got := b.GetLabels()[v1alpha1.LabelTenant]; got != tenantNamespace {
			return nil, fmt.Errorf("Backup %s/%s is not of %s (its label %s is %q)", veleroNamespace, name, tenantNamespace, v1alpha1.LabelTenant, got)
		}
		phase, failed, reason := backup.Phase(b)
		switch {
		case phase == backup.PhaseCompleted:
			return b, nil
		case failed:
			return nil, fmt.Errorf("Backup %s/%s ended %s: %s (velero backup describe %s --details)", veleroNamespace, name, phase, reason, name)
		}
		if err := pause(ctx, fmt.Sprintf("Backup %s/%s to complete (phase %q)", veleroNamespace, name, phase)); err != nil {
			return nil, err
		}
	}
}

// download asks Velero for the address of a Backup's contents and fetches them.
func download(ctx context.Context, c client.Client, veleroNamespace, backupName string) ([]byte, error) {
	req := backup.DownloadRequest(fmt.Sprintf("%s-%d", backupName, time.Now().UnixNano()%1e6), backupName, veleroNamespace)
	if err := c.Create(ctx, req); err != nil {
		return nil, fmt.Errorf("asking Velero for the contents of %s: %w", backupName, err)
	}
	defer func() { _ = c.Delete(context.WithoutCancel(ctx), req) }()
	var url string
	for url == "" {
		if err := c.Get(ctx, client.ObjectKeyFromObject(req), req); err != nil {
			return nil, err
		}
		if url = backup.DownloadURL(req); url == "" {
			if err := pause(ctx, "Velero to sign the address of "+backupName+"'s contents"); err != nil {
				return nil, err
			}
		}
	}
	get, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(get)
	if err != nil {
		return nil, fmt.Errorf("downloading the contents of %s from the object store: %w", backupName, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("downloading the contents of %s: the object store answered %s: %s", backupName, resp.Status, strings.TrimSpace(string(body)))
	}
	return io.ReadAll(resp.Body)
}

// pause waits a little before the next look, or says what it waited for when time is up.
func pause(ctx context.Context, waitingFor string) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("gave up waiting for %s: %w", waitingFor, ctx.Err())
	case <-time.After(2 * time.Second):
		return nil
	}
}

// archived is one file of an export archive.
type archived struct {
	name string
	data []byte
}

// writeArchive writes MANIFEST.json and the files into a tar archive, then puts it at path; the
// manifest gets each file's SHA-256, and Files[archiveSum] the archive's own.
func writeArchive(path string, m *manifest, files []archived) error {
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		m.Files[f.name] = hex.EncodeToString(sum[:])
	}
	head, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	hash := sha256.New()
	w := tar.NewWriter(io.MultiWriter(tmp, hash))
	for _, f := range append([]archived{{name: "MANIFEST.json", data: append(head, '\n')}}, files...) {
		if err := w.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: m.Exported}); err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	m.Files[archiveSum] = hex.EncodeToString(hash.Sum(nil))
	return os.Rename(tmp.Name(), path)
}
