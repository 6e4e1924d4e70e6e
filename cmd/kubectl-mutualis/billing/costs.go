package billing

import (
	"fmt"
	"sort"
	"time"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/licence"
)

// ItemKind is what a tenant pays for.
type ItemKind string

const (
	// ItemTier is the tier's yearly participation.
	ItemTier ItemKind = "tier"
	// ItemApplication is a subscription the tenant makes itself (synergy is free: the commune
	// pays for the instance its CPAS uses).
	ItemApplication ItemKind = "application"
	// ItemSeats are the licence seats granted to the tenant for one application.
	ItemSeats ItemKind = "seats"
)

// Item is one thing a tenant pays for a year, from the day it began.
type Item struct {
	Kind ItemKind `json:"kind"`
	// Application names the application of a subscription or of seats.
	Application string `json:"application,omitempty"`
	// Seats is the number of seats granted, for ItemSeats.
	Seats int32 `json:"seats,omitempty"`
	// Categories are the item's expense categories, which funding lines match.
	Categories []v1alpha1.ExpenseCategory `json:"categories,omitempty"`
	// Yearly is the price of a whole year.
	Yearly Cents `json:"yearly"`
	// Since is the first day the item is due.
	Since time.Time `json:"since"`
	// Procurement is how the seats of ItemSeats were bought, when their pool says it.
	Procurement *v1alpha1.Procurement `json:"procurement,omitempty"`
}

// Prices is the cell's price list, read once for every tenant.
type Prices struct {
	Currency       string
	tiers          map[string]v1alpha1.TierPrice
	applications   map[string]v1alpha1.ApplicationPrice
	tierCategories []v1alpha1.ExpenseCategory
	// seats are the seat prices the applications' pools give, by application
	seats map[string]*v1alpha1.Procurement
}

// NewPrices reads the policy's price list; without one there is nothing to bill.
func NewPrices(policy *v1alpha1.TenancyPolicy) (*Prices, error) {
	if policy == nil || policy.Spec.Pricing == nil {
		return nil, fmt.Errorf("the TenancyPolicy has no spec.pricing: add the cell's price list (docs/operations.md)")
	}
	pricing := policy.Spec.Pricing
	p := &Prices{Currency: pricing.Currency, tiers: map[string]v1alpha1.TierPrice{},
		applications: map[string]v1alpha1.ApplicationPrice{}, tierCategories: pricing.TierCategories, seats: map[string]*v1alpha1.Procurement{}}
	if p.Currency == "" {
		p.Currency = "EUR"
	}
	if len(p.tierCategories) == 0 {
		p.tierCategories = []v1alpha1.ExpenseCategory{"hosting"} // the API's default, for a policy read from a file
	}
	for _, t := range pricing.Tiers {
		p.tiers[t.Tier] = t
	}
	for _, a := range pricing.Applications {
		p.applications[a.Application] = a
	}
	return p, nil
}

// WithPools prices the seats of each application at the unit price of its pool's procurement, the
// one price of a seat; the warnings name a seat priced in the price list too.
func (p *Prices) WithPools(pools []v1alpha1.LicencePool) []string {
	var warnings []string
	for i := range pools {
		pool := &pools[i]
		if pool.Spec.Procurement == nil || licence.Active(pools, pool.Spec.Application) != pool {
			continue
		}
		p.seats[pool.Spec.Application] = pool.Spec.Procurement
		if listed := p.applications[pool.Spec.Application].PerSeat; listed != "" {
			warnings = append(warnings, fmt.Sprintf("the seats of %s are priced twice: %s in LicencePool %s's procurement, %s in spec.pricing: the pool's is used; remove perSeat from the price list",
				pool.Spec.Application, pool.Spec.Procurement.UnitPrice, pool.Name, listed))
		}
	}
	return warnings
}

// ParseDate reads a day of the API (2021-10-01) as midnight UTC.
func ParseDate(d v1alpha1.Date) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: write it YYYY-MM-DD", d)
	}
	return t, nil
}

