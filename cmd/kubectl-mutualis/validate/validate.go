// Package validate checks a tree of manifests offline, as a pull request's CI does before a GitOps
// tool applies it: each object of mutualis against the schema and CEL rules of the generated CRDs
// (with the API server's own validation packages), then every rule the operator applies across
// objects, decided by the operator's planner (controllers/plan) on the tree instead of the cluster.
// A tree that validates does not stall on the cluster for a reason the tree shows.
package validate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/api/validation"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/licence"
	"github.com/crtpl/mutualis/controllers/plan"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// Severity says whether a finding fails the validation.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem of the tree, where it is.
type Finding struct {
	File     string
	Line     int
	Severity Severity
	// Reason is the condition reason the operator would give, when the operator decides it.
	Reason string
	// Message is in English: the operator's own message for a verdict, the API's for a schema or
	// CEL error, the English catalogue's for the validator's own findings.
	Message string
	// Key and Fields are the catalogue's message of a finding of the validator's own (for the
	// plugin to say it in the reader's language); empty for the operator's and the API's.
	Key    string            `json:",omitempty"`
	Fields map[string]string `json:",omitempty"`
}

// said is a finding of the validator's own: its message is the sentence of validate.<key> in the
// catalogues, filled with fields (pairs of name and value), in English for Message.
func said(file string, line int, sev Severity, key string, fields ...string) Finding {
	f := Finding{File: file, Line: line, Severity: sev, Key: "validate." + key, Fields: map[string]string{}}
	for i := 0; i+1 < len(fields); i += 2 {
		f.Fields[fields[i]] = fields[i+1]
	}
	f.Message = f.In(i18n.For(i18n.English))
	return f
}

// In is the finding's text in a printer's language: the catalogue's sentence for the validator's
// own findings; for a verdict of the operator, its reason's sentence followed by the operator's
// English message; the API's English message otherwise (the API server gives the same).
func (f Finding) In(p *i18n.Printer) string {
	switch {
	case f.Key != "":
		return p.Say(f.Key, f.Fields)
	case f.Reason != "" && p.Lang != i18n.English:
		if sentence := p.Reason(f.Reason); sentence != "" {
			return sentence + " — " + f.Message
		}
	}
	return f.Message
}

// Said is the finding as one line, file:line: severity: text (reason), in a printer's language.
func (f Finding) Said(p *i18n.Printer) string {
	where := f.File
	if f.Line > 0 {
		where = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	text := f.In(p)
	if f.Reason != "" {
		text += " (" + f.Reason + ")"
	}
	return p.T("validate.line", "Where", where, "Severity", p.T("validate.severity."+string(f.Severity)), "Text", text)
}

func (f Finding) String() string { return f.Said(i18n.For(i18n.English)) }

// Report is the outcome of a validation.
type Report struct {
	Findings []Finding
	// Counts are the objects of mutualis checked, by kind; Others the documents of other groups,
	// which are left to their own tools.
	Counts map[string]int
	Others int
	// PolicyName and PolicyFile are the TenancyPolicy the tenants were checked against, empty
	// when the tree has none (the shipped defaults then).
	PolicyName, PolicyFile string
	// Tenants are the tree's communes and CPAS, whose people's language the plugin speaks.
	Tenants []v1alpha1.Tenant `json:"-"`
}

// Errors counts the findings that fail the validation.
func (r *Report) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == Error {
			n++
		}
	}
	return n
}

// Summary is the report's last line, in English.
func (r *Report) Summary() string { return r.SummaryIn(i18n.For(i18n.English)) }

// SummaryIn is the report's last line in a printer's language.
func (r *Report) SummaryIn(p *i18n.Printer) string {
	names := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		names = append(names, k)
	}
	sort.Strings(names)
	kinds := make([]string, 0, len(names))
	for _, k := range names {
		kinds = append(kinds, fmt.Sprintf("%d %s", r.Counts[k], k))
	}
	objects := p.T("validate.summary.noObject")
	if len(kinds) > 0 {
		objects = strings.Join(kinds, ", ")
	}
	verdict := p.T("validate.summary.valid")
	if r.Errors() > 0 {
		verdict = p.T("validate.summary.errors", "Count", r.Errors())
	}
	policy := p.T("validate.summary.defaults")
	if r.PolicyName != "" {
		policy = p.T("validate.summary.policy", "Name", r.PolicyName, "File", r.PolicyFile)
	}
	return p.T("validate.summary.line", "Verdict", verdict, "Objects", objects, "Others", r.Others,
		"Warnings", len(r.Findings)-r.Errors(), "Policy", policy)
}

