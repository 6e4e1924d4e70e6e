package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// extractEntrypoint copies the entrypoint of an image layout's image for a platform into a file,
// and returns the digest of the layout's image index. The local cluster has no container runtime:
// its tests and hack/run-image.sh run the binary the image holds, rather than one built apart.
func extractEntrypoint(dir string, platform v1.Platform, to string) (v1.Hash, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return v1.Hash{}, err
	}
	manifest, err := top.IndexManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	if len(manifest.Manifests) != 1 {
		return v1.Hash{}, fmt.Errorf("%s: want one image index, found %d", dir, len(manifest.Manifests))
	}
	digest := manifest.Manifests[0].Digest
	index, err := top.ImageIndex(digest)
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := index.Image(platformDigest(index, platform))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("the image has no %s: %w", platform, err)
	}
	config, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, err
	}
	entrypoint := strings.TrimPrefix(strings.Join(config.Config.Entrypoint, " "), "/")
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, layer := range layers {
		if found, err := copyFromLayer(layer, entrypoint, to); err != nil || found {
			return digest, err
		}
	}
	return v1.Hash{}, fmt.Errorf("the image for %s has no %s", platform, entrypoint)
}

// platformDigest is the digest of an index's image for a platform (the zero hash when none is).
func platformDigest(index v1.ImageIndex, platform v1.Platform) v1.Hash {
	manifest, err := index.IndexManifest()
	if err != nil {
		return v1.Hash{}
	}
	for _, desc := range manifest.Manifests {
		if desc.Platform != nil && desc.Platform.OS == platform.OS && desc.Platform.Architecture == platform.Architecture {
			return desc.Digest
		}
	}
	return v1.Hash{}
}

func copyFromLayer(layer v1.Layer, name, to string) (bool, error) {
	rc, err := layer.Uncompressed()
	if err != nil {
		return false, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if h.Name != name {
			continue
		}
		f, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
		if err != nil {
			return false, err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return false, err
		}
		return true, f.Close()
	}
}
