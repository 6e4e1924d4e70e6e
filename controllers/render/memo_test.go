package render

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// countBuilds counts the kustomize builds for the duration of a test.
func countBuilds(t *testing.T) *int {
	t.Helper()
	n := 0
	real := runKustomize
	runKustomize = func(fs filesys.FileSystem, dir string) (resmap.ResMap, error) {
		n++
		return real(fs, dir)
	}
	t.Cleanup(func() { runKustomize = real })
	return &n
}

// The memo answers a subscription whose inputs did not change without a build, with the same
// objects as a render, and renders again when the application, the tenant or the policy changes.
func TestMemoRendersOncePerInputs(t *testing.T) {
	builds := countBuilds(t)
	app := application(t, "files-app.yaml")
	app.UID, app.Generation = "files-uid", 1
	memo := &Memo{}
	first, err := memo.Render(app, liege(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := Render(app, liege(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	*builds = 0
	second, err := memo.Render(app, liege(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if *builds != 0 {
		t.Errorf("an unchanged subscription was built %d times again", *builds)
	}
	if !sameObjects(first, second) || !sameObjects(direct, second) {
		t.Fatal("the memo's answer differs from a render")
	}

	// a caller's changes do not reach the memo
	second[0].SetName("changed-by-a-caller")
	third, _ := memo.Render(app, liege(), Options{})
	if third[0].GetName() == "changed-by-a-caller" {
		t.Error("a caller's change to a returned object changed the memo")
	}

	*builds = 0
	app.Generation = 2
	if _, err := memo.Render(app, liege(), Options{}); err != nil || *builds != 1 {
		t.Errorf("a new generation of the application: %d builds (%v), want 1", *builds, err)
	}
	*builds = 0
	tenant := liege()
	tenant.Tier = "S"
	if _, err := memo.Render(app, tenant, Options{}); err != nil || *builds != 1 {
		t.Errorf("another tier: %d builds (%v), want 1", *builds, err)
	}
	*builds = 0
	if _, err := memo.Render(app, tenant, Options{AllowedServiceTypes: []v1alpha1.ServiceType{"NodePort"}}); *builds != 1 {
		t.Errorf("another policy: %d builds (%v), want 1", *builds, err)
	}

	memo.Forget("commune-liege")
	if memo.Len() != 0 {
		t.Errorf("%d renders kept after the tenant's namespace was forgotten", memo.Len())
	}

	// no memo: every call is a build
	var none *Memo
	*builds = 0
	if _, err := none.Render(app, liege(), Options{}); err != nil || *builds != 1 {
		t.Errorf("a nil memo: %d builds (%v), want 1", *builds, err)
	}
	none.Forget("commune-liege")
}

func sameObjects(a, b []*unstructured.Unstructured) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equality.Semantic.DeepEqual(a[i].Object, b[i].Object) {
			return false
		}
	}
	return true
}
