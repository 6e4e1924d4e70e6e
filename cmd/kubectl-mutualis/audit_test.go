package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/audit"
	"github.com/crtpl/mutualis/controllers/history"
	"github.com/crtpl/mutualis/controllers/tenant"
)

func commune(name, nis string, mutate func(*v1alpha1.Commune)) *v1alpha1.Commune {
	c := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.CommuneSpec{NIS: nis}}
	if mutate != nil {
		mutate(c)
	}
	return c
}

func ready(st *v1alpha1.TenantStatus, backup bool) {
	st.Conditions = append(st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue})
	if backup {
		st.Conditions = append(st.Conditions, metav1.Condition{Type: v1alpha1.ConditionBackupReady, Status: metav1.ConditionTrue})
	}
}

// The barometer counts every tenant once per province, tier and kind, and once in the cell's total.
// The barometer groups the tenants by province, tier and kind, against the registry's communes and
// CPAS (the Region's coverage), with the CPAS in synergy and the share of subscriptions to
// open-source applications; people read it in French or German, programs by stable names.
func TestBarometerGroupsByProvinceTierAndKind(t *testing.T) {
	liege := commune("liege", "62063", func(c *v1alpha1.Commune) {
		c.Status.Tier = "XXL"
		ready(&c.Status.TenantStatus, true)
		c.Status.Applications = []v1alpha1.ApplicationStatus{{Name: "nextcloud", Ready: true}, {Name: "iadelib", Ready: true}, {Name: "esignature", Ready: true}}
		c.Status.Licences = []v1alpha1.LicenceStatus{{Application: "esignature", Granted: 20}}
		c.Status.Audit = &v1alpha1.AuditSummary{High: 1, Low: 3}
	})
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CPASSpec{CommuneRef: "liege",
		Synergy: v1alpha1.SynergySpec{SharedApplications: []string{"nextcloud"}}}}
	cpas.Status.NIS, cpas.Status.Tier = "62063", "XXL"
	cpas.Status.Applications = []v1alpha1.ApplicationStatus{{Name: "iadelib"}}
	cpas.Status.Audit = &v1alpha1.AuditSummary{Medium: 2}
	ready(&cpas.Status.TenantStatus, false)
	eupen := commune("eupen", "63023", func(c *v1alpha1.Commune) { c.Status.Tier = "M" })
	synthetic := commune("synthetic-1", "99999", nil)
	// the provincial administration of Liège, a member not yet Ready
	province := &v1alpha1.Province{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.ProvinceSpec{NIS: "60000"}}
	province.Status.Tier = "XXL"
	levels := map[string]string{"commune-liege": "restricted", "cpas-liege": "baseline", "commune-eupen": "restricted"}
	models := map[string]v1alpha1.LicenceModel{"nextcloud": v1alpha1.LicenceOpenSource, "iadelib": "", "esignature": v1alpha1.LicencePerSeat}

	// iMio hosts iA.Delib for the communes that take it from iMio, outside the cell
	external := map[string]bool{"iadelib": true}
	rows, apps := barometer([]v1alpha1.Tenant{liege, cpas, eupen, synthetic, province}, levels, baroContext{policy: tenant.EffectivePolicy(nil), models: models, external: external})
	var out bytes.Buffer
	if err := writeBarometer(&out, "csv", rows, apps, i18n.German); err != nil {
		t.Fatal(err)
	}
	table, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range table[1:] {
		got[r[0]+"/"+r[1]] = r[2:]
	}
	if h := strings.Join(table[0], ","); h != "dimension,group,tenants,ready,backups ok,audited,high,medium,low,seats,restricted,baseline,other pss,registry,coverage %,synergy,open source %,hosted outside,app esignature,app iadelib,app nextcloud" {
		t.Fatalf("header %s", h)
	}
	for key, want := range map[string]string{
		// tenants, ready, backups ok, audited, high, medium, low, seats, restricted, baseline, other,
		// registry, coverage %, synergy, open source %, hosted outside, esignature, iadelib,
		// nextcloud; the province of Liège has 84 communes and CPAS and its administration (169),
		// tier XXL 5 communes and CPAS and the five provinces (15), tier M 74 communes and CPAS
		"province/Liège":   "4,2,1,2,1,2,3,20,2,1,1,169,2.4,1,75.0,2,1,2,1",
		"province/unknown": "1,0,0,0,0,0,0,0,0,0,1,0,,0,,0,0,0,0",
		"province/Hainaut": "0,0,0,0,0,0,0,0,0,0,0,139,0.0,0,,0,0,0,0",
		"tier/XXL":         "3,2,1,2,1,2,3,20,1,1,1,15,20.0,1,75.0,2,1,2,1",
		"tier/M":           "1,0,0,0,0,0,0,0,1,0,0,148,0.7,0,,0,0,0,0",
		"tier/none":        "1,0,0,0,0,0,0,0,0,0,1,0,,0,,0,0,0,0",
		"kind/CPAS":        "1,1,0,1,0,2,0,0,0,1,0,261,0.4,1,100.0,1,0,1,0",
		"kind/Commune":     "3,1,1,1,1,0,3,20,2,0,1,261,1.1,0,66.7,1,1,1,1",
		"kind/Province":    "1,0,0,0,0,0,0,0,0,0,1,5,20.0,0,,0,0,0,0",
		"total/cell":       "5,2,1,2,1,2,3,20,2,1,2,527,0.9,1,75.0,2,1,2,1",
	} {
		if g := strings.Join(got[key], ","); g != want {
			t.Errorf("%s: %s, want %s", key, g, want)
		}
	}
	if rows[len(rows)-1].dimension != "total" {
		t.Errorf("the total is not the last row")
	}
	for lang, says := range map[i18n.Lang][]string{
		i18n.French: {"| dimension | groupe | membres |", "| logiciel libre % |", "| hébergé hors cellule |", "| appli esignature |", "| **total** | **cellule** | **5** |", "| palier | XXL |"},
		i18n.German: {"| Dimension | Gruppe | Mitglieder |", "| Abdeckung % |", "| Provinz | Liège | 4 |", "| **Summe** | **Zelle** | **5** |", "| Art | Province | 1 |"},
	} {
		out.Reset()
		if err := writeBarometer(&out, "markdown", rows, apps, lang); err != nil {
			t.Fatal(err)
		}
		for _, s := range says {
			if !strings.Contains(out.String(), s) {
				t.Errorf("the %s barometer does not say %q:\n%s", lang, s, out.String())
			}
		}
	}
}