// Tree validates the documents of a tree. now is the day licence pools are checked on.
func Tree(ctx context.Context, schemas Schemas, docs []*Document, now time.Time) *Report {
	rep := &Report{Counts: map[string]int{}}
	w := &world{byKind: map[string]map[string]*Document{}, docOf: map[string]*Document{}, rejectedPools: map[string][]*Document{}}
	for _, d := range docs {
		if !w.admit(ctx, rep, schemas, d) {
			continue
		}
	}
	policy := tenant.EffectivePolicy(w.policy)
	if w.policy != nil {
		rep.PolicyName, rep.PolicyFile = w.policy.Name, w.docOf[key("TenancyPolicy", w.policy.Name)].File
	}
	w.checkCatalogue(rep, policy)
	w.checkTenants(ctx, rep, policy, now)
	rep.Tenants = w.tenants()
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return rep
}

// Alone checks each document on its own, as admission would: the schema, its CEL rules and the
// served version, without the rest of a tree (kubectl mutualis new checks what it writes so).
func Alone(ctx context.Context, schemas Schemas, docs []*Document) *Report {
	rep := &Report{Counts: map[string]int{}}
	w := &world{byKind: map[string]map[string]*Document{}, docOf: map[string]*Document{}, rejectedPools: map[string][]*Document{}}
	for _, d := range docs {
		w.admit(ctx, rep, schemas, d)
	}
	return rep
}

// world is the tree's objects of mutualis that passed the schema, typed, as the planner reads them.
type world struct {
	byKind    map[string]map[string]*Document
	docOf     map[string]*Document
	policy    *v1alpha1.TenancyPolicy
	communes  []*v1alpha1.Commune
	cpas      []*v1alpha1.CPAS
	provinces []*v1alpha1.Province
	apps      map[string]*v1alpha1.SharedApplication
	pools     []v1alpha1.LicencePool
	// rejectedPools are the LicencePools of the tree that the schema refused, by application.
	rejectedPools map[string][]*Document
}

func key(kind, name string) string { return kind + "/" + name }

// admit checks one document on its own and, when the schema accepts it, adds it to the world.
func (w *world) admit(ctx context.Context, rep *Report, schemas Schemas, d *Document) bool {
	group, version, _ := strings.Cut(d.APIVersion, "/")
	if d.APIVersion == "" || d.Kind == "" {
		rep.Findings = append(rep.Findings, said(d.File, d.Line, Error, "noKind"))
		return false
	}
	if group != v1alpha1.GroupVersion.Group {
		rep.Others++
		return false
	}
	if version != v1alpha1.GroupVersion.Version {
		rep.Findings = append(rep.Findings, said(d.File, d.lineOf("apiVersion"), Error, "versionNotServed",
			"Version", d.APIVersion, "Served", v1alpha1.GroupVersion.String()))
		return false
	}
	s := schemas[d.Kind]
	if s == nil {
		rep.Findings = append(rep.Findings, said(d.File, d.lineOf("kind"), Error, "unknownKind",
			"Kind", d.Kind, "Group", v1alpha1.GroupVersion.String(), "Kinds", strings.Join(schemas.Kinds(), ", ")))
		return false
	}
	rep.Counts[d.Kind]++
	if errs := s.check(ctx, d.Object); len(errs) > 0 {
		for _, e := range errs {
			rep.Findings = append(rep.Findings, d.at(e))
		}
		if d.Kind == "LicencePool" {
			// its subscribers must hear that the pool exists but was refused, not that none does
			app, _, _ := unstructured.NestedString(d.Object, "spec", "application")
			w.rejectedPools[app] = append(w.rejectedPools[app], d)
		}
		return false
	}
	k := key(d.Kind, d.Name)
	if first := w.docOf[k]; first != nil {
		rep.Findings = append(rep.Findings, said(d.File, d.Line, Error, "declaredTwice",
			"Object", d.Where(), "First", fmt.Sprintf("%s:%d", first.File, first.Line)))
		return false
	}
	w.docOf[k] = d
	return w.add(rep, d)
}

