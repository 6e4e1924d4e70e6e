package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/backup"
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
	// External are the recipients outside the cluster it sends data to.
	External []externalRecipient `json:"external,omitempty"`
}

// buildProcessorRecord reads every tenant and the catalogue entries they use.
func buildProcessorRecord(ctx context.Context, c client.Reader, tenants []v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec, lang i18n.Lang, now time.Time) (*processorRecord, []string, error) {
	rec := &processorRecord{Hosting: policy.Hosting, PodSecurity: string(policy.PodSecurity), Language: lang,
		Generated: now.UTC().Truncate(time.Second), Backups: backupsOf(backup.EffectiveSettings(v1alpha1.BackupSpec{}, policy), lang)}
	warnings := hostingWarnings(policy)
	users := map[string][]string{}
	for _, t := range tenants {
		rec.Controllers = append(rec.Controllers, controllerOf(t))
		for _, u := range usedApplications(t) {
			users[u.name] = append(users[u.name], t.TenantKind().Kind()+"/"+t.GetName())
		}
	}
	slices.SortFunc(rec.Controllers, func(a, b recordController) int {
		return strings.Compare(a.Kind+"/"+a.Name, b.Kind+"/"+b.Name)
	})
	for _, name := range slices.Sorted(maps.Keys(users)) {
		p := processorProcessing{Application: name, DisplayName: name, Controllers: slices.Compact(slices.Sorted(slices.Values(users[name])))}
		app, warning, err := catalogueEntry(ctx, c, name)
		if err != nil {
			return nil, nil, err
		}
		if warning != "" {
			warnings = append(warnings, warning)
		}
		if app != nil && app.hostedBy != nil {
			// hosted outside the cell: the cell is not its processor, the operator is
			continue
		}
		if app != nil {
			p.DisplayName, p.Version, p.DataProtection = app.displayName, app.version, app.dataProtection
			p.External = externalRecipients(name, app.externalEndpoints, policy)
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
		line(p.T("gdpr.special"), specialText(p, dp))
		line(p.T("gdpr.processors"), joinOr(dp.Processors, none))
		line(p.T("gdpr.external"), externalText(p, proc.External, none))
		line(p.T("gdpr.transfers"), orNone(dp.Transfers, none))
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