func sampleApp(t *testing.T, name string) *v1alpha1.SharedApplication {
	t.Helper()
	data, err := os.ReadFile("../../config/samples/catalog/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	app := &v1alpha1.SharedApplication{}
	if err := yaml.UnmarshalStrict(data, app); err != nil {
		t.Fatal(err)
	}
	return app
}

// A CPAS's record lists what it runs and what it uses of its commune through synergy, from the
// catalogue's dataProtection, with its backups; an application the catalogue does not describe is
// said, not left out.
func TestGDPRRecordFromTheCatalogue(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(sampleApp(t, "iadelib"), sampleApp(t, "nextcloud")).Build()
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CPASSpec{CommuneRef: "liege",
		TenantSpec: v1alpha1.TenantSpec{DisplayName: "CPAS de Liège", Applications: []v1alpha1.ApplicationSubscription{{Name: "iadelib"}, {Name: "dossiers-sociaux"}}},
		Synergy:    v1alpha1.SynergySpec{SharedApplications: []string{"nextcloud"}}}}
	cpas.Status.NIS = "62063"
	// without the cell's hosting and the tenant's DPO, the record says what is missing
	bare, warnings, err := buildRecord(context.Background(), c, cpas, tenant.EffectivePolicy(nil), i18n.French, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 3 || !strings.Contains(warnings[0], "spec.hosting") || !strings.Contains(warnings[1], "spec.contacts.dpo") {
		t.Errorf("warnings without hosting and DPO: %q", warnings)
	}
	var out bytes.Buffer
	if err := writeRecord(&out, bare); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Délégué à la protection des données** : non désigné dans le tenant (spec.contacts.dpo)",
		"**Localisation des données** : non déclarée par la cellule (TenancyPolicy spec.hosting)",
		// the sample Nextcloud calls two services outside, which a policy without approvals closes
		"Nextcloud GmbH (magasin d'applications) (`apps.nextcloud.com:443/TCP`, mises à jour des applications ; aucune donnée personnelle n'est envoyée) — non approuvé par la cellule : aucune donnée n'y parvient"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the record without hosting and DPO lacks %q:\n%s", want, out.String())
		}
	}

	cpas.Spec.Contacts = &v1alpha1.TenantContacts{
		DPO:             &v1alpha1.Contact{Name: "Marie Dupont", Email: "dpo@cpasliege.be", Phone: "+32 4 220 58 11"},
		DirectorGeneral: &v1alpha1.Contact{Name: "Jean Lambert", Email: "dg@cpasliege.be"},
	}
	policy := tenant.EffectivePolicy(&v1alpha1.TenancyPolicy{Spec: v1alpha1.TenancyPolicySpec{Hosting: &v1alpha1.HostingSpec{
		Operator: "CRTPL", Country: "BE", Sites: []string{"Namur", "Liège"}, BackupSites: []string{"Charleroi"}},
		Network: v1alpha1.PolicyNetwork{ExternalEndpoints: []v1alpha1.ApprovedEndpoint{
			{Endpoint: v1alpha1.Endpoint{Host: "apps.nextcloud.com", Port: 443}},
			{Endpoint: v1alpha1.Endpoint{Host: "push-notifications.nextcloud.com", Port: 443}, CIDRs: []v1alpha1.CIDR{"198.51.100.0/28"}},
		}}}})
	rec, warnings, err := buildRecord(context.Background(), c, cpas, policy, i18n.French, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "dossiers-sociaux is not in the catalogue") {
		t.Errorf("warnings %q", warnings)
	}
	out.Reset()
	if err := writeRecord(&out, rec); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{
		"# Registre des activités de traitement (RGPD, art. 30)",
		"**Responsable du traitement** : CPAS de Liège (CPAS/liege), INS 62063",
		"conservation 30 jours",
		"## Traitement : iA.Delib (iadelib 4.2)",
		"obligation légale (art. 6.1.c), mission d'intérêt public (art. 6.1.e) — Code de la démocratie locale",
		"**Catégories particulières (art. 9)** : oui — Les décisions individuelles d'un CPAS",
		"## Traitement : Nextcloud (nextcloud 30.0.4)",
		"**Mise en œuvre** : application de la commune utilisée en synergie",
		"## Traitement : dossiers-sociaux (dossiers-sociaux)",
		"Le catalogue ne décrit pas ce traitement",
		"Pod Security « restricted »",
		"**Directeur général** : Jean Lambert <dg@cpasliege.be>",
		"**Délégué à la protection des données** : Marie Dupont <dpo@cpasliege.be>, +32 4 220 58 11",
		"**Localisation des données** : hébergement par CRTPL, pays BE, sites : Namur ; Liège ; sauvegardes : Charleroi (pays BE)",
		"**Analyse d'impact (art. 35)** : requise : des catégories particulières de données sont traitées",
		"**Analyse d'impact (art. 35)** : non requise par les catégories traitées",
		"**Destinataires hors de la plateforme** : Nextcloud GmbH (magasin d'applications) (`apps.nextcloud.com:443/TCP`, mises à jour des applications ; aucune donnée personnelle n'est envoyée) — approuvé par la cellule, par son proxy de sortie ; Nextcloud GmbH (relais de notifications) (`push-notifications.nextcloud.com:443/TCP`",
		"contenu chiffré) — approuvé par la cellule, ouvert vers ses seuls réseaux",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the record lacks %q:\n%s", want, md)
		}
	}
	// the same record in German, for an ÖSHZ of the German-speaking Community
	german, _, err := buildRecord(context.Background(), c, cpas, policy, i18n.German, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := writeRecord(&out, german); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Verzeichnis von Verarbeitungstätigkeiten (DSGVO, Art. 30)",
		"**Verantwortlicher**: CPAS de Liège (CPAS/liege), NIS 62063",
		"Aufbewahrung 30 Tage",
		"## Verarbeitung: iA.Delib (iadelib 4.2)",
		"**Empfänger außerhalb der Plattform**: Nextcloud GmbH (magasin d'applications) (`apps.nextcloud.com:443/TCP`, mises à jour des applications ; aucune donnée personnelle n'est envoyée) — von der Zelle genehmigt, über ihren Ausgangsproxy",
		"rechtliche Verpflichtung (Art. 6 Abs. 1 Buchst. c), Aufgabe im öffentlichen Interesse (Art. 6 Abs. 1 Buchst. e)",
		"**Besondere Kategorien (Art. 9)**: ja",
		"**Datenschutzbeauftragter**: Marie Dupont <dpo@cpasliege.be>, +32 4 220 58 11",
		"**Ort der Daten**: gehostet von CRTPL, Land BE, Standorte: Namur ; Liège; Sicherungen: Charleroi (Land BE)",
		"**Datenschutz-Folgenabschätzung (Art. 35)**: erforderlich",
		"Der Katalog beschreibt diese Verarbeitung nicht",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the German record lacks %q:\n%s", want, out.String())
		}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var back record
	if err := json.Unmarshal(data, &back); err != nil || len(back.Processings) != 3 || back.Processings[0].DataProtection == nil {
		t.Errorf("the JSON record: %s (%v)", data, err)
	}
}

