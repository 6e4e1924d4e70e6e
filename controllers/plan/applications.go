package plan

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// ApplicationsInput is everything the applications decision of one tenant reads. The operator
// fills it from the informers' cache, the validator from a tree of files; the decision itself
// (Applications) is the same function for both.
type ApplicationsInput struct {
	Tenant   v1alpha1.Tenant
	Identity *Identity
	// Entries are the catalogue entries the tenant's subscriptions name; an absent one is missing.
	Entries map[string]*v1alpha1.SharedApplication
	// Grants are, by application, the seats this tenant holds in the pool of that application; an
	// application without an entry has no pool.
	Grants map[string]Grant
	// Deployed says which applications have objects of this tenant deployed already, for the
	// message of one whose catalogue entry went away.
	Deployed map[string]bool
	// Tokens are, by Shared application that issues subscriber tokens, the Secret carrying this
	// tenant's token (package token), which goes with the ExternalName Services; the validator
	// has none.
	Tokens map[string]*unstructured.Unstructured
	// Render builds an application's objects for the tenant: the operator's goes through its memo
	// and the cluster's REST mapping, the validator's through the well-known kinds.
	Render func(app *v1alpha1.SharedApplication, t render.Tenant) ([]*unstructured.Unstructured, error)
}

// Grant is what the pool holding an application's seats gives one tenant.
type Grant struct {
	Pool string
	// Granted are the tenant's seats; Available what the pool has left for anyone.
	Granted, Available int32
	// Ended is the day the pool's licence ended, empty while it runs: it grants nothing new.
	Ended string
}

// Outcome is what one subscription comes to.
type Outcome string

const (
	// OutcomeApply: the subscription has objects to apply (Objects).
	OutcomeApply Outcome = "Apply"
	// OutcomeMissing: the catalogue has no such application; nothing is touched.
	OutcomeMissing Outcome = "Missing"
	// OutcomeInvalid: the subscription or its catalogue entry is wrong; nothing is applied.
	OutcomeInvalid Outcome = "Invalid"
	// OutcomeKindMissing: the render uses kinds the cluster does not serve yet; it waits.
	OutcomeKindMissing Outcome = "KindMissing"
	// OutcomeAwaitingSeats: the pool granted the tenant no seat yet; nothing is applied.
	OutcomeAwaitingSeats Outcome = "AwaitingSeats"
)

// Serving says how a subscription that applies reaches its application.
type Serving string

const (
	// ServedOwn: the tenant runs its own copy in its namespace.
	ServedOwn Serving = "Own"
	// ServedByInstance: ExternalName Services lead to the cell's one shared instance.
	ServedByInstance Serving = "Instance"
	// ServedBySynergy: ExternalName Services lead to the commune's copy (a CPAS's synergy).
	ServedBySynergy Serving = "Synergy"
	// ServedExternally: iMio or a vendor hosts it outside the cell; nothing is applied.
	ServedExternally Serving = "External"
)

// SubscriptionPlan is one subscription decided.
type SubscriptionPlan struct {
	Subscription
	// Entry is the catalogue entry; nil when it is missing.
	Entry   *v1alpha1.SharedApplication
	Outcome Outcome
	Serving Serving
	// Message says why a subscription does not apply; empty when it does.
	Message string
	// Objects are what the tenant's namespace carries of it, in the order to apply them.
	Objects []*unstructured.Unstructured
	// Seats are the seats the render was given (the tenant's grant).
	Seats int32
}

// ApplicationsPlan is the whole applications decision of a tenant.
type ApplicationsPlan struct {
	// Subscriptions are sorted by name.
	Subscriptions []SubscriptionPlan
	// Licences are the seats of each licensed subscription, requested and granted, sorted by name.
	Licences []v1alpha1.LicenceStatus
	// LicenceShort says, per licensed application, why the tenant holds fewer seats than it asks.
	LicenceShort []string
	// Shortfalls say what the applications together need beyond the tenant's quota; when there
	// is any, nothing new is applied.
	Shortfalls []string
	// Verdict is the configuration problem of the subscriptions, in the order the reader must fix
	// them; nil when there is none.
	Verdict *Verdict
}

