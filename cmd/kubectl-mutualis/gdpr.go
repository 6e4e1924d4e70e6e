package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/tenant"
	"github.com/spf13/cobra"
)

// record is a tenant's record of processing activities (GDPR article 30): the tenant is the
// controller, the cell its processor, one processing per application it runs or uses.
type record struct {
	Controller  recordController `json:"controller"`
	Processings []processing     `json:"processings"`
	Backups     recordBackups    `json:"backups"`
	// Hosting is where the data lives, from the TenancyPolicy (nil: the cell has not said).
	Hosting *v1alpha1.HostingSpec `json:"hosting,omitempty"`
	// PodSecurity is the Pod Security level the cell enforces in the tenant's namespace.
	PodSecurity string    `json:"podSecurity"`
	Language    i18n.Lang `json:"language"`
	Generated   time.Time `json:"generated"`
}

type recordController struct {
	Kind             string                   `json:"kind"`
	Name             string                   `json:"name"`
	DisplayName      string                   `json:"displayName"`
	NIS              string                   `json:"nis,omitempty"`
	EnterpriseNumber string                   `json:"enterpriseNumber,omitempty"`
	Namespace        string                   `json:"namespace"`
	Contacts         *v1alpha1.TenantContacts `json:"contacts,omitempty"`
}

type processing struct {
	Application string `json:"application"`
	DisplayName string `json:"displayName"`
	Version     string `json:"version,omitempty"`
	// Via is "subscription", or "synergy" for an application of the commune that a CPAS uses.
	Via            string                   `json:"via"`
	DataProtection *v1alpha1.DataProtection `json:"dataProtection,omitempty"`
	// DPIARequired is true where special categories are processed (GDPR art. 35(3)(b), and the
	// Belgian authority's list): the controller owes a data protection impact assessment.
	DPIARequired bool `json:"dpiaRequired"`
	// External are the recipients outside the cluster the application sends data to
	// (SharedApplication spec.externalEndpoints), with what the cell approved.
	External []externalRecipient `json:"external,omitempty"`
	// HostedBy is who runs an application hosted outside the cell: the cell is not its processor.
	HostedBy *v1alpha1.HostedBy `json:"hostedBy,omitempty"`
}

// hostedByText says who runs an application outside the cell, for the record.
func hostedByText(p *i18n.Printer, h *v1alpha1.HostedBy) string {
	text := p.T("gdpr.hostedByText", "Operator", h.Operator, "Country", h.Country)
	if h.URL != "" {
		text += ", " + h.URL
	}
	if h.Contract != "" {
		text += " — " + p.T("gdpr.contract") + " " + h.Contract
	}
	return text
}

// externalRecipient is a service outside the cluster that receives a processing's data.
type externalRecipient struct {
	Recipient string `json:"recipient"`
	Endpoint  string `json:"endpoint"`
	Purpose   string `json:"purpose,omitempty"`
	// Access is how the cell lets the application reach it: Direct (its networks opened), Proxy
	// (through the egress proxy), or Closed (not approved: nothing reaches it).
	Access string `json:"access"`
}

// externalRecipients are an entry's external endpoints as the record names them, each with the
// access the policy gives it (tenant.ApproveEndpoints, the operator's own reading).
func externalRecipients(name string, endpoints []v1alpha1.ExternalEndpoint, policy v1alpha1.TenancyPolicySpec) []externalRecipient {
	var out []externalRecipient
	for _, e := range endpoints {
		one := &v1alpha1.SharedApplication{Spec: v1alpha1.SharedApplicationSpec{ExternalEndpoints: []v1alpha1.ExternalEndpoint{e}}}
		one.Name = name
		decided := tenant.ApproveEndpoints(one, policy)
		access := "Closed"
		switch {
		case len(decided.Direct) > 0:
			access = "Direct"
		case len(decided.Proxied) > 0:
			access = "Proxy"
		}
		out = append(out, externalRecipient{Recipient: e.Recipient, Endpoint: tenant.EndpointString(e.Endpoint), Purpose: e.Purpose, Access: access})
	}
	return out
}

// externalText is the record's line of a processing's recipients outside the cluster.
func externalText(p *i18n.Printer, external []externalRecipient, none string) string {
	var parts []string
	for _, e := range external {
		text := fmt.Sprintf("%s (`%s`", e.Recipient, e.Endpoint)
		if e.Purpose != "" {
			text += ", " + e.Purpose
		}
		parts = append(parts, text+") — "+p.T("gdpr.external"+e.Access))
	}
	return joinOr(parts, none)
}