// The audit speaks the tenant's language: German for the German-speaking Community, French
// otherwise, whatever the output.
func TestAuditSpeaksTheTenantsLanguage(t *testing.T) {
	findings := []audit.Finding{
		{Check: audit.CheckIngressWithoutTLS, Severity: audit.High, Object: "Ingress/web", Field: "spec.rules[0].host", Args: []string{"www.eupen.be"}},
		{Check: audit.CheckAccess, Severity: audit.Info, Object: "RoleBinding/mutualis-admins", Field: "subjects[0]", Args: []string{"Group/it", "ClusterRole/mutualis-tenant-admin"}},
	}
	eupen := commune("eupen", "63023", nil)
	liege := commune("liege", "62063", nil)
	unset := &language{}
	if unset.of(eupen) != i18n.German || unset.of(liege) != i18n.French {
		t.Fatalf("languages: eupen %s, liege %s", unset.of(eupen), unset.of(liege))
	}
	reports := []tenantAudit{showAudit(eupen, findings, nil, unset.of(eupen)), showAudit(liege, nil, []audit.Input{audit.InputPeers}, unset.of(liege))}
	var table, md bytes.Buffer
	if err := writeAuditTable(&table, reports, true); err != nil {
		t.Fatal(err)
	}
	if err := writeAuditMarkdown(&md, reports); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Commune/eupen (commune-eupen): 1 hoch, 0 mittel, 0 niedrig, 1 Info", "SCHWERE", "der Host www.eupen.be wird ohne TLS veröffentlicht",
		"Commune/liege (commune-liege): 0 élevée, 0 moyenne, 0 faible, 0 info", "aucun constat",
		"non vérifié, faute de droits de lecture: PartnerPortOpen, ReachesTenant, TenantReachable"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, table.String())
		}
	}
	for _, want := range []string{"## Sicherheitsaudit : Commune/eupen", "| hoch | IngressWithoutTLS | `Ingress/web` | `spec.rules[0].host` |", "## Audit de sécurité : Commune/liege"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md.String())
		}
	}
	data, _ := json.Marshal(reports[0])
	if !strings.Contains(string(data), `"check":"IngressWithoutTLS"`) || !strings.Contains(string(data), `"high":1`) {
		t.Errorf("JSON %s", data)
	}
}