func (w *world) add(rep *Report, d *Document) bool {
	var obj runtime.Object
	switch d.Kind {
	case "Commune":
		obj = &v1alpha1.Commune{}
	case "CPAS":
		obj = &v1alpha1.CPAS{}
	case "Province":
		obj = &v1alpha1.Province{}
	case "SharedApplication":
		obj = &v1alpha1.SharedApplication{}
	case "LicencePool":
		obj = &v1alpha1.LicencePool{}
	case "TenancyPolicy":
		obj = &v1alpha1.TenancyPolicy{}
	default:
		return true
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.Object, obj); err != nil {
		rep.Findings = append(rep.Findings, Finding{File: d.File, Line: d.Line, Severity: Error, Message: d.Where() + ": " + err.Error()})
		return false
	}
	switch o := obj.(type) {
	case *v1alpha1.Commune:
		w.communes = append(w.communes, o)
	case *v1alpha1.CPAS:
		w.cpas = append(w.cpas, o)
	case *v1alpha1.Province:
		w.provinces = append(w.provinces, o)
	case *v1alpha1.SharedApplication:
		if w.apps == nil {
			w.apps = map[string]*v1alpha1.SharedApplication{}
		}
		w.apps[o.Name] = o
	case *v1alpha1.LicencePool:
		w.pools = append(w.pools, *o)
	case *v1alpha1.TenancyPolicy:
		if o.Name != v1alpha1.TenancyPolicyName {
			rep.Findings = append(rep.Findings, said(d.File, d.lineOf("metadata.name"), Error, "policyName",
				"Want", v1alpha1.TenancyPolicyName, "Name", o.Name))
			return false
		}
		w.policy = o
	}
	return true
}

func (w *world) tenants() []v1alpha1.Tenant {
	out := make([]v1alpha1.Tenant, 0, len(w.communes)+len(w.cpas)+len(w.provinces))
	for _, c := range w.communes {
		out = append(out, c)
	}
	for _, c := range w.cpas {
		out = append(out, c)
	}
	for _, p := range w.provinces {
		out = append(out, p)
	}
	return out
}

func (w *world) docFor(t v1alpha1.Tenant) *Document {
	return w.docOf[key(t.TenantKind().Kind(), t.GetName())]
}

// verdictAt reports a verdict of the planner at the tenant's document, on the line of the first of
// the fields it is about that the document has.
func (w *world) verdictAt(rep *Report, t v1alpha1.Tenant, v *plan.Verdict, fields ...string) {
	d := w.docFor(t)
	line := d.lineOf(fields[0])
	for _, f := range fields {
		if d.has(f) {
			line = d.lineOf(f)
			break
		}
	}
	rep.Findings = append(rep.Findings, Finding{File: d.File, Line: line, Severity: Error, Reason: v.Reason,
		Message: fmt.Sprintf("%s: %s", d.Where(), v.Message)})
}

// verdictField is the field a verdict of the planner is about, for its line.
var verdictField = map[string]string{
	v1alpha1.ReasonUnknownNIS:        "spec.nis",
	v1alpha1.ReasonDuplicateNIS:      "spec.nis",
	v1alpha1.ReasonPopulationMissing: "spec",
	v1alpha1.ReasonUnknownTier:       "spec.tier",
	v1alpha1.ReasonDuplicateCPAS:     "spec.communeRef",
	v1alpha1.ReasonCommuneNotFound:   "spec.communeRef",
	v1alpha1.ReasonCommuneNotReady:   "spec.communeRef",
	v1alpha1.ReasonDuplicateDomain:   "spec.domains",
	v1alpha1.ReasonDomainNotAllowed:  "spec.domains",
	v1alpha1.ReasonEgressNotAllowed:  "spec.network.egressCIDRs",
}

