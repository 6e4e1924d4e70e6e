package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// pluginPlatforms are those a cell's engineers and the communes' IT people work on.
var pluginPlatforms = []struct{ os, arch string }{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

const (
	pluginName = "mutualis"
	// checksumsFile lists each archive's SHA-256 as sha256sum prints it, so that
	// `sha256sum -c` checks a download.
	checksumsFile = "SHA256SUMS"
)

// buildPlugin writes the plugin's archives (tar.gz, zip for Windows, each with the binary and the
// licence), their checksums and the krew manifest that points at them under baseURL/<tag>/. It
// returns the files written, archives first.
func buildPlugin(root string, rel release, out, baseURL string) ([]string, error) {
	if err := freshFolder(out); err != nil {
		return nil, err
	}
	licence, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "mutualis-plugin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	var (
		written   []string
		checksums strings.Builder
		platforms []krewPlatform
	)
	for _, p := range pluginPlatforms {
		bin := "kubectl-" + pluginName
		if p.os == "windows" {
			bin += ".exe"
		}
		built := filepath.Join(work, p.os+"-"+p.arch, bin)
		if err := goBuild(root, rel, "./cmd/kubectl-mutualis", p.os, p.arch, built); err != nil {
			return nil, err
		}
		binary, err := os.ReadFile(built)
		if err != nil {
			return nil, err
		}
		files := []tarFile{{name: bin, mode: 0o755, data: binary}, {name: "LICENSE", mode: 0o644, data: licence}}
		var archive []byte
		name := fmt.Sprintf("kubectl-%s_%s_%s_%s", pluginName, rel.Tag(), p.os, p.arch)
		if p.os == "windows" {
			name += ".zip"
			archive, err = zipFiles(rel, files)
		} else {
			name += ".tar.gz"
			archive, err = tarGzFiles(rel, files)
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(out, name), archive, 0o644); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(archive)
		fmt.Fprintf(&checksums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
		written = append(written, name)
		platforms = append(platforms, krewPlatform{
			Selector: krewSelector{MatchLabels: map[string]string{"os": p.os, "arch": p.arch}},
			URI:      strings.TrimSuffix(baseURL, "/") + "/" + rel.Tag() + "/" + name,
			Sha256:   hex.EncodeToString(sum[:]),
			Bin:      bin,
			Files:    []krewFile{{From: bin, To: "."}, {From: "LICENSE", To: "."}},
		})
	}
	if err := os.WriteFile(filepath.Join(out, checksumsFile), []byte(checksums.String()), 0o644); err != nil {
		return nil, err
	}
	manifest, err := yaml.Marshal(krewManifest(rel, platforms))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(out, pluginName+".yaml"), manifest, 0o644); err != nil {
		return nil, err
	}
	return append(written, checksumsFile, pluginName+".yaml"), nil
}

// The krew manifest, in krew's v1alpha2 shape. krew's own types are not imported: its module
// requires client-go v11.0.0+incompatible, which Go's version selection would take over v0.37.
// The test checks the result with krew's own validator and installer instead.
type krewPlugin struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   krewMetadata `json:"metadata"`
	Spec       krewSpec     `json:"spec"`
}

type krewMetadata struct {
	Name string `json:"name"`
}

type krewSpec struct {
	Version          string         `json:"version"`
	Homepage         string         `json:"homepage"`
	ShortDescription string         `json:"shortDescription"`
	Description      string         `json:"description"`
	Platforms        []krewPlatform `json:"platforms"`
}

type krewPlatform struct {
	Selector krewSelector `json:"selector"`
	URI      string       `json:"uri"`
	Sha256   string       `json:"sha256"`
	Bin      string       `json:"bin"`
	Files    []krewFile   `json:"files"`
}

type krewSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type krewFile struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func krewManifest(rel release, platforms []krewPlatform) krewPlugin {
	return krewPlugin{
		APIVersion: "krew.googlecontainertools.github.com/v1alpha2",
		Kind:       "Plugin",
		Metadata:   krewMetadata{Name: pluginName},
		Spec: krewSpec{
			Version:          rel.Tag(),
			Homepage:         sourceURL,
			ShortDescription: "Onboard, check and report on communes' tenants",
			Description: "The command line of mutualis, the operator of a regional IT cell's tenants (Walloon communes and CPAS):\n" +
				"write and validate a Commune or CPAS offline, see its status and audit, report on the cell\n" +
				"(costs, GDPR record, barometer, monthly account of service), export a tenant and offboard it.\n" +
				"It speaks French, German and English.\n",
			Platforms: platforms,
		},
	}
}

// tarGzFiles is a gzip-compressed tar archive of files, the same bytes from build to build.
func tarGzFiles(rel release, files []tarFile) ([]byte, error) {
	raw, err := tarFiles(rel, files)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// zipFiles is a zip archive of files, the same bytes from build to build.
func zipFiles(rel release, files []tarFile) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		header := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: rel.Created}
		header.SetMode(os.FileMode(f.mode))
		w, err := zw.CreateHeader(header)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
