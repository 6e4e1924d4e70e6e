package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// imagePlatforms are the platforms of the operator's image: the cell's nodes are one or the other.
var imagePlatforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

const (
	// imageUser is distroless's "nonroot": the chart and config/manager run the pod as this user
	// with a read-only root file system, and the image says so too for runtimes that look.
	imageUser  = "65532:65532"
	entrypoint = "/manager"
	// refNameAnnotation names the index in the layout, as tools that read OCI layouts expect
	// (oci:dist/image:v0.1.0).
	refNameAnnotation = "org.opencontainers.image.ref.name"
)

// buildImage cross-compiles the operator for each platform and writes a multi-platform image
// into an OCI image layout; it returns the index's digest, the one to deploy by.
//
// The image has no base: one layer holds the static binary and the licence. The operator needs
// nothing else (the time zone database is compiled in, the API server's CA comes with the service
// account), so there is no base image to pin, vendor or patch.
func buildImage(root string, rel release, out string) (v1.Hash, error) {
	if err := freshFolder(out); err != nil {
		return v1.Hash{}, err
	}
	licence, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return v1.Hash{}, err
	}
	work, err := os.MkdirTemp("", "mutualis-image-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer os.RemoveAll(work)

	index := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, platform := range imagePlatforms {
		bin := filepath.Join(work, platform.OS+"-"+platform.Architecture, "manager")
		if err := goBuild(root, rel, "./cmd/manager", platform.OS, platform.Architecture, bin); err != nil {
			return v1.Hash{}, err
		}
		img, err := platformImage(rel, platform, bin, licence)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("image for %s: %w", platform, err)
		}
		p := platform
		index = mutate.AppendManifests(index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	index, ok := mutate.Annotations(index, ociLabels(rel)).(v1.ImageIndex)
	if !ok {
		return v1.Hash{}, fmt.Errorf("annotating the image index")
	}
	path, err := layout.Write(out, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := path.AppendIndex(index, layout.WithAnnotations(map[string]string{refNameAnnotation: rel.Tag()})); err != nil {
		return v1.Hash{}, err
	}
	return index.Digest()
}

// platformImage is the image of one platform: its binary, its licence, and a configuration that
// runs it as a non-root user.
func platformImage(rel release, platform v1.Platform, bin string, licence []byte) (v1.Image, error) {
	binary, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	files, err := tarFiles(rel, []tarFile{
		{name: "manager", mode: 0o555, data: binary},
		{name: "licenses/mutualis/LICENSE", mode: 0o444, data: licence},
	})
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{
		Created:   v1.Time{Time: rel.Created},
		CreatedBy: "hack/release: the operator's static binary and its licence",
	}})
	if err != nil {
		return nil, err
	}
	config, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	config = config.DeepCopy()
	config.OS, config.Architecture = platform.OS, platform.Architecture
	config.Created = v1.Time{Time: rel.Created}
	config.Config = v1.Config{
		User:       imageUser,
		Entrypoint: []string{entrypoint},
		WorkingDir: "/",
		Labels:     ociLabels(rel),
	}
	img, err = mutate.ConfigFile(img, config)
	if err != nil {
		return nil, err
	}
	annotated, ok := mutate.Annotations(img, ociLabels(rel)).(v1.Image)
	if !ok {
		return nil, fmt.Errorf("annotating the image")
	}
	return annotated, nil
}

// ociLabels are the OCI's pre-defined annotations, which registries and scanners read.
func ociLabels(rel release) map[string]string {
	labels := map[string]string{
		"org.opencontainers.image.title":       "mutualis",
		"org.opencontainers.image.description": "The operator of the regional IT cell's tenants (Walloon communes and CPAS)",
		"org.opencontainers.image.version":     rel.Tag(),
		"org.opencontainers.image.created":     rel.Created.Format("2006-01-02T15:04:05Z"),
		"org.opencontainers.image.source":      sourceURL,
		"org.opencontainers.image.licenses":    "EUPL-1.2",
	}
	if rel.Commit != "" {
		labels["org.opencontainers.image.revision"] = rel.Commit
	}
	return labels
}

type tarFile struct {
	name string
	mode int64
	data []byte
}

// tarFiles writes files into a tar stream whose every header is the same from build to build:
// the release's time, owner root, no user or group names.
func tarFiles(rel release, files []tarFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		for dir := filepath.Dir(f.name); dir != "."; dir = filepath.Dir(dir) {
			dirs[dir] = true
		}
	}
	// directories first, parents before children, in a fixed order
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o555, ModTime: rel.Created}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: rel.Created}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