// The plugin's audit gives a tenant the partner the operator gives it: a commune's first CPAS by
// creation, then by name, none while it is being deleted; a CPAS's commune unless it is deleted.
func TestAuditPartnerIsTheOperatorsPartner(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	deleting := metav1.NewTime(at.Add(time.Hour))
	commune := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "ans", CreationTimestamp: at}}
	cpas := func(name string, created metav1.Time) *v1alpha1.CPAS {
		return &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: created}, Spec: v1alpha1.CPASSpec{CommuneRef: "ans"}}
	}
	// two CPAS created in the same second: the name decides, as in the planner
	b, a := cpas("ans-b", at), cpas("ans-a", at)
	if got := partnerOf(commune, []v1alpha1.Tenant{commune, b, a}); got != a.TenantNamespace() {
		t.Errorf("the commune's partner is %q, want %q", got, a.TenantNamespace())
	}
	if got := partnerOf(a, []v1alpha1.Tenant{commune, b, a}); got != commune.TenantNamespace() {
		t.Errorf("the CPAS's partner is %q, want %q", got, commune.TenantNamespace())
	}
	a.DeletionTimestamp = &deleting
	if got := partnerOf(commune, []v1alpha1.Tenant{commune, b, a}); got != "" {
		t.Errorf("a partner being deleted is no partner, got %q", got)
	}
	commune.DeletionTimestamp = &deleting
	if got := partnerOf(b, []v1alpha1.Tenant{commune, b}); got != "" {
		t.Errorf("a commune being deleted is no partner, got %q", got)
	}
}