// checkCatalogue gives each catalogue entry of the tree the verdict the catalogue controller gives
// it (BaseValid): its base rendered for a sample tenant and for each tier of the policy.
func (w *world) checkCatalogue(rep *Report, policy v1alpha1.TenancyPolicySpec) {
	names := make([]string, 0, len(w.apps))
	for name := range w.apps {
		names = append(names, name)
	}
	sort.Strings(names)
	subscribed := map[string]bool{}
	for _, t := range w.tenants() {
		for _, sub := range plan.Subscriptions(t) {
			subscribed[sub.Name] = true
		}
	}
	for _, name := range names {
		if d := w.docOf[key("SharedApplication", name)]; subscribed[name] && w.apps[name].Spec.DataProtection == nil {
			f := said(d.File, d.lineOf("spec"), Warning, "dataProtectionMissing", "Object", d.Where())
			f.Reason = v1alpha1.ReasonDataProtectionMissing
			rep.Findings = append(rep.Findings, f)
		}
		if d := w.docOf[key("SharedApplication", name)]; subscribed[name] && len(w.apps[name].Spec.ExternalEndpoints) > 0 {
			// the operator's own reading: an endpoint the tree's policy does not approve stays closed
			decided := tenant.ApproveEndpoints(w.apps[name], policy)
			var closed []string
			for _, e := range decided.Waiting {
				closed = append(closed, tenant.EndpointString(e))
			}
			closed = append(closed, decided.Refused...)
			if len(closed) > 0 {
				f := said(d.File, d.lineOf("spec.externalEndpoints"), Warning, "endpointsWaiting", "Object", d.Where(), "Endpoints", strings.Join(closed, "; "))
				f.Reason = v1alpha1.ReasonEndpointsWaiting
				rep.Findings = append(rep.Findings, f)
			}
		}
		if err := validation.Licence(w.apps[name].Spec.Licence.Model, w.apps[name].Spec.Licence.SPDX); err != nil {
			d := w.docOf[key("SharedApplication", name)]
			rep.Findings = append(rep.Findings, said(d.File, d.lineOf("spec.licence"), Error, "licenceInvalid", "Object", d.Where(), "Problem", err.Error()))
		}
		problem, _, err := plan.CatalogueVerdict(w.apps[name], policy, nil)
		if err != nil {
			problem = &plan.Verdict{Reason: v1alpha1.ReasonInvalidBase, Message: err.Error()}
		}
		if problem == nil {
			continue
		}
		d := w.docOf[key("SharedApplication", name)]
		field := "spec.resources"
		if problem.Reason == v1alpha1.ReasonUnknownTier {
			field = "spec.sizes"
		}
		severity := Error
		if problem.Wait {
			severity = Warning // the cluster may serve the kind
		}
		rep.Findings = append(rep.Findings, Finding{File: d.File, Line: d.lineOf(field), Severity: severity, Reason: problem.Reason,
			Message: fmt.Sprintf("%s: %s", d.Where(), problem.Message)})
	}
}

// checkTenants decides every tenant as the operator would, through the planner: first who each
// one is, then the seats the tree's pools grant them, then each one's applications.
func (w *world) checkTenants(ctx context.Context, rep *Report, policy v1alpha1.TenancyPolicySpec, now time.Time) {
	identities := map[v1alpha1.Tenant]*plan.Identity{}
	var identified []v1alpha1.Tenant
	for _, t := range w.tenants() {
		id, v, err := plan.Identify(ctx, w, t, policy)
		if err != nil {
			panic(err) // the tree's view never fails
		}
		if v != nil {
			w.verdictAt(rep, t, v, verdictField[v.Reason])
			continue
		}
		if n := id.NISNotice; n != nil && n.Reason == v1alpha1.ReasonRetiredNIS {
			d := w.docFor(t)
			rep.Findings = append(rep.Findings, Finding{File: d.File, Line: d.lineOf("spec.nis"), Severity: Warning, Reason: n.Reason, Message: d.Where() + ": " + n.Message})
		}
		identities[t] = id
		identified = append(identified, t)
	}
	grants := w.grants(identified, identities, now)
	for _, t := range identified {
		w.checkApplications(rep, plan.ApplicationsInput{
			Tenant: t, Identity: identities[t], Entries: w.apps, Grants: grants[t.TenantNamespace()],
			Render: func(app *v1alpha1.SharedApplication, rt render.Tenant) ([]*unstructured.Unstructured, error) {
				return render.Render(app, rt, render.Options{AllowedServiceTypes: policy.AllowedServiceTypes})
			},
		})
	}
}