type recordBackups struct {
	Tool            string `json:"tool"`
	StorageLocation string `json:"storageLocation"`
	Schedule        string `json:"schedule"`
	Retention       string `json:"retention"`
	Enabled         bool   `json:"enabled"`
}

func newGDPRCommand(o *options) *cobra.Command {
	var out *output
	var lang *language
	var processor bool
	cmd := &cobra.Command{
		Use:   "gdpr <tenant> | --processor",
		Short: "A tenant's record of processing activities (GDPR art. 30)",
		Long: `One tenant's record of processing activities: one processing per application it runs or uses
through synergy, from the catalogue's spec.dataProtection, and where and how long its backups are
kept. A commune's or a CPAS's people write their own tenant's. In French, in German for the
communes of the German-speaking Community and their ÖSHZ, or in the language --lang names.

With --processor, the cell's own record as the processor of every tenant (art. 30(2)): each
controller with its DPO, each application with the controllers it serves, the transfers and the
cell's security measures. It is the cell's: it reads every tenant.`,
		Example: `  kubectl mutualis report gdpr liege > registre-liege.md
  kubectl mutualis report gdpr cpas/liege -o json
  kubectl mutualis report gdpr --processor > registre-sous-traitant.md`,
		Args: func(cmd *cobra.Command, args []string) error {
			if processor {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		ValidArgsFunction: o.completeTenants,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, names []string, c client.Client, format string) error {
			if processor {
				return o.writeProcessorRecord(cmd.Context(), c, lang, format)
			}
			set, err := readTenants(cmd.Context(), c, names)
			if err != nil {
				return err
			}
			if len(set.tenants) != 1 {
				return fmt.Errorf("%q is a commune and a CPAS: say commune/%s or cpas/%s", names[0], names[0], names[0])
			}
			p, refused, err := policy(cmd.Context(), c)
			if err != nil {
				return err
			}
			if refused {
				o.warn("your rights do not let you read the TenancyPolicy: the cell's backup defaults and Pod Security level are the shipped ones")
			}
			rec, warnings, err := buildRecord(cmd.Context(), c, set.tenants[0], tenant.EffectivePolicy(p), lang.of(set.tenants[0]), time.Now())
			if err != nil {
				return err
			}
			for _, w := range warnings {
				o.warn("%s", w)
			}
			if done, err := writeStructured(o.streams.Out, format, rec); done {
				return err
			}
			return writeRecord(o.streams.Out, rec)
		}),
	}
	out = addOutputFlag(cmd, "markdown", "json", "yaml")
	lang = addLangFlag(cmd)
	cmd.Flags().BoolVar(&processor, "processor", false, "the cell's own record as every tenant's processor (GDPR art. 30(2)), instead of a tenant's")
	return cmd
}

// writeProcessorRecord writes the cell's record as a processor, in French unless --lang says
// otherwise (it is the cell's, not a commune's).
func (o *options) writeProcessorRecord(ctx context.Context, c client.Client, lang *language, format string) error {
	tenants, err := v1alpha1.ListTenants(ctx, c)
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("your rights do not let you list every tenant: the processor's record is the cell's")
	}
	if err != nil {
		return err
	}
	p, _, err := policy(ctx, c)
	if err != nil {
		return err
	}
	l := i18n.French
	if lang.forced != "" {
		l = lang.forced
	}
	rec, warnings, err := buildProcessorRecord(ctx, c, tenants, tenant.EffectivePolicy(p), l, time.Now())
	if err != nil {
		return err
	}
	for _, w := range warnings {
		o.warn("%s", w)
	}
	if done, err := writeStructured(o.streams.Out, format, rec); done {
		return err
	}
	return writeProcessorRecord(o.streams.Out, rec)
}