// The cell's audit of every tenant names the namespaces kept after their Retain tenant longer
// than the policy's review period, in French by default.
func TestTheCellsAuditNamesKeptNamespacesPastTheirReview(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	kept := func(name string, since time.Time) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels:      map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelOrphaned: "true", v1alpha1.LabelKind: "commune"},
			Annotations: map[string]string{v1alpha1.AnnotationOrphanedAt: since.Format(time.RFC3339)}}}
	}
	policy := &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.TenancyPolicyName},
		Spec: v1alpha1.TenancyPolicySpec{RetainedNamespaces: v1alpha1.PolicyRetainedNamespaces{ReviewAfter: &metav1.Duration{Duration: 30 * 24 * time.Hour}}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(policy,
		kept("commune-amay", now.AddDate(0, -2, 0)), kept("commune-herstal", now.AddDate(0, 0, -3))).Build()
	reports, err := auditTenants(context.Background(), c, nil, &language{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Kind != "Namespace" || reports[0].Name != "commune-amay" || len(reports[0].Findings) != 1 {
		t.Fatalf("reports: %+v", reports)
	}
	if f := reports[0].Findings[0]; f.Check != audit.CheckRetainedNamespaceOverdue ||
		f.Problem != "le namespace d'un tenant supprimé est conservé depuis le 2026-10-05, plus longtemps que les 720h0m0s de la politique" {
		t.Errorf("the finding: %+v", f)
	}
}

// The cell's own record as a processor (art. 30(2)) names every controller with its DPO, each
// application with the controllers it serves (a CPAS through synergy too), where the data lives
// and the cell's measures.
func TestGDPRProcessorRecord(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(sampleApp(t, "iadelib"), sampleApp(t, "nextcloud")).Build()
	commune := &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.CommuneSpec{NIS: "92094",
		TenantSpec: v1alpha1.TenantSpec{DisplayName: "Namur", EnterpriseNumber: "0207.343.456",
			Applications: []v1alpha1.ApplicationSubscription{{Name: "iadelib"}, {Name: "nextcloud"}},
			Contacts:     &v1alpha1.TenantContacts{DPO: &v1alpha1.Contact{Name: "DPO de Namur", Email: "dpo@ville.namur.be"}}}}}
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "namur"}, Spec: v1alpha1.CPASSpec{CommuneRef: "namur",
		TenantSpec: v1alpha1.TenantSpec{DisplayName: "CPAS de Namur", Applications: []v1alpha1.ApplicationSubscription{{Name: "iadelib"}}},
		Synergy:    v1alpha1.SynergySpec{SharedApplications: []string{"nextcloud"}}}}
	cpas.Status.NIS = "92094"
	policy := tenant.EffectivePolicy(&v1alpha1.TenancyPolicy{Spec: v1alpha1.TenancyPolicySpec{Hosting: &v1alpha1.HostingSpec{
		Operator: "CRTPL", Country: "BE", Sites: []string{"Namur"}, BackupSites: []string{"Liège"}}}})
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rec, warnings, err := buildProcessorRecord(context.Background(), c, []v1alpha1.Tenant{cpas, commune}, policy, i18n.French, now)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("%v, warnings %q", err, warnings)
	}
	var out bytes.Buffer
	if err := writeProcessorRecord(&out, rec); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{
		"# Registre des activités de traitement du sous-traitant (RGPD, art. 30.2)",
		"**Localisation des données** : hébergement par CRTPL, pays BE, sites : Namur ; sauvegardes : Liège (pays BE)",
		"| CPAS de Namur (CPAS/namur) | 92094 | - | non désigné |",
		"| Namur (Commune/namur) | 92094 | 0207.343.456 | DPO de Namur <dpo@ville.namur.be> |",
		"### iA.Delib (iadelib 4.2)\n\n- **Pour le compte de** : CPAS/namur ; Commune/namur",
		"### Nextcloud (nextcloud 30.0.4)\n\n- **Pour le compte de** : CPAS/namur ; Commune/namur",
		"**Catégories particulières (art. 9)** : oui",
		"Pod Security « restricted »",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the processor's record lacks %q:\n%s", want, md)
		}
	}
	rec.Language = i18n.German
	out.Reset()
	if err := writeProcessorRecord(&out, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "# Verzeichnis von Verarbeitungstätigkeiten des Auftragsverarbeiters (DSGVO, Art. 30 Abs. 2)") ||
		!strings.Contains(out.String(), "**Im Auftrag von**: CPAS/namur ; Commune/namur") {
		t.Errorf("the German record:\n%s", out.String())
	}
}