// Applications decides every subscription of a tenant: its catalogue entry, its seats, its
// objects, and together whether they fit the tenant's quota. It writes nothing. The error is one
// the render could not decide on (a transient error of the cluster's discovery): the caller
// retries rather than blame the tenant.
func Applications(in ApplicationsInput) (*ApplicationsPlan, error) {
	out := &ApplicationsPlan{}
	var invalid, missing, kinds, seats []string
	var renders []Rendered
	for _, sub := range Subscriptions(in.Tenant) {
		p, err := decideSubscription(in, out, sub)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sub.Name, err)
		}
		switch p.Outcome {
		case OutcomeInvalid:
			invalid = append(invalid, p.Message)
		case OutcomeMissing:
			missing = append(missing, p.Message)
		case OutcomeKindMissing:
			kinds = append(kinds, p.Message)
		case OutcomeAwaitingSeats:
			seats = append(seats, p.Message)
		case OutcomeApply:
			renders = append(renders, Rendered{Application: p.Name, Objects: p.Objects})
		}
		out.Subscriptions = append(out.Subscriptions, p)
	}
	shortfalls, err := QuotaShortfalls(in.Identity.Tier, in.Identity.Quota, renders)
	if err != nil {
		// a quantity the API server accepted and the sum cannot read is the base's fault
		invalid = append(invalid, err.Error())
	}
	out.Shortfalls = shortfalls
	out.Verdict = ApplicationsVerdict(in.Identity.Tier.Name, shortfalls, invalid, missing, kinds, seats)
	return out, nil
}

// decideSubscription decides one subscription, adding its licence to the plan.
func decideSubscription(in ApplicationsInput, out *ApplicationsPlan, sub Subscription) (SubscriptionPlan, error) {
	p := SubscriptionPlan{Subscription: sub}
	not := func(o Outcome, msg string) (SubscriptionPlan, error) {
		p.Outcome, p.Message = o, msg
		return p, nil
	}
	entry := in.Entries[sub.Name]
	if entry == nil {
		return not(OutcomeMissing, MissingApplication(sub.Name, in.Deployed[sub.Name]))
	}
	p.Entry = entry

	requested, pooled, problem := LicenceRequest(entry, sub)
	if problem != "" {
		return not(OutcomeInvalid, problem)
	}
	if pooled {
		l, short := licenceOf(entry.Name, requested, in.Grants)
		out.Licences = append(out.Licences, l)
		if short != "" {
			out.LicenceShort = append(out.LicenceShort, short)
		}
		if l.Granted == 0 {
			return not(OutcomeAwaitingSeats, fmt.Sprintf("%s waits for licence seats: %s", entry.Name, strings.TrimPrefix(short, entry.Name+": ")))
		}
		p.Seats = l.Granted
	}

	namespace := in.Tenant.TenantNamespace()
	switch {
	case entry.Spec.Instance == v1alpha1.InstanceExternal:
		// the subscription is recorded (status, barometer, record, funding); nothing runs here
		if problem := UndeclaredParameters(entry, sub.ApplicationSubscription); problem != "" {
			return not(OutcomeInvalid, problem)
		}
		p.Serving = ServedExternally
	case entry.Spec.Instance == v1alpha1.InstanceShared:
		// the tenant reaches the cell's one instance; its values go to the subscribers list
		if problem := UndeclaredParameters(entry, sub.ApplicationSubscription); problem != "" {
			return not(OutcomeInvalid, problem)
		}
		p.Serving, p.Objects = ServedByInstance, tenant.InstanceServices(namespace, entry)
		if secret := in.Tokens[entry.Name]; secret != nil {
			p.Objects = append(p.Objects, secret)
		}
	case sub.Shared:
		if problem := SynergyProblem(in.Tenant, in.Identity.Partner, entry.Name); problem != "" {
			return not(OutcomeInvalid, problem)
		}
		p.Serving, p.Objects = ServedBySynergy, tenant.ExternalNames(namespace, entry, in.Identity.Partner.TenantNamespace())
	default:
		objs, err := in.Render(entry, RenderTenant(in.Tenant, in.Identity.NIS, in.Identity.Tier.Name, sub.ApplicationSubscription, p.Seats))
		var rerr *render.Error
		var kinds *render.MissingKindsError
		switch {
		case errors.As(err, &rerr):
			return not(OutcomeInvalid, rerr.Error())
		case errors.As(err, &kinds):
			// nothing tells mutualis when a CRD arrives: the operator looks again in a while
			return not(OutcomeKindMissing, kinds.Error())
		case err != nil:
			return p, err
		}
		p.Serving, p.Objects = ServedOwn, objs
	}
	p.Outcome = OutcomeApply
	return p, nil
}