// grants allocates the seats of the tree's pools to the tenants that ask for them, as each pool's
// allocation would on a cluster where the tree is new, and gives each tenant its grants.
func (w *world) grants(tenants []v1alpha1.Tenant, identities map[v1alpha1.Tenant]*plan.Identity, now time.Time) map[string]map[string]plan.Grant {
	requests := map[string][]licence.Request{}
	for _, t := range tenants {
		for app, seats := range plan.SeatRequests(t, w.apps) {
			requests[app] = append(requests[app], licence.Request{Tenant: t.TenantNamespace(), Tier: identities[t].Tier.Name, Seats: seats})
		}
	}
	out := map[string]map[string]plan.Grant{}
	for app, reqs := range requests {
		pool := licence.Active(w.pools, app)
		if pool == nil {
			continue
		}
		expired := licence.Expired(pool, now)
		res := licence.Allocate(licence.Pool{Seats: pool.Spec.Seats, Reservations: pool.Spec.Reservations, Expired: expired}, nil, reqs)
		granted := map[string]int32{}
		for _, a := range res.Allocations {
			granted[a.Tenant] = a.Seats
		}
		for _, r := range reqs {
			g := plan.Grant{Pool: pool.Name, Granted: granted[r.Tenant], Available: licence.AvailableTo(res.Available, res.Reservations, r.Tier)}
			if expired {
				g.Ended = pool.Spec.ValidUntil.Format(time.DateOnly)
			}
			if out[r.Tenant] == nil {
				out[r.Tenant] = map[string]plan.Grant{}
			}
			out[r.Tenant][app] = g
		}
	}
	return out
}

// checkApplications is the applications step of the operator without its writes: the planner's
// decision, each problem reported at the tenant's document.
func (w *world) checkApplications(rep *Report, in plan.ApplicationsInput) {
	t := in.Tenant
	d := w.docFor(t)
	decided, err := plan.Applications(in)
	if err != nil {
		w.verdictAt(rep, t, &plan.Verdict{Reason: v1alpha1.ReasonApplicationInvalid, Message: err.Error()}, "spec.applications")
		return
	}
	for _, sub := range decided.Subscriptions {
		if sub.Outcome == plan.OutcomeKindMissing {
			// the cluster may serve them; the operator waits until it does
			rep.Findings = append(rep.Findings, Finding{File: d.File, Line: d.lineOf("spec.applications"), Severity: Warning, Reason: v1alpha1.ReasonKindNotInstalled, Message: d.Where() + ": " + sub.Message})
		}
	}
	// a kind the cluster may serve only warns (above); seats are reported per licence (below)
	if v := decided.Verdict; v != nil && v.Reason != v1alpha1.ReasonKindNotInstalled && v.Reason != v1alpha1.ReasonPoolExhausted {
		w.verdictAt(rep, t, v, "spec.applications", "spec.synergy")
	}
	// a tree whose tenants ask for seats its pools do not have fails: on the cluster they would
	// run on fewer seats than they asked for, or wait for a first one
	for _, short := range decided.LicenceShort {
		// each line names its application first; one without a pool may have one the schema refused
		app, _, _ := strings.Cut(short, ": ")
		if _, pooled := in.Grants[app]; !pooled {
			for _, pool := range w.rejectedPools[app] {
				short = fmt.Sprintf("%s: its LicencePool %s (%s:%d) is refused by the schema: fix it first", app, pool.Name, pool.File, pool.Line)
			}
		}
		w.verdictAt(rep, t, &plan.Verdict{Reason: v1alpha1.ReasonPoolExhausted, Message: short}, "spec.applications")
	}
}

// The tree as the planner's View ------------------------------------------------------------------

func (w *world) CommunesWithNIS(_ context.Context, nis string) ([]*v1alpha1.Commune, error) {
	var out []*v1alpha1.Commune
	for _, c := range w.communes {
		if c.Spec.NIS == nis {
			out = append(out, c)
		}
	}
	return out, nil
}

func (w *world) ProvincesWithNIS(_ context.Context, nis string) ([]*v1alpha1.Province, error) {
	var out []*v1alpha1.Province
	for _, p := range w.provinces {
		if p.Spec.NIS == nis {
			out = append(out, p)
		}
	}
	return out, nil
}

func (w *world) CPASOf(_ context.Context, commune string) ([]*v1alpha1.CPAS, error) {
	var out []*v1alpha1.CPAS
	for _, c := range w.cpas {
		if c.Spec.CommuneRef == commune {
			out = append(out, c)
		}
	}
	return out, nil
}

func (w *world) Commune(_ context.Context, name string) (*v1alpha1.Commune, error) {
	for _, c := range w.communes {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, nil
}

func (w *world) TenantsWithDomainKey(_ context.Context, k string) ([]v1alpha1.Tenant, error) {
	var out []v1alpha1.Tenant
	for _, t := range w.tenants() {
		for _, d := range t.TenantSpec().Domains {
			if containsKey(string(d), k) {
				out = append(out, t)
				break
			}
		}
	}
	return out, nil
}

func containsKey(domain, k string) bool {
	for _, dk := range validation.DomainIndexKeys(domain) {
		if dk == k {
			return true
		}
	}
	return false
}