// The trend sums the weeks of the tenants' records by province and for the cell, the cell last;
// a tenant without a record adds nothing; people read it in French or German, programs by the
// documented names.
func TestBarometerTrendSumsTheRecordsByWeek(t *testing.T) {
	liege := commune("liege", "62063", nil)
	cpas := &v1alpha1.CPAS{ObjectMeta: metav1.ObjectMeta{Name: "liege"}, Spec: v1alpha1.CPASSpec{CommuneRef: "liege"}}
	cpas.Status.NIS = "62063"
	eupen := commune("eupen", "63023", nil)
	namur := commune("namur", "92094", nil) // joined today: no record yet
	records := map[string]history.History{
		"commune-liege": {Days: []history.Day{
			{Date: "2026-11-27", High: 1, Low: 2, FindingsOpened: 3, BackupsCompleted: 1},
			{Date: "2026-11-30", BackupsCompleted: 1, DrillsPassed: 1},
		}},
		"cpas-liege": {Days: []history.Day{
			{Date: "2026-11-30", Medium: 2, FindingsOpened: 2, BackupsFailed: 1},
		}},
		"commune-eupen": {Days: []history.Day{
			{Date: "2026-11-29", Low: 1, FindingsOpened: 1},
			{Date: "2026-12-01", FindingsClosed: 1, DrillsFailed: 1},
		}},
	}
	rows, err := barometerTrend([]v1alpha1.Tenant{liege, cpas, eupen, namur}, records)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeBarometerTrend(&out, "csv", rows, i18n.German); err != nil {
		t.Fatal(err)
	}
	want := `dimension,group,week,tenants,high,medium,low,opened,closed,backups completed,backups failed,drills passed,drills failed
province,Liège,2026-W48,2,1,0,3,4,0,1,0,0,0
province,Liège,2026-W49,3,1,2,2,2,1,1,1,1,1
total,cell,2026-W48,2,1,0,3,4,0,1,0,0,0
total,cell,2026-W49,3,1,2,2,2,1,1,1,1,1
`
	if out.String() != want {
		t.Errorf("trend:\n%s\nwant\n%s", out.String(), want)
	}
	for lang, says := range map[i18n.Lang][]string{
		i18n.French: {"| dimension | groupe | semaine | membres | élevés |", "| sauvegardes échouées |", "| cellule | 2026-W49 |"},
		i18n.German: {"| Woche |", "| Wiederherstellungstests fehlgeschlagen |", "| Summe | Zelle | 2026-W48 | 2 |"},
	} {
		out.Reset()
		if err := writeBarometerTrend(&out, "markdown", rows, lang); err != nil {
			t.Fatal(err)
		}
		for _, s := range says {
			if !strings.Contains(out.String(), s) {
				t.Errorf("the %s trend does not say %q:\n%s", lang, s, out.String())
			}
		}
	}
	broken := map[string]history.History{"commune-eupen": {Days: []history.Day{{Date: "1er décembre"}}}}
	if _, err := barometerTrend([]v1alpha1.Tenant{eupen}, broken); err == nil || !strings.Contains(err.Error(), "Commune eupen") {
		t.Errorf("a broken record: %v; want an error naming the tenant", err)
	}
}