// JoinedOn is the day a tenant joined the cell: spec.joinedOn, else the day its object was
// created (UTC).
func JoinedOn(t v1alpha1.Tenant) (time.Time, error) {
	if d := t.TenantSpec().JoinedOn; d != "" {
		return ParseDate(d)
	}
	c := t.GetCreationTimestamp().UTC()
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC), nil
}

// Items are what a tenant pays for: its tier's participation, each application it subscribes to
// itself, and the seats it was granted, each with its expense categories (categories gives the
// catalogue's, by application) and the day it began. The warnings say what the price list lacks.
func (p *Prices) Items(t v1alpha1.Tenant, categories map[string][]v1alpha1.ExpenseCategory) ([]Item, []string, error) {
	var items []Item
	var warnings []string
	joined, err := JoinedOn(t)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: spec.joinedOn: %w", t.TenantKind().Kind(), t.GetName(), err)
	}
	st := t.TenantStatus()
	switch price, ok := p.tiers[st.Tier]; {
	case st.Tier == "":
		warnings = append(warnings, fmt.Sprintf("%s %s has no tier yet (not reconciled, or stalled): it is billed nothing", t.TenantKind().Kind(), t.GetName()))
	case !ok:
		warnings = append(warnings, fmt.Sprintf("tier %s has no price in spec.pricing.tiers", st.Tier))
	default:
		amount := price.Commune
		switch t.TenantKind() {
		case v1alpha1.KindCPAS:
			amount = price.CPAS
		case v1alpha1.KindProvince:
			if price.Province != "" {
				amount = price.Province
			}
		}
		yearly, err := ParseAmount(amount)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, Item{Kind: ItemTier, Categories: p.tierCategories, Yearly: yearly, Since: joined})
	}
	// a CPAS pays nothing for the instance of its commune that it uses through synergy, only for
	// the seats its staff take of it
	synergy := map[string]bool{}
	if cpas, ok := t.(*v1alpha1.CPAS); ok {
		for _, name := range cpas.Spec.Synergy.SharedApplications {
			synergy[name] = true
		}
	}
	since := map[string]time.Time{}
	for _, sub := range t.TenantSpec().Applications {
		since[sub.Name] = joined
		if sub.Since != "" {
			if since[sub.Name], err = ParseDate(sub.Since); err != nil {
				return nil, nil, fmt.Errorf("%s %s: application %s: spec.applications[].since: %w", t.TenantKind().Kind(), t.GetName(), sub.Name, err)
			}
		}
		if synergy[sub.Name] {
			continue
		}
		price, ok := p.applications[sub.Name]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("application %s has no price in spec.pricing.applications", sub.Name))
			continue
		}
		yearly, err := ParseAmount(price.PerTenant)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, Item{Kind: ItemApplication, Application: sub.Name, Categories: categories[sub.Name], Yearly: yearly, Since: since[sub.Name]})
	}
	for _, l := range st.Licences {
		if l.Granted == 0 {
			continue
		}
		amount, procurement := p.applications[l.Application].PerSeat, p.seats[l.Application]
		if procurement != nil {
			amount = procurement.UnitPrice
		}
		perSeat, err := ParseAmount(amount)
		if err != nil {
			return nil, nil, err
		}
		start, ok := since[l.Application]
		if !ok {
			start = joined
		}
		items = append(items, Item{Kind: ItemSeats, Application: l.Application, Seats: l.Granted, Categories: categories[l.Application],
			Yearly: perSeat * Cents(l.Granted), Since: start, Procurement: procurement})
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].Kind != items[j].Kind {
			return order[items[i].Kind] < order[items[j].Kind]
		}
		return items[i].Application < items[j].Application
	})
	return items, warnings, nil
}

var order = map[ItemKind]int{ItemTier: 0, ItemApplication: 1, ItemSeats: 2}

// Yearly sums the yearly price of the items of one kind.
func Yearly(items []Item, kind ItemKind) Cents {
	var sum Cents
	for _, it := range items {
		if it.Kind == kind {
			sum += it.Yearly
		}
	}
	return sum
}
