package incident

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// A tenant without a DPO is said to have none, so that the cell looks for whom to tell; a hook
// that refuses the notice is an error the operator records.
func TestANoticeSaysWhomToTellAndAHookMayRefuseIt(t *testing.T) {
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "ans"}}
	n := For(cpas, RestoreDrillFailed, "drill x failed", time.Now())
	if n.Tenant.Namespace != "cpas-ans" || n.DPO != nil || !strings.Contains(n.EventNote(), "declares no data protection officer (spec.contacts.dpo)") {
		t.Errorf("notice %+v: %s", n, n.EventNote())
	}
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer refusing.Close()
	if err := (&Hook{URL: refusing.URL}).Send(context.Background(), n); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a refused notice: %v", err)
	}
}