func buildRecord(ctx context.Context, c client.Reader, t v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec, lang i18n.Lang, now time.Time) (*record, []string, error) {
	rec := &record{Language: lang, Generated: now.UTC().Truncate(time.Second), PodSecurity: string(policy.PodSecurity),
		Controller: controllerOf(t), Hosting: policy.Hosting,
		Backups: backupsOf(backup.EffectiveSettings(t.TenantSpec().Backup, policy), lang)}
	warnings := hostingWarnings(policy)
	if c := rec.Controller.Contacts; c == nil || c.DPO == nil {
		warnings = append(warnings, fmt.Sprintf("%s %s names no data protection officer (spec.contacts.dpo)", t.TenantKind().Kind(), t.GetName()))
	}
	for _, u := range usedApplications(t) {
		p := processing{Application: u.name, DisplayName: u.name, Via: u.via}
		app, warning, err := catalogueEntry(ctx, c, u.name)
		if err != nil {
			return nil, nil, err
		}
		if warning != "" {
			warnings = append(warnings, warning)
		}
		if app != nil {
			p.DisplayName, p.Version, p.DataProtection = app.displayName, app.version, app.dataProtection
			p.DPIARequired = p.DataProtection != nil && p.DataProtection.SpecialCategories
			p.External = externalRecipients(u.name, app.externalEndpoints, policy)
			p.HostedBy = app.hostedBy
			if p.DataProtection == nil {
				warnings = append(warnings, fmt.Sprintf("SharedApplication %s declares no spec.dataProtection: its entry of the record is empty", u.name))
			}
		}
		rec.Processings = append(rec.Processings, p)
	}
	return rec, warnings, nil
}

// controllerOf is a tenant as a record names its controller.
func controllerOf(t v1alpha1.Tenant) recordController {
	nis := v1alpha1.NISOf(t)
	return recordController{Kind: t.TenantKind().Kind(), Name: t.GetName(), DisplayName: plan.DisplayName(t, nis), NIS: nis,
		EnterpriseNumber: t.TenantSpec().EnterpriseNumber, Namespace: t.TenantNamespace(), Contacts: t.TenantSpec().Contacts}
}

// backupsOf says a tenant's effective backup settings (or the policy's defaults) as a record does.
func backupsOf(s backup.Settings, lang i18n.Lang) recordBackups {
	b := recordBackups{Tool: "Velero", StorageLocation: s.StorageLocation, Schedule: s.Schedule, Retention: days(s.Retention, lang), Enabled: !s.Disabled}
	if b.StorageLocation == "" {
		b.StorageLocation = "default"
	}
	return b
}

// hostingWarnings warns when the cell has not said where the data lives.
func hostingWarnings(policy v1alpha1.TenancyPolicySpec) []string {
	if policy.Hosting == nil {
		return []string{"the TenancyPolicy says nothing of where the data lives (spec.hosting): the record cannot say it"}
	}
	return nil
}

// applicationUse is an application a tenant runs: "subscription", or "synergy" for an application
// of its commune that a CPAS uses.
type applicationUse struct{ name, via string }

func usedApplications(t v1alpha1.Tenant) []applicationUse {
	var uses []applicationUse
	for _, a := range t.TenantSpec().Applications {
		uses = append(uses, applicationUse{a.Name, "subscription"})
	}
	if cpas, ok := t.(*v1alpha1.CPAS); ok {
		for _, a := range cpas.Spec.Synergy.SharedApplications {
			uses = append(uses, applicationUse{a, "synergy"})
		}
	}
	return uses
}

// entry is what a record reads of a catalogue entry.
type entry struct {
	displayName, version string
	dataProtection       *v1alpha1.DataProtection
	externalEndpoints    []v1alpha1.ExternalEndpoint
	// hostedBy is set for an application hosted outside the cell (spec.instance External)
	hostedBy *v1alpha1.HostedBy
}

// catalogueEntry reads a SharedApplication for a record; one that is not in the catalogue is a
// warning, not an error.
func catalogueEntry(ctx context.Context, c client.Reader, name string) (*entry, string, error) {
	app := &v1alpha1.SharedApplication{}
	switch err := c.Get(ctx, client.ObjectKey{Name: name}, app); {
	case apierrors.IsNotFound(err):
		return nil, fmt.Sprintf("application %s is not in the catalogue: its processing is not described", name), nil
	case err != nil:
		return nil, "", fmt.Errorf("reading SharedApplication %s: %w", name, err)
	}
	e := &entry{displayName: name, version: app.Spec.Version, dataProtection: app.Spec.DataProtection, externalEndpoints: app.Spec.ExternalEndpoints}
	if app.Spec.Instance == v1alpha1.InstanceExternal {
		e.hostedBy = app.Spec.HostedBy
		if e.hostedBy == nil {
			e.hostedBy = &v1alpha1.HostedBy{}
		}
	}
	if app.Spec.DisplayName != "" {
		e.displayName = app.Spec.DisplayName
	}
	return e, "", nil
}

