package backup

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// An export hands a tenant's namespace to the commune that leaves: a Velero Backup taken for the
// purpose, whose contents (the archive of every object, as Velero writes it in the object store)
// kubectl mutualis export downloads through a Velero DownloadRequest.

// DownloadRequestGVK is Velero's DownloadRequest.
var DownloadRequestGVK = schema.GroupVersionKind{Group: "velero.io", Version: "v1", Kind: "DownloadRequest"}

// LabelExport marks the Backups taken for an export.
const LabelExport = "mutualis.crtpl.be/export"

// ExportBackupName is the Backup of an export begun at a time.
func ExportBackupName(tenantNamespace string, at time.Time) string {
	return boundedName("mutualis-", tenantNamespace, "-export-"+at.UTC().Format("20060102150405"))
}

// ExportBackup is the Backup an export takes of the tenant namespace, like any of its backups.
func ExportBackup(tenantNamespace string, s Settings, at time.Time) *unstructured.Unstructured {
	b := Backup(ExportBackupName(tenantNamespace, at), tenantNamespace, s)
	l := b.GetLabels()
	l[LabelExport] = "true"
	b.SetLabels(l)
	return b
}

// DownloadRequest asks Velero for a signed address of a Backup's contents.
func DownloadRequest(name, backupName, veleroNamespace string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name, "namespace": veleroNamespace},
		"spec":     map[string]any{"target": map[string]any{"kind": "BackupContents", "name": backupName}},
	}}
	u.SetGroupVersionKind(DownloadRequestGVK)
	return u
}

// DownloadURL is the address a processed DownloadRequest gives, empty while Velero works on it.
func DownloadURL(r *unstructured.Unstructured) string {
	if phase, _, _ := unstructured.NestedString(r.Object, "status", "phase"); phase != "Processed" {
		return ""
	}
	url, _, _ := unstructured.NestedString(r.Object, "status", "downloadURL")
	return url
}

// Contents counts the objects of a Backup's contents archive by resource (configmaps, secrets,
// deployments.apps...), for one namespace. Velero writes each object once per API version it
// backed up; the copy without a version segment (resources/<resource>/namespaces/<ns>/<name>.json)
// is counted.
func Contents(archive io.Reader, namespace string) (map[string]int, error) {
	gz, err := gzip.NewReader(archive)
	if err != nil {
		return nil, fmt.Errorf("the backup's contents are not a gzip archive: %w", err)
	}
	defer gz.Close()
	counts := map[string]int{}
	r := tar.NewReader(gz)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return counts, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the backup's contents: %w", err)
		}
		parts := strings.Split(strings.TrimPrefix(h.Name, "./"), "/")
		if len(parts) == 5 && parts[0] == "resources" && parts[2] == "namespaces" && parts[3] == namespace && strings.HasSuffix(parts[4], ".json") {
			counts[parts[1]]++
		}
	}
}

// Summary says the counts of Contents in one line, by resource name.
func Summary(counts map[string]int) string {
	names := make([]string, 0, len(counts))
	total := 0
	for n, c := range counts {
		names = append(names, fmt.Sprintf("%s %d", n, c))
		total += c
	}
	sort.Strings(names)
	return fmt.Sprintf("%d objects (%s)", total, strings.Join(names, ", "))
}
