// Command release builds what a release of mutualis ships, on this machine, offline and without a
// container engine: the operator's image for linux/amd64 and linux/arm64 as an OCI image layout
// (make image), and the kubectl plugin's archives for Linux, macOS and Windows with their checksums
// and a krew manifest (make release). Both carry the version of the repository's VERSION file and
// come out the same, byte for byte, from the same commit.
//
//	go run ./hack/release image   [-out dist/image]
//	go run ./hack/release plugin  [-out dist/plugin] [-base-url URL]
//	go run ./hack/release extract [-from dist/image] -out FILE   (prints the image's digest)
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: release image|plugin|extract [flags]")
		os.Exit(2)
	}
	root, err := repositoryRoot()
	if err == nil {
		err = run(root, os.Args[1], os.Args[2:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(root, what string, args []string) error {
	fs := flag.NewFlagSet(what, flag.ContinueOnError)
	out := fs.String("out", filepath.Join(root, "dist", what), "folder to write into (emptied first)")
	from := fs.String("from", filepath.Join(root, "dist", "image"), "extract: the image layout to read")
	baseURL := fs.String("base-url", defaultBaseURL, "where the archives are published; the krew manifest points there, followed by the version tag")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rel, err := readRelease(root)
	if err != nil {
		return err
	}
	switch what {
	case "image":
		digest, err := buildImage(root, rel, *out)
		if err != nil {
			return err
		}
		fmt.Printf("image %s (%s) written to %s as an OCI layout\n", rel.Tag(), digest, *out)
	case "plugin":
		files, err := buildPlugin(root, rel, *out, *baseURL)
		if err != nil {
			return err
		}
		fmt.Printf("plugin %s: %d files written to %s\n", rel.Tag(), len(files), *out)
	case "extract":
		// the binary of this machine's platform, as the local cluster's tests run it
		digest, err := extractEntrypoint(*from, v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, *out)
		if err != nil {
			return err
		}
		fmt.Println(digest)
	default:
		return fmt.Errorf("unknown command %q: image, plugin or extract", what)
	}
	return nil
}