// specialText says whether an entry processes special categories (art. 9), and on what ground.
func specialText(p *i18n.Printer, dp *v1alpha1.DataProtection) string {
	if dp.SpecialCategories {
		return p.T("gdpr.yes") + " — " + dp.SpecialCategoriesDetail
	}
	return p.T("gdpr.no")
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// contactText is a contact as a letter's reader reads it: name, address, phone.
func contactText(c *v1alpha1.Contact) string {
	text := fmt.Sprintf("%s <%s>", c.Name, c.Email)
	if c.Phone != "" {
		text += ", " + c.Phone
	}
	return text
}

func joinOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, " ; ")
}

func writeRecord(w io.Writer, rec *record) error {
	p := i18n.For(rec.Language)
	line := func(label, value string) {
		fmt.Fprintln(w, p.T("gdpr.line", "Label", p.T("gdpr."+label), "Value", value))
	}
	none := p.T("gdpr.none")
	c := rec.Controller
	fmt.Fprintf(w, "# %s\n\n", p.T("gdpr.title"))
	controller := fmt.Sprintf("%s (%s/%s)", c.DisplayName, c.Kind, c.Name)
	if c.NIS != "" {
		controller += fmt.Sprintf(", %s %s", p.T("gdpr.nis"), c.NIS)
	}
	if c.EnterpriseNumber != "" {
		controller += fmt.Sprintf(", %s %s", p.T("gdpr.bce"), c.EnterpriseNumber)
	}
	line("controller", controller)
	if contacts := c.Contacts; contacts != nil {
		for _, who := range []struct {
			label   string
			contact *v1alpha1.Contact
		}{{"directorGeneral", contacts.DirectorGeneral}, {"dpo", contacts.DPO}, {"itContact", contacts.IT}} {
			if who.contact != nil {
				line(who.label, contactText(who.contact))
			}
		}
	}
	if c.Contacts == nil || c.Contacts.DPO == nil {
		line("dpo", p.T("gdpr.dpoMissing"))
	}
	line("processor", p.T("gdpr.processorText"))
	line("hosting", hostingText(p, rec.Hosting, none))
	line("namespace", "`"+c.Namespace+"`")
	line("generated", rec.Generated.Format(time.DateOnly))
	backups := p.T("gdpr.backupsOff")
	if rec.Backups.Enabled {
		backups = p.T("gdpr.backupsText", "Location", rec.Backups.StorageLocation, "Schedule", rec.Backups.Schedule, "Retention", rec.Backups.Retention)
	}
	line("backups", backups)
	for _, proc := range rec.Processings {
		application := proc.Application
		if proc.Version != "" {
			application += " " + proc.Version
		}
		fmt.Fprintf(w, "\n%s\n\n", p.T("gdpr.heading", "Name", proc.DisplayName, "Application", application))
		line("via", p.T("gdpr."+proc.Via))
		if proc.HostedBy != nil {
			line("hostedBy", hostedByText(p, proc.HostedBy))
		}
		dp := proc.DataProtection
		if dp == nil {
			fmt.Fprintf(w, "\n%s\n", p.T("gdpr.undescribed"))
			continue
		}
		var bases []string
		for _, b := range dp.LegalBasis {
			bases = append(bases, p.T("legalBasis."+string(b)))
		}
		basis := strings.Join(bases, ", ")
		if dp.LegalBasisDetail != "" {
			basis += " — " + dp.LegalBasisDetail
		}
		line("purposes", joinOr(dp.Purposes, none))
		line("basis", basis)
		line("subjects", joinOr(dp.DataSubjects, none))
		line("categories", joinOr(dp.Categories, none))
		line("special", specialText(p, dp))
		dpia := p.T("gdpr.dpiaNo")
		if proc.DPIARequired {
			dpia = p.T("gdpr.dpiaYes")
		}
		line("dpia", dpia)
		line("retention", dp.Retention)
		line("recipients", joinOr(dp.Recipients, none))
		line("external", externalText(p, proc.External, none))
		line("processors", joinOr(dp.Processors, none))
		line("transfers", orNone(dp.Transfers, none))
		line("measures", joinOr(append([]string{p.T("gdpr.cellMeasures", "PodSecurity", rec.PodSecurity)}, dp.SecurityMeasures...), none))
	}
	return nil
}

// days says a retention in days when it is whole days, as a reader of the register counts.
func days(d time.Duration, lang i18n.Lang) string {
	if d <= 0 || d%(24*time.Hour) != 0 {
		return d.String()
	}
	p := i18n.For(lang)
	if n := int(d / (24 * time.Hour)); n != 1 {
		return p.T("gdpr.days", "N", n)
	}
	return p.T("gdpr.day")
}