// licenceOf is a licensed subscription's seats, and why it holds fewer than it asks, if it does.
func licenceOf(application string, requested int32, grants map[string]Grant) (v1alpha1.LicenceStatus, string) {
	g, ok := grants[application]
	l := v1alpha1.LicenceStatus{Application: application, Requested: requested, Granted: g.Granted}
	switch {
	case !ok:
		return l, fmt.Sprintf("%s: no LicencePool holds its seats: create one", application)
	case g.Granted >= requested:
		return l, ""
	case g.Ended != "":
		return l, fmt.Sprintf("%s: %d seats requested, %d granted; pool %s ended on %s and grants nothing new: renew the licence and set spec.validUntil",
			application, requested, g.Granted, g.Pool, g.Ended)
	}
	return l, fmt.Sprintf("%s: %d seats requested, %d granted; pool %s has %d available: buy seats or lower the request",
		application, requested, g.Granted, g.Pool, g.Available)
}

// LicenceRequest is the one seat rule: how many seats a subscription asks of its application's
// pool, or the problem when the subscription and the licence model disagree.
//   - OpenSource takes no seat; a subscription that names seats is refused.
//   - PerSeat takes the subscription's seats, which it must name. A CPAS that uses the commune's
//     copy through synergy names them too: its staff are users of the licence like the commune's.
//   - PerInstance takes one seat per copy that runs: one for a tenant's own copy, none for a CPAS
//     on its commune's copy, whose seat the commune holds.
func LicenceRequest(app *v1alpha1.SharedApplication, sub Subscription) (seats int32, pooled bool, problem string) {
	switch app.Spec.Licence.Model {
	case "", v1alpha1.LicenceOpenSource:
		if sub.Seats != nil {
			return 0, false, fmt.Sprintf("seats are requested for %s, an OpenSource application: remove spec.applications[%s].seats", app.Name, app.Name)
		}
		return 0, false, ""
	case v1alpha1.LicencePerSeat:
		switch {
		case sub.Seats == nil && sub.Shared:
			return 0, false, fmt.Sprintf("%s is licensed per seat and the CPAS's staff use seats of the commune's copy: list it in spec.applications with the seats they need", app.Name)
		case sub.Seats == nil:
			return 0, false, fmt.Sprintf("%s is licensed per seat: set spec.applications[%s].seats", app.Name, app.Name)
		}
		return *sub.Seats, true, ""
	}
	if sub.Shared {
		return 0, false, ""
	}
	return 1, true, ""
}

// SeatRequests are what a tenant asks of each application's pool, by application, under the seat
// rule; subscriptions the rule refuses ask nothing. An application without a catalogue entry keeps
// asking for the seats its subscription names, so that a grant outlives a catalogue entry
// removed for a while, as what runs of it does.
func SeatRequests(t v1alpha1.Tenant, entries map[string]*v1alpha1.SharedApplication) map[string]int32 {
	out := map[string]int32{}
	for _, sub := range Subscriptions(t) {
		entry := entries[sub.Name]
		if entry == nil {
			if sub.Seats != nil && *sub.Seats > 0 {
				out[sub.Name] = *sub.Seats
			}
			continue
		}
		if seats, pooled, problem := LicenceRequest(entry, sub); pooled && problem == "" && seats > 0 {
			out[sub.Name] = seats
		}
	}
	return out
}

// ApplicationsVerdict is the configuration error of a tenant's subscriptions, in the order the
// reader must fix them: what exceeds the tier's quota, then invalid subscriptions, then
// applications missing from the catalogue, then kinds the cluster does not serve yet, then
// applications whose pool granted no seat yet (all three of which wait). Nil when there is none.
func ApplicationsVerdict(tier string, shortfalls, invalid, missing, kinds, seats []string) *Verdict {
	const part = v1alpha1.ConditionApplicationsReady
	switch {
	case len(shortfalls) > 0:
		return stalled(part, v1alpha1.ReasonQuotaTooSmall,
			"the subscribed applications need more than the quota of tier %s allows (%s): subscribe to fewer, share through synergy, or choose a larger tier with spec.tier; nothing new was applied",
			tier, strings.Join(shortfalls, ", "))
	case len(invalid) > 0:
		return stalled(part, v1alpha1.ReasonApplicationInvalid, "%s", strings.Join(invalid, "; "))
	case len(missing) > 0:
		return waiting(part, v1alpha1.ReasonApplicationMissing, "%s", strings.Join(missing, "; "))
	case len(kinds) > 0:
		return waiting(part, v1alpha1.ReasonKindNotInstalled, "%s", strings.Join(kinds, "; "))
	case len(seats) > 0:
		return waiting(part, v1alpha1.ReasonPoolExhausted, "%s", strings.Join(seats, "; "))
	}
	return nil
}
