package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/plan"
)

// processorRecord is the cell's own record of processing activities as a processor (GDPR
// article 30(2)): who it processes for, which categories of processing, the transfers, and a
// general description of its security measures.
type processorRecord struct {
	Hosting     *v1alpha1.HostingSpec `json:"hosting,omitempty"`
	Controllers []recordController    `json:"controllers"`
	Processings []processorProcessing `json:"processings"`
	Backups     recordBackups         `json:"backups"`
	PodSecurity string                `json:"podSecurity"`
	Language    i18n.Lang             `json:"language"`
	Generated   time.Time             `json:"generated"`
}

// processorProcessing is one application of the catalogue and the controllers it serves.
type processorProcessing struct {
	Application    string                   `json:"application"`
	DisplayName    string                   `json:"displayName"`
	Version        string                   `json:"version,omitempty"`
	DataProtection *v1alpha1.DataProtection `json:"dataProtection,omitempty"`
	// Controllers are the tenants (Kind/name) that subscribe to it or use it through synergy.
	Controllers []string `json:"controllers"`
}

// buildProcessorRecord reads every tenant and the catalogue entries they use.
func buildProcessorRecord(ctx context.Context, c client.Reader, tenants []v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec, lang i18n.Lang, now time.Time) (*processorRecord, []string, error) {
	rec := &processorRecord{Hosting: policy.Hosting, PodSecurity: string(policy.PodSecurity), Language: lang,
		Generated: now.UTC().Truncate(time.Second), Backups: recordBackups{Tool: "Velero", StorageLocation: policy.Backup.StorageLocation,
			Schedule: string(policy.Backup.Schedule), Retention: days(policy.Backup.Retention.Duration, lang), Enabled: true}}
	if rec.Backups.StorageLocation == "" {
		rec.Backups.StorageLocation = "default"
	}
	var warnings []string
	if rec.Hosting == nil {
		warnings = append(warnings, "the TenancyPolicy says nothing of where the data lives (spec.hosting): the record cannot say it")
	}
	users := map[string][]string{}
	for _, t := range tenants {
		nis := v1alpha1.NISOf(t)
		rec.Controllers = append(rec.Controllers, recordController{Kind: t.TenantKind().Kind(), Name: t.GetName(),
			DisplayName: plan.DisplayName(t, nis), NIS: nis, EnterpriseNumber: t.TenantSpec().EnterpriseNumber,
			Namespace: t.TenantNamespace(), Contacts: t.TenantSpec().Contacts})
		who := t.TenantKind().Kind() + "/" + t.GetName()
		for _, a := range t.TenantSpec().Applications {
			users[a.Name] = append(users[a.Name], who)
		}
		if cpas, ok := t.(*v1alpha1.CPAS); ok {
			for _, a := range cpas.Spec.Synergy.SharedApplications {
				users[a] = append(users[a], who)
			}
		}
	}
	slices.SortFunc(rec.Controllers, func(a, b recordController) int {
		return strings.Compare(a.Kind+"/"+a.Name, b.Kind+"/"+b.Name)
	})
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := processorProcessing{Application: name, DisplayName: name, Controllers: slices.Compact(slices.Sorted(slices.Values(users[name])))}
		app := &v1alpha1.SharedApplication{}
		switch err := c.Get(ctx, client.ObjectKey{Name: name}, app); {
		case apierrors.IsNotFound(err):
			warnings = append(warnings, fmt.Sprintf("application %s is not in the catalogue: its processing is not described", name))
		case err != nil:
			return nil, nil, fmt.Errorf("reading SharedApplication %s: %w", name, err)
		default:
			if app.Spec.DisplayName != "" {
				p.DisplayName = app.Spec.DisplayName
			}
			p.Version = app.Spec.Version
			p.DataProtection = app.Spec.DataProtection
		}
		rec.Processings = append(rec.Processings, p)
	}
	return rec, warnings, nil
}

func writeProcessorRecord(w io.Writer, rec *processorRecord) error {
	p := i18n.For(rec.Language)
	line := func(label, value string) {
		fmt.Fprintln(w, p.T("gdpr.line", "Label", label, "Value", value))
	}
	none := p.T("gdpr.none")
	fmt.Fprintf(w, "# %s\n\n", p.T("gdpr.processorRecord.title"))
	line(p.T("gdpr.processor"), p.T("gdpr.processorText"))
	line(p.T("gdpr.hosting"), hostingText(p, rec.Hosting, none))
	line(p.T("gdpr.generated"), rec.Generated.Format(time.DateOnly))

	fmt.Fprintf(w, "\n## %s\n\n", p.T("gdpr.processorRecord.controllers"))
	fmt.Fprintln(w, p.T("gdpr.processorRecord.tableHeader"))
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, c := range rec.Controllers {
		dpo := p.T("gdpr.processorRecord.noDPO")
		if c.Contacts != nil && c.Contacts.DPO != nil {
			dpo = contactText(c.Contacts.DPO)
		}
		fmt.Fprintf(w, "| %s (%s/%s) | %s | %s | %s |\n", c.DisplayName, c.Kind, c.Name, orDash(c.NIS), orDash(c.EnterpriseNumber), dpo)
	}

	fmt.Fprintf(w, "\n## %s\n", p.T("gdpr.processorRecord.processings"))
	for _, proc := range rec.Processings {
		application := proc.Application
		if proc.Version != "" {
			application += " " + proc.Version
		}
		fmt.Fprintf(w, "\n### %s (%s)\n\n", proc.DisplayName, application)
		line(p.T("gdpr.processorRecord.forControllers"), strings.Join(proc.Controllers, " ; "))
		dp := proc.DataProtection
		if dp == nil {
			fmt.Fprintln(w, p.T("gdpr.undescribed"))
			continue
		}
		line(p.T("gdpr.categories"), joinOr(dp.Categories, none))
		special := p.T("gdpr.no")
		if dp.SpecialCategories {
			special = p.T("gdpr.yes") + " — " + dp.SpecialCategoriesDetail
		}
		line(p.T("gdpr.special"), special)
		line(p.T("gdpr.processors"), joinOr(dp.Processors, none))
		transfers := dp.Transfers
		if transfers == "" {
			transfers = none
		}
		line(p.T("gdpr.transfers"), transfers)
	}

	fmt.Fprintf(w, "\n## %s\n\n", p.T("gdpr.measures"))
	line(p.T("gdpr.measures"), p.T("gdpr.cellMeasures", "PodSecurity", rec.PodSecurity))
	line(p.T("gdpr.backups"), p.T("gdpr.backupsText", "Location", rec.Backups.StorageLocation, "Schedule", rec.Backups.Schedule, "Retention", rec.Backups.Retention))
	return nil
}

// hostingText says where the data lives, or that the cell has not said.
func hostingText(p *i18n.Printer, h *v1alpha1.HostingSpec, none string) string {
	if h == nil {
		return p.T("gdpr.hostingMissing")
	}
	text := p.T("gdpr.hostingText", "Operator", h.Operator, "Country", h.Country, "Sites", joinOr(h.Sites, none))
	backupCountry := h.BackupCountry
	if backupCountry == "" {
		backupCountry = h.Country
	}
	return text + p.T("gdpr.backupSitesText", "Sites", joinOr(h.BackupSites, none), "Country", backupCountry)
}
