// Package incident owns what the operator tells of an incident that touches a tenant's data: a
// high finding of its audit, a restore drill that failed, a final backup that failed. The notice is
// pure (who the tenant is, its data protection officer, what happened); the Hook delivers it as
// JSON to the address the cell configures (its mail relay or ticketing), which writes to the DPO.
// The operator also records each notice as a Warning event on the tenant.
package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Kind is what happened.
type Kind string

const (
	// HighFinding: the tenant's audit found a high finding where it found none before.
	HighFinding Kind = "HighFinding"
	// RestoreDrillFailed: a restore drill could not prove that the tenant's backups restore.
	RestoreDrillFailed Kind = "RestoreDrillFailed"
	// FinalBackupFailed: the backup taken before a tenant's namespace is deleted failed.
	FinalBackupFailed Kind = "FinalBackupFailed"
)

// Tenant is the tenant a notice is about.
type Tenant struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Language is the language the tenant is written to in (spec.contacts.language), if it said.
	Language string `json:"language,omitempty"`
}

// Notice is one incident, as the hook receives it.
type Notice struct {
	Kind   Kind   `json:"kind"`
	Tenant Tenant `json:"tenant"`
	// DPO is whom to tell: the tenant's data protection officer, nil when it declares none.
	DPO     *v1alpha1.Contact `json:"dpo,omitempty"`
	Message string            `json:"message"`
	Time    time.Time         `json:"time"`
}

// For is the notice of an incident of a tenant.
func For(t v1alpha1.Tenant, kind Kind, message string, now time.Time) Notice {
	n := Notice{Kind: kind, Message: message, Time: now.UTC().Truncate(time.Second),
		Tenant: Tenant{Kind: t.TenantKind().Kind(), Name: t.GetName(), Namespace: t.TenantNamespace()}}
	if c := t.TenantSpec().Contacts; c != nil {
		n.DPO, n.Tenant.Language = c.DPO, c.Language
	}
	return n
}

// EventNote is the notice as the tenant's Warning event says it: what happened, and whom to tell.
func (n Notice) EventNote() string {
	if n.DPO == nil {
		return fmt.Sprintf("%s: an incident touches the tenant's data: %s; the tenant declares no data protection officer (spec.contacts.dpo): the cell must find whom to tell", n.Kind, n.Message)
	}
	return fmt.Sprintf("%s: an incident touches the tenant's data: %s; its data protection officer is to be told: %s <%s>", n.Kind, n.Message, n.DPO.Name, n.DPO.Email)
}

// Hook delivers notices to the cell's address.
type Hook struct {
	URL    string
	Client *http.Client
}

// Send posts a notice as JSON; anything but a 2xx answer is an error, which the caller records.
func (h *Hook) Send(ctx context.Context, n Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the incident hook %s answered %s", h.URL, resp.Status)
	}
	return nil
}
