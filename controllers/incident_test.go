package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/audit"
	"github.com/crtpl/mutualis/controllers/incident"
)

// hookServer is the cell's incident hook of the suite: it keeps every notice posted to it.
type hookServer struct {
	mu      sync.Mutex
	notices []incident.Notice
}

var incidentHook = &hookServer{}

func (h *hookServer) receive(w http.ResponseWriter, r *http.Request) {
	var n incident.Notice
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&n) != nil {
		http.Error(w, "a JSON notice is posted", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notices = append(h.notices, n)
}

// of are the notices of one tenant namespace.
func (h *hookServer) of(namespace string) []incident.Notice {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []incident.Notice
	for _, n := range h.notices {
		if n.Tenant.Namespace == namespace {
			out = append(out, n)
		}
	}
	return out
}

// toldOnce waits until the cell's hook has received exactly one notice of a kind for a tenant
// namespace, whose message holds what is given.
func toldOnce(namespace string, kind incident.Kind, holds string) func() error {
	return func() error {
		var found []incident.Notice
		for _, n := range incidentHook.of(namespace) {
			if n.Kind == kind {
				found = append(found, n)
			}
		}
		if len(found) != 1 || !strings.Contains(found[0].Message, holds) {
			return fmt.Errorf("notices %s of %s: %+v; want one that says %q", kind, namespace, found, holds)
		}
		return nil
	}
}

// A high finding where the audit found none is an incident: the tenant's DPO is named in a Warning
// event and the cell's hook receives the notice, once; the next audit that still finds it tells
// no one again.
func TestAHighFindingIsToldToTheTenantsDPO(t *testing.T) {
	ctx := context.Background()
	c := newCommune("estinnes", "58003")
	c.Spec.Admins = []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "estinnes-it"}}
	c.Spec.Contacts = &v1alpha1.TenantContacts{DPO: &v1alpha1.Contact{Name: "DPO d'Estinnes", Email: "dpo@estinnes.be"}, Language: "fr"}
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAuditClean, metav1.ConditionTrue, v1alpha1.ReasonNoHighFinding))
	if n := incidentHook.of(c.TenantNamespace()); len(n) != 0 {
		t.Fatalf("notices of a clean tenant: %+v", n)
	}

	admin := asUser(t, "it@estinnes.be", "estinnes-it")
	if err := admin.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "social-files", Namespace: c.TenantNamespace(),
		Labels: map[string]string{audit.LabelExcludeFromBackup: "true"}}}); err != nil {
		t.Fatal(err)
	}
	patch(t, c, func() { c.Spec.DisplayName = "Estinnes (audit)" })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionAuditClean, metav1.ConditionFalse, v1alpha1.ReasonHighFindings))
	eventually(t, wait, func() error {
		notices := incidentHook.of(c.TenantNamespace())
		if len(notices) != 1 {
			return fmt.Errorf("%d notices", len(notices))
		}
		n := notices[0]
		if n.Kind != incident.HighFinding || n.Tenant.Kind != "Commune" || n.Tenant.Name != "estinnes" || n.Tenant.Language != "fr" ||
			n.DPO == nil || n.DPO.Email != "dpo@estinnes.be" || !strings.Contains(n.Message, "ConfigMap/social-files") {
			return fmt.Errorf("notice %+v", n)
		}
		return nil
	})
	eventually(t, wait, func() error {
		var events eventsv1.EventList
		if err := k8s.List(ctx, &events, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Regarding.Name == c.Name && e.Reason == v1alpha1.ReasonIncident && e.Type == corev1.EventTypeWarning &&
				strings.Contains(e.Note, "its data protection officer is to be told: DPO d'Estinnes <dpo@estinnes.be>") {
				return nil
			}
		}
		return fmt.Errorf("no Incident event naming the DPO among %d events", len(events.Items))
	})

	// audited again with the finding still there: no second notice
	patch(t, c, func() { c.Spec.DisplayName = "Estinnes" })
	eventually(t, wait, func() error {
		get(t, c.Name, c)
		if a := c.Status.Audit; a == nil || a.ObservedGeneration != c.Generation || a.High == 0 {
			return fmt.Errorf("not audited again yet: %+v", a)
		}
		return nil
	})
	if n := incidentHook.of(c.TenantNamespace()); len(n) != 1 {
		t.Errorf("a finding already told of was told again: %d notices", len(n))
	}
}
