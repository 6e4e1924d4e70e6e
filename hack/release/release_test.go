package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// testRelease is the release of the checkout under test, as make image and make release see it.
func testRelease(t *testing.T) (string, release) {
	t.Helper()
	root, err := repositoryRoot()
	if err != nil {
		t.Fatal(err)
	}
	readSources(t, root)
	rel, err := readRelease(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, rel
}

// readSources reads every file the release builds from. The tests build the binaries in go build
// processes, whose inputs go test does not see: without this, a change of the operator's code
// would find these tests' earlier result in go test's cache, and pass unbuilt.
func readSources(t *testing.T, root string) {
	t.Helper()
	for _, file := range []string{"go.mod", "go.sum", "VERSION", "LICENSE"} {
		if _, err := os.ReadFile(filepath.Join(root, file)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"api", "cmd", "controllers"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".csv") {
				return err
			}
			_, err = os.ReadFile(path)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The image holds the operator for both platforms, runs it as a non-root user, says its version
// in its labels and in the binary, and comes out with the same digest from the same commit.
func TestImage(t *testing.T) {
	root, rel := testRelease(t)
	dir := filepath.Join(t.TempDir(), "image")
	digest, err := buildImage(root, rel, dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := buildImage(root, rel, filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	if again != digest {
		t.Errorf("two builds of the same commit: digests %s and %s", digest, again)
	}

	index := loadIndex(t, dir, rel.Tag())
	if got, _ := index.Digest(); got != digest {
		t.Errorf("the layout's index is %s, the build said %s", got, digest)
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if manifest.Annotations["org.opencontainers.image.version"] != rel.Tag() {
		t.Errorf("index annotations %v lack the version %s", manifest.Annotations, rel.Tag())
	}
	var platforms []string
	for _, desc := range manifest.Manifests {
		if desc.Platform == nil {
			t.Fatalf("manifest %s has no platform", desc.Digest)
		}
		platforms = append(platforms, desc.Platform.String())
		img, err := index.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		config, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if config.OS != desc.Platform.OS || config.Architecture != desc.Platform.Architecture {
			t.Errorf("%s: the configuration says %s/%s", desc.Platform, config.OS, config.Architecture)
		}
		if config.Config.User != "65532:65532" {
			t.Errorf("%s: user %q, want the non-root 65532:65532", desc.Platform, config.Config.User)
		}
		if strings.Join(config.Config.Entrypoint, " ") != "/manager" || len(config.Config.Cmd) != 0 {
			t.Errorf("%s: entrypoint %q and cmd %q, want /manager alone", desc.Platform, config.Config.Entrypoint, config.Config.Cmd)
		}
		if config.Config.Labels["org.opencontainers.image.version"] != rel.Tag() || config.Config.Labels["org.opencontainers.image.revision"] != rel.Commit {
			t.Errorf("%s: labels %v, want version %s and revision %s", desc.Platform, config.Config.Labels, rel.Tag(), rel.Commit)
		}
		files := imageFiles(t, img)
		if len(files) != 2 || files["manager"] == nil || files["licenses/mutualis/LICENSE"] == nil {
			t.Errorf("%s: files %v, want the binary and its licence alone", desc.Platform, keys(files))
		}
		machine := elfMachine(t, files["manager"])
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[desc.Platform.Architecture]
		if machine != want {
			t.Errorf("%s: the binary is for %s", desc.Platform, machine)
		}
		if desc.Platform.Architecture == runtime.GOARCH {
			// what the local cluster's tests and hack/run-image.sh run: the image's own binary
			bin := filepath.Join(t.TempDir(), "manager")
			extracted, err := extractEntrypoint(dir, *desc.Platform, bin)
			if err != nil || extracted != digest {
				t.Fatalf("extract: %v, index %s, want %s", err, extracted, digest)
			}
			if data, err := os.ReadFile(bin); err != nil || !bytes.Equal(data, files["manager"]) {
				t.Fatalf("the extracted binary is not the image's /manager (%v)", err)
			}
			out, err := exec.Command(bin, "--version").Output()
			if err != nil {
				t.Fatalf("%s --version: %v", bin, err)
			}
			var info struct{ Version, Platform, Commit string }
			if err := json.Unmarshal(out, &info); err != nil || info.Version != rel.Tag() || info.Platform != "linux/"+runtime.GOARCH || info.Commit != rel.Commit {
				t.Errorf("the image's binary says %s (%v), want version %s and commit %s", out, err, rel.Tag(), rel.Commit)
			}
		}
	}
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
}

// The plugin's archives install with krew's own installer on each platform, their checksums
// match, and the manifest passes krew's own validation.
func TestPluginRelease(t *testing.T) {
	root, rel := testRelease(t)
	dir := t.TempDir()
	written, err := buildPlugin(root, rel, dir, defaultBaseURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != len(pluginPlatforms)+2 {
		t.Fatalf("files written: %v", written)
	}
	sums := readChecksums(t, filepath.Join(dir, checksumsFile))
	for _, name := range written[:len(pluginPlatforms)] {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if sums[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: SHA256SUMS says %q, the archive is %x", name, sums[name], sum)
		}
	}

	manifest := filepath.Join(dir, pluginName+".yaml")
	validate := filepath.Join(root, "bin", "validate-krew-manifest")
	if out, err := exec.Command(validate, "-skip-install", "-manifest", manifest).CombinedOutput(); err != nil {
		t.Fatalf("krew's validate-krew-manifest refuses the manifest (bin/ is built by make tools): %v\n%s", err, out)
	}
	for i, p := range pluginPlatforms {
		krewRoot := t.TempDir()
		cmd := exec.Command(filepath.Join(root, "bin", "krew"), "install", "--manifest="+manifest, "--archive="+filepath.Join(dir, written[i]))
		cmd.Env = append(os.Environ(), "KREW_ROOT="+krewRoot, "KREW_OS="+p.os, "KREW_ARCH="+p.arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("krew install on %s/%s: %v\n%s", p.os, p.arch, err, out)
			continue
		}
		store := filepath.Join(krewRoot, "store", pluginName, rel.Tag())
		bin := filepath.Join(store, "kubectl-"+pluginName)
		if p.os == "windows" {
			bin += ".exe"
		}
		if _, err := os.Stat(filepath.Join(store, "LICENSE")); err != nil {
			t.Errorf("%s/%s: krew installed no licence: %v", p.os, p.arch, err)
		}
		if format := binaryPlatform(t, bin); format != p.os+"/"+p.arch {
			t.Errorf("the %s/%s archive holds a binary for %s", p.os, p.arch, format)
		}
		if p.os == runtime.GOOS && p.arch == runtime.GOARCH {
			// krew links the plugin into its bin folder under the name kubectl looks for
			out, err := exec.Command(filepath.Join(krewRoot, "bin", "kubectl-"+pluginName), "version", "-o", "json").Output()
			var info struct{ Version string }
			if err != nil || json.Unmarshal(out, &info) != nil || info.Version != rel.Tag() {
				t.Errorf("the plugin installed by krew says %s (%v), want version %s", out, err, rel.Tag())
			}
		}
	}
}

func loadIndex(t *testing.T, dir, tag string) v1.ImageIndex {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != 1 || manifest.Manifests[0].Annotations[refNameAnnotation] != tag {
		t.Fatalf("the layout's index.json should name one index, %s: %+v", tag, manifest.Manifests)
	}
	index, err := top.ImageIndex(manifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return index
}

// imageFiles reads every regular file of an image's layers.
func imageFiles(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, layer := range layers {
		rc, err := layer.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			if h.Uid != 0 || h.Mode&0o222 != 0 {
				t.Errorf("%s: owner %d, mode %o: want root's and read-only", h.Name, h.Uid, h.Mode)
			}
			if files[h.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		rc.Close()
	}
	return files
}

func elfMachine(t *testing.T, binary []byte) elf.Machine {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	return f.Machine
}

// binaryPlatform reads a binary's format and machine as GOOS/GOARCH.
func binaryPlatform(t *testing.T, path string) string {
	t.Helper()
	if f, err := elf.Open(path); err == nil {
		defer f.Close()
		return "linux/" + map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
	}
	if f, err := macho.Open(path); err == nil {
		defer f.Close()
		return "darwin/" + map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
	}
	if f, err := pe.Open(path); err == nil {
		defer f.Close()
		return "windows/" + map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
	}
	return "unknown"
}

func readChecksums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		sum, name, ok := strings.Cut(scanner.Text(), "  ")
		if !ok {
			t.Fatalf("%s: line %q is not as sha256sum writes it", path, scanner.Text())
		}
		sums[name] = sum
	}
	return sums
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
