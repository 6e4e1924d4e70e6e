package controllers

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// GitOps tools decide health with kstatus; the tenant's conditions must read right to it.
func TestKstatusReadsTenantConditions(t *testing.T) {
	computed := func(obj client.Object, want status.Status) func() error {
		return func() error {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(kindOf(obj)))
			if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), u); err != nil {
				return err
			}
			res, err := status.Compute(u)
			if err != nil {
				return err
			}
			if res.Status != want {
				return fmt.Errorf("kstatus of %s: %s (%s), want %s", obj.GetName(), res.Status, res.Message, want)
			}
			return nil
		}
	}
	good := newCommune("kstatus-ok", "92035")
	create(t, good)
	eventually(t, wait, computed(good, status.CurrentStatus))

	bad := newCommune("kstatus-bad", "99999")
	create(t, bad)
	eventually(t, wait, computed(bad, status.FailedStatus))

	waiting := newCPAS("kstatus-waiting", "no-such-commune")
	create(t, waiting)
	eventually(t, wait, computed(waiting, status.InProgressStatus))
}

func kindOf(obj client.Object) string {
	if _, ok := obj.(*v1alpha1.CPAS); ok {
		return "CPAS"
	}
	return "Commune"
}
