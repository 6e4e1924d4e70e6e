package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate"
)

// writeInto files a new tenant's manifest in a GitOps tree's tenants folder as the sample tree
// lays it out: <tenants>/<province>/<commune>.yaml, the CPAS after its commune in the same file.
// When the tree is assembled by kustomizations (tenants has one), the file is listed in its
// province's and the province in the tenants' one, so that the pull request onboards the tenant
// rather than adding a file nothing applies. It returns the file written.
func writeInto(tenants string, entry registry.Entry, kind v1alpha1.TenantKind, manifest []byte) (string, error) {
	province := registry.Slug(entry.Province)
	dir := filepath.Join(tenants, province)
	file := filepath.Join(dir, entry.Slug()+".yaml")
	existing, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", err
	default:
		docs, _ := validate.Parse(file, existing)
		for _, d := range docs {
			if d.Kind == kind.Kind() && d.Name == entry.Slug() {
				return "", fmt.Errorf("%s already declares %s %s (line %d): edit it there", file, d.Kind, d.Name, d.Line)
			}
		}
		manifest = append(append(existing, []byte("---\n")...), manifest...)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(file, manifest, 0o644); err != nil {
		return "", err
	}
	top := filepath.Join(tenants, "kustomization.yaml")
	if _, err := os.Stat(top); err != nil {
		return file, nil // a folder the GitOps engine walks whole: nothing to list
	}
	if err := ensureListed(filepath.Join(dir, "kustomization.yaml"), entry.Slug()+".yaml"); err != nil {
		return "", err
	}
	return file, ensureListed(top, province)
}

// ensureListed adds a resource to a kustomization's resources, creating the kustomization when
// there is none, and keeping the comments and order of one that exists (kustomize's own YAML
// library edits it in place).
func ensureListed(kustomization, resource string) error {
	var node *kyaml.RNode
	data, err := os.ReadFile(kustomization)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		node = kyaml.MustParse("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	case err != nil:
		return err
	default:
		if node, err = kyaml.Parse(string(data)); err != nil {
			return fmt.Errorf("%s: %w", kustomization, err)
		}
	}
	list, err := node.Pipe(kyaml.LookupCreate(kyaml.SequenceNode, "resources"))
	if err != nil {
		return fmt.Errorf("%s: its resources: %w", kustomization, err)
	}
	for _, item := range list.YNode().Content {
		if item.Value == resource {
			return nil
		}
	}
	list.YNode().Content = append(list.YNode().Content, kyaml.NewScalarRNode(resource).YNode())
	out, err := node.String()
	if err != nil {
		return err
	}
	return os.WriteFile(kustomization, []byte(out), 0o644)
}
