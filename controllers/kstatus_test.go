package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// GitOps tools decide health with kstatus; the tenant's conditions must read right to it.
func TestKstatusReadsTenantConditions(t *testing.T) {
	of := kstatusOf(t)
	computed := func(obj client.Object, want status.Status) func() error { return of(obj, kindOf(obj), want) }
	good := newCommune("kstatus-ok", "92035")
	create(t, good)
	eventually(t, wait, computed(good, status.CurrentStatus))

	bad := newCommune("kstatus-bad", "99999")
	create(t, bad)
	eventually(t, wait, computed(bad, status.FailedStatus))

	waiting := newCPAS("kstatus-waiting", "no-such-commune")
	create(t, waiting)
	eventually(t, wait, computed(waiting, status.InProgressStatus))

	// a new object, as the API server returns it to the GitOps engine that created it, before the
	// operator has seen it: in progress, never Current (Flux would report the merge applied)
	for kind, spec := range map[string]map[string]any{
		"Commune":           {"nis": "92003"},
		"SharedApplication": {"version": "1", "resources": []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "settings"}}}},
	} {
		u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(kind))
		u.SetName("kstatus-new")
		if err := k8s.Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		if res, err := status.Compute(u); err != nil || res.Status != status.InProgressStatus {
			t.Errorf("a new %s reads %v (%v), want InProgress", kind, res, err)
		}
	}
}

// A catalogue entry whose base breaks the contract, and a pool that cannot meet its subscribers'
// requests, read as Failed to kstatus: the GitOps engine's catalogue sync turns red rather than
// green over a broken catalogue. Fixed, they read Current again.
func TestKstatusReadsTheCataloguesConditions(t *testing.T) {
	ctx := context.Background()
	computed := kstatusOf(t)

	app := webApp("kstatus-app", "nginxinc/nginx-unprivileged:1.26")
	create(t, app)
	eventually(t, wait, computed(app, "SharedApplication", status.CurrentStatus))
	data, err := os.ReadFile(filepath.Join("render", "testdata", "bad-namespace.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := &v1alpha1.SharedApplication{}
	if err := yaml.Unmarshal(data, bad); err != nil {
		t.Fatal(err)
	}
	get(t, app.Name, app)
	app.Spec.Resources = bad.Spec.Resources
	if err := k8s.Update(ctx, app); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, computed(app, "SharedApplication", status.FailedStatus))

	create(t, officeApp("kstatus-office"))
	pool := &v1alpha1.LicencePool{ObjectMeta: metav1.ObjectMeta{Name: "kstatus-office-2026"},
		Spec: v1alpha1.LicencePoolSpec{Application: "kstatus-office", Seats: 10}}
	create(t, pool)
	eventually(t, wait, computed(pool, "LicencePool", status.CurrentStatus))
	create(t, licensedCommune("kstatus-wanze", "61072", "kstatus-office", 15))
	eventually(t, wait, computed(pool, "LicencePool", status.FailedStatus))
	patch(t, pool, func() { pool.Spec.Seats = 20 })
	eventually(t, wait, computed(pool, "LicencePool", status.CurrentStatus))
}

// kstatusOf is a check of the status kstatus computes for an object of the given kind.
func kstatusOf(t *testing.T) func(obj client.Object, kind string, want status.Status) func() error {
	return func(obj client.Object, kind string, want status.Status) func() error {
		return func() error {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(kind))
			if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), u); err != nil {
				return err
			}
			res, err := status.Compute(u)
			if err != nil {
				return err
			}
			if res.Status != want {
				return fmt.Errorf("kstatus of %s %s: %s (%s), want %s", kind, obj.GetName(), res.Status, res.Message, want)
			}
			return nil
		}
	}
}

func kindOf(obj client.Object) string {
	if _, ok := obj.(*v1alpha1.CPAS); ok {
		return "CPAS"
	}
	return "Commune"
}
