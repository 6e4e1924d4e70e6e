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
	"github.com/crtpl/mutualis/controllers/audit"
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
	// PodSecurity is the Pod Security level the cell enforces in the tenant's namespace.
	PodSecurity string     `json:"podSecurity"`
	Language    audit.Lang `json:"language"`
	Generated   time.Time  `json:"generated"`
}

type recordController struct {
	Kind             string `json:"kind"`
	Name             string `json:"name"`
	DisplayName      string `json:"displayName"`
	NIS              string `json:"nis,omitempty"`
	EnterpriseNumber string `json:"enterpriseNumber,omitempty"`
	Namespace        string `json:"namespace"`
}

type processing struct {
	Application string `json:"application"`
	DisplayName string `json:"displayName"`
	Version     string `json:"version,omitempty"`
	// Via is "subscription", or "synergy" for an application of the commune that a CPAS uses.
	Via            string                   `json:"via"`
	DataProtection *v1alpha1.DataProtection `json:"dataProtection,omitempty"`
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
	var langFlag string
	cmd := &cobra.Command{
		Use:   "gdpr <tenant>",
		Short: "A tenant's record of processing activities (GDPR art. 30)",
		Long: `One tenant's record of processing activities: one processing per application it runs or uses
through synergy, from the catalogue's spec.dataProtection, and where and how long its backups are
kept. A commune's or a CPAS's people write their own tenant's.`,
		Example: `  kubectl mutualis report gdpr liege > registre-liege.md
  kubectl mutualis report gdpr cpas/liege -o json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.completeTenants,
		RunE: o.onCluster(&out, func(cmd *cobra.Command, names []string, c client.Client, format string) error {
			lang, err := audit.ParseLang(langFlag)
			if err != nil || lang == audit.German {
				return fmt.Errorf("--lang is fr or en, not %q", langFlag)
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
			rec, warnings, err := buildRecord(cmd.Context(), c, set.tenants[0], tenant.EffectivePolicy(p), lang, time.Now())
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
	cmd.Flags().StringVar(&langFlag, "lang", "fr", "fr or en")
	return cmd
}

func buildRecord(ctx context.Context, c client.Reader, t v1alpha1.Tenant, policy v1alpha1.TenancyPolicySpec, lang audit.Lang, now time.Time) (*record, []string, error) {
	rec := &record{Language: lang, Generated: now.UTC().Truncate(time.Second), PodSecurity: string(policy.PodSecurity),
		Controller: recordController{Kind: t.TenantKind().Kind(), Name: t.GetName(), DisplayName: plan.DisplayName(t),
			EnterpriseNumber: t.TenantSpec().EnterpriseNumber, Namespace: t.TenantNamespace()}}
	rec.Controller.NIS = v1alpha1.NISOf(t)
	uses := []struct{ name, via string }{}
	for _, a := range t.TenantSpec().Applications {
		uses = append(uses, struct{ name, via string }{a.Name, "subscription"})
	}
	if cpas, ok := t.(*v1alpha1.CPAS); ok {
		for _, a := range cpas.Spec.Synergy.SharedApplications {
			uses = append(uses, struct{ name, via string }{a, "synergy"})
		}
	}
	var warnings []string
	for _, u := range uses {
		app := &v1alpha1.SharedApplication{}
		p := processing{Application: u.name, DisplayName: u.name, Via: u.via}
		switch err := c.Get(ctx, client.ObjectKey{Name: u.name}, app); {
		case apierrors.IsNotFound(err):
			warnings = append(warnings, fmt.Sprintf("application %s is not in the catalogue: its processing is not described", u.name))
		case err != nil:
			return nil, nil, fmt.Errorf("reading SharedApplication %s: %w", u.name, err)
		default:
			if app.Spec.DisplayName != "" {
				p.DisplayName = app.Spec.DisplayName
			}
			p.Version = app.Spec.Version
			p.DataProtection = app.Spec.DataProtection
			if p.DataProtection == nil {
				warnings = append(warnings, fmt.Sprintf("SharedApplication %s declares no spec.dataProtection: its entry of the record is empty", u.name))
			}
		}
		rec.Processings = append(rec.Processings, p)
	}
	b := t.TenantSpec().Backup
	rec.Backups = recordBackups{Tool: "Velero", StorageLocation: policy.Backup.StorageLocation,
		Schedule: string(policy.Backup.Schedule), Retention: days(policy.Backup.Retention.Duration, lang), Enabled: true}
	if rec.Backups.StorageLocation == "" {
		rec.Backups.StorageLocation = "default"
	}
	if b.Schedule != "" {
		rec.Backups.Schedule = string(b.Schedule)
	}
	if b.Retention != nil {
		rec.Backups.Retention = days(b.Retention.Duration, lang)
	}
	if b.Disabled {
		rec.Backups.Enabled = false
	}
	return rec, warnings, nil
}

var legalBases = map[audit.Lang]map[v1alpha1.LegalBasis]string{
	audit.French: {
		v1alpha1.LegalBasisConsent: "consentement (art. 6.1.a)", v1alpha1.LegalBasisContract: "exécution d'un contrat (art. 6.1.b)",
		v1alpha1.LegalBasisLegalObligation: "obligation légale (art. 6.1.c)", v1alpha1.LegalBasisVitalInterests: "intérêts vitaux (art. 6.1.d)",
		v1alpha1.LegalBasisPublicTask: "mission d'intérêt public (art. 6.1.e)", v1alpha1.LegalBasisLegitimateInterests: "intérêts légitimes (art. 6.1.f)",
	},
	audit.English: {
		v1alpha1.LegalBasisConsent: "consent (art. 6(1)(a))", v1alpha1.LegalBasisContract: "performance of a contract (art. 6(1)(b))",
		v1alpha1.LegalBasisLegalObligation: "legal obligation (art. 6(1)(c))", v1alpha1.LegalBasisVitalInterests: "vital interests (art. 6(1)(d))",
		v1alpha1.LegalBasisPublicTask: "public task (art. 6(1)(e))", v1alpha1.LegalBasisLegitimateInterests: "legitimate interests (art. 6(1)(f))",
	},
}

var recordWords = map[audit.Lang]map[string]string{
	audit.French: {
		"title": "Registre des activités de traitement (RGPD, art. 30)", "controller": "Responsable du traitement",
		"processor": "Sous-traitant", "processorText": "la cellule régionale, qui héberge les applications (mutualis)",
		"namespace": "Namespace", "generated": "Établi le", "processing": "Traitement", "via": "Mise en œuvre",
		"subscription": "application souscrite", "synergy": "application de la commune utilisée en synergie",
		"purposes": "Finalités", "basis": "Base légale", "subjects": "Personnes concernées", "categories": "Catégories de données",
		"special": "Catégories particulières (art. 9)", "yes": "oui", "no": "non", "retention": "Durée de conservation",
		"recipients": "Destinataires", "processors": "Sous-traitants ultérieurs", "transfers": "Transferts hors EEE",
		"none": "aucun", "measures": "Mesures de sécurité",
		"cellMeasures": "namespace isolé par des NetworkPolicies, Pod Security « %s », quotas, sauvegardes quotidiennes, audit de sécurité continu",
		"undescribed":  "Le catalogue ne décrit pas ce traitement (spec.dataProtection) : à compléter avec le délégué à la protection des données.",
		"backups":      "Sauvegardes", "backupsText": "Velero, emplacement « %s », planification « %s », conservation %s",
		"backupsOff": "désactivées pour ce locataire", "nis": "NIS", "bce": "BCE",
	},
	audit.English: {
		"title": "Record of processing activities (GDPR, art. 30)", "controller": "Controller",
		"processor": "Processor", "processorText": "the regional cell, which hosts the applications (mutualis)",
		"namespace": "Namespace", "generated": "Drawn up on", "processing": "Processing", "via": "Carried out by",
		"subscription": "a subscribed application", "synergy": "the commune's application, used through synergy",
		"purposes": "Purposes", "basis": "Legal basis", "subjects": "Data subjects", "categories": "Categories of data",
		"special": "Special categories (art. 9)", "yes": "yes", "no": "no", "retention": "Retention",
		"recipients": "Recipients", "processors": "Sub-processors", "transfers": "Transfers outside the EEA",
		"none": "none", "measures": "Security measures",
		"cellMeasures": "a namespace isolated by NetworkPolicies, Pod Security %q, quotas, daily backups, a continuous security audit",
		"undescribed":  "The catalogue does not describe this processing (spec.dataProtection): complete it with the data-protection officer.",
		"backups":      "Backups", "backupsText": "Velero, location %q, schedule %q, kept %s",
		"backupsOff": "disabled for this tenant", "nis": "NIS", "bce": "BCE",
	},
}

func joinOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, " ; ")
}

func writeRecord(w io.Writer, rec *record) error {
	words := recordWords[rec.Language]
	c := rec.Controller
	fmt.Fprintf(w, "# %s\n\n", words["title"])
	fmt.Fprintf(w, "- **%s** : %s (%s/%s)", words["controller"], c.DisplayName, c.Kind, c.Name)
	if c.NIS != "" {
		fmt.Fprintf(w, ", %s %s", words["nis"], c.NIS)
	}
	if c.EnterpriseNumber != "" {
		fmt.Fprintf(w, ", %s %s", words["bce"], c.EnterpriseNumber)
	}
	fmt.Fprintf(w, "\n- **%s** : %s\n- **%s** : `%s`\n- **%s** : %s\n", words["processor"], words["processorText"],
		words["namespace"], c.Namespace, words["generated"], rec.Generated.Format("2006-01-02"))
	backups := words["backupsOff"]
	if rec.Backups.Enabled {
		backups = fmt.Sprintf(words["backupsText"], rec.Backups.StorageLocation, rec.Backups.Schedule, rec.Backups.Retention)
	}
	fmt.Fprintf(w, "- **%s** : %s\n", words["backups"], backups)
	for _, p := range rec.Processings {
		fmt.Fprintf(w, "\n## %s : %s (%s", words["processing"], p.DisplayName, p.Application)
		if p.Version != "" {
			fmt.Fprintf(w, " %s", p.Version)
		}
		fmt.Fprintf(w, ")\n\n- **%s** : %s\n", words["via"], words[p.Via])
		dp := p.DataProtection
		if dp == nil {
			fmt.Fprintf(w, "\n%s\n", words["undescribed"])
			continue
		}
		var bases []string
		for _, b := range dp.LegalBasis {
			bases = append(bases, legalBases[rec.Language][b])
		}
		basis := strings.Join(bases, ", ")
		if dp.LegalBasisDetail != "" {
			basis += " — " + dp.LegalBasisDetail
		}
		special := words["no"]
		if dp.SpecialCategories {
			special = words["yes"] + " — " + dp.SpecialCategoriesDetail
		}
		transfers := dp.Transfers
		if transfers == "" {
			transfers = words["none"]
		}
		for _, line := range [][2]string{
			{words["purposes"], joinOr(dp.Purposes, words["none"])},
			{words["basis"], basis},
			{words["subjects"], joinOr(dp.DataSubjects, words["none"])},
			{words["categories"], joinOr(dp.Categories, words["none"])},
			{words["special"], special},
			{words["retention"], dp.Retention},
			{words["recipients"], joinOr(dp.Recipients, words["none"])},
			{words["processors"], joinOr(dp.Processors, words["none"])},
			{words["transfers"], transfers},
			{words["measures"], joinOr(append([]string{fmt.Sprintf(words["cellMeasures"], rec.PodSecurity)}, dp.SecurityMeasures...), words["none"])},
		} {
			fmt.Fprintf(w, "- **%s** : %s\n", line[0], line[1])
		}
	}
	return nil
}

// days says a retention in days when it is whole days, as a reader of the register counts.
func days(d time.Duration, lang audit.Lang) string {
	if d <= 0 || d%(24*time.Hour) != 0 {
		return d.String()
	}
	n := int(d / (24 * time.Hour))
	unit := map[audit.Lang][2]string{audit.French: {"jour", "jours"}, audit.English: {"day", "days"}}[lang]
	if n == 1 {
		return "1 " + unit[0]
	}
	return fmt.Sprintf("%d %s", n, unit[1])
}
