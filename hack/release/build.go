package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// versionPackage holds the version variable that both binaries report.
	versionPackage = "github.com/crtpl/mutualis/cmd/internal/build.version"
	defaultBaseURL = "https://github.com/crtpl/mutualis/releases/download"
	sourceURL      = "https://github.com/crtpl/mutualis"
)

// release is what every artefact of one build says about itself.
type release struct {
	// Version is the VERSION file's, without a leading v (the chart's version).
	Version string
	// Commit is the commit built, empty outside a Git checkout.
	Commit string
	// Created is the commit's time, or SOURCE_DATE_EPOCH's when set: every timestamp in the
	// artefacts, so that the same commit gives the same bytes.
	Created time.Time
}

// Tag is the version as images and Git tags spell it.
func (r release) Tag() string { return "v" + r.Version }

func repositoryRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "VERSION")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no VERSION file in this folder or above: run from the repository")
		}
		dir = parent
	}
}

func readRelease(root string) (release, error) {
	raw, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return release{}, err
	}
	r := release{Version: strings.TrimSpace(string(raw))}
	if r.Version == "" || strings.HasPrefix(r.Version, "v") {
		return release{}, fmt.Errorf("VERSION holds %q: want a semantic version without a leading v, like 0.1.0", r.Version)
	}
	r.Commit, _ = git(root, "rev-parse", "HEAD")
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" && r.Commit != "" {
		epoch, _ = git(root, "log", "-1", "--format=%ct")
	}
	if epoch != "" {
		seconds, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return release{}, fmt.Errorf("SOURCE_DATE_EPOCH or the commit's time %q: %w", epoch, err)
		}
		r.Created = time.Unix(seconds, 0).UTC()
	} else {
		r.Created = time.Unix(0, 0).UTC()
	}
	return r, nil
}

func git(root string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// goBuild cross-compiles one of the repository's commands into a static binary for a platform:
// no cgo, no local paths (-trimpath), no symbol table, the release's version set.
func goBuild(root string, rel release, pkg, goos, goarch, out string) error {
	// the commit goes into the binary too (its version command and mutualis_build_info say it),
	// whatever GOFLAGS this machine sets; outside a Git checkout there is none to record
	vcs := "-buildvcs=false"
	if rel.Commit != "" {
		vcs = "-buildvcs=true"
	}
	cmd := exec.Command("go", "build", "-trimpath", vcs,
		"-ldflags", "-s -w -X "+versionPackage+"="+rel.Tag(),
		"-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %v\n%s", pkg, goos, goarch, err, stderr.String())
	}
	return nil
}

// freshFolder empties a folder to write a build into.
func freshFolder(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}
