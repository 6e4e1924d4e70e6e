package render

import (
	"testing"
	"time"

	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// One build that panics must not hold the build lock for good: the operator recovers the panic of
// one reconcile, and every later render of every tenant would otherwise wait forever.
func TestAPanickingBuildReleasesTheLock(t *testing.T) {
	real := runKustomize
	runKustomize = func(filesys.FileSystem, string) (resmap.ResMap, error) { panic("kustomize bug") }
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the build should have panicked")
			}
		}()
		_, _ = Render(application(t, "files-app.yaml"), liege(), Options{})
	}()
	runKustomize = real

	app := application(t, "files-app.yaml")
	done := make(chan error, 1)
	go func() {
		_, err := Render(app, liege(), Options{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the render after a panicking build never got the lock")
	}
}
