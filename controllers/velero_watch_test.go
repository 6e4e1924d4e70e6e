package controllers

import (
	"errors"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// flakyController fails the first watches it is asked to add, then accepts them.
type flakyController struct {
	controller.Controller
	failures int
	added    int
}

func (f *flakyController) Watch(source.Source) error {
	if f.failures > 0 {
		f.failures--
		return errors.New("the API server is restarting")
	}
	f.added++
	return nil
}

type someCache struct{ cache.Cache }

// A failed attempt to watch Velero's kinds is tried again, and a kind already watched is not
// watched twice.
func TestVeleroWatchIsRetriedAfterAFailure(t *testing.T) {
	c := &flakyController{failures: 1}
	r := &TenantReconciler{controller: c, cache: someCache{}}
	if err := r.watchVelero(); err == nil {
		t.Fatal("the failure must be returned, so that the reconcile is retried")
	}
	if err := r.watchVelero(); err != nil {
		t.Fatal(err)
	}
	if err := r.watchVelero(); err != nil {
		t.Fatal(err)
	}
	if c.added != 3 {
		t.Fatalf("watches added: %d, want one each for Schedules, Backups and Restores", c.added)
	}
}
