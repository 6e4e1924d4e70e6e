package controllers

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

var errAPIServer = errors.New("etcdserver: request timed out")

// failingClient answers every read with an error of the API server.
func failingClient(t *testing.T) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	return fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return errAPIServer
		},
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errAPIServer
		},
	}).Build()
}

// An error reading the catalogue must not write network policies without the application's ports.
func TestCatalogueReadErrorIsNotAnApplicationWithoutPorts(t *testing.T) {
	spec := &v1alpha1.TenantSpec{Applications: []v1alpha1.ApplicationSubscription{{Name: "nextcloud"}}}
	ports, err := exposedPorts(context.Background(), failingClient(t), spec)
	if !errors.Is(err, errAPIServer) {
		t.Fatalf("got ports %v and error %v; want the API server's error", ports, err)
	}
}

// An error listing the LicencePools is retried, never reported as a missing or exhausted pool.
func TestPoolListErrorIsNotPoolExhausted(t *testing.T) {
	scheme := runtime.NewScheme()
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	app := &v1alpha1.SharedApplication{Spec: v1alpha1.SharedApplicationSpec{Licence: v1alpha1.LicenceSpec{Model: v1alpha1.LicencePerSeat}}}
	app.Name = "esignature"
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(app).WithInterceptorFuncs(interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errAPIServer
		},
	}).Build()
	r := &TenantReconciler{Client: c}
	commune := newCommune("hotton", "83028")
	commune.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "esignature", Seats: ptr.To[int32](5)}}
	s := newScope(commune)
	s.res = &tenant.Resolved{Namespace: "commune-hotton"}
	if _, err := r.applicationsInput(context.Background(), s, nil); !errors.Is(err, errAPIServer) {
		t.Fatalf("err = %v; want the API server's error", err)
	}
	err := r.reconcileApplications(context.Background(), s)
	if !errors.Is(err, errAPIServer) {
		t.Fatalf("reconcileApplications: err = %v; want the API server's error", err)
	}
	if len(s.LicenceShort) > 0 || s.Stalled != nil {
		t.Fatalf("reported as a pool problem: short %v, stalled %v", s.LicenceShort, s.Stalled)
	}
}
