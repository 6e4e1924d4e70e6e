package billing

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"time"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Period is a span of whole days, both ends included.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Days is the number of days of the period, none when it ends before it starts.
func (p Period) Days() int {
	if p.To.Before(p.From) {
		return 0
	}
	return int(p.To.Sub(p.From).Hours()/24) + 1
}

// intersect is the days two periods share.
func (p Period) intersect(o Period) Period {
	if o.From.After(p.From) {
		p.From = o.From
	}
	if o.To.Before(p.To) {
		p.To = o.To
	}
	return p
}

// proRata is a yearly price for the days of a period: each calendar year's days at that year's
// length, so that a leap year's day costs a 366th.
func proRata(yearly Cents, p Period) *big.Rat {
	sum := new(big.Rat)
	for from := p.From; !from.After(p.To); {
		endOfYear := time.Date(from.Year(), 12, 31, 0, 0, 0, 0, time.UTC)
		part := Period{From: from, To: p.To}.intersect(Period{From: from, To: endOfYear})
		yearLength := int64(Period{From: time.Date(from.Year(), 1, 1, 0, 0, 0, 0, time.UTC), To: endOfYear}.Days())
		sum.Add(sum, big.NewRat(int64(yearly)*int64(part.Days()), yearLength))
		from = endOfYear.AddDate(0, 0, 1)
	}
	return sum
}

// Beneficiary is a tenant as a funding line sees it.
type Beneficiary struct {
	Kind             string `json:"kind"`
	Name             string `json:"name"`
	DisplayName      string `json:"displayName"`
	EnterpriseNumber string `json:"enterpriseNumber,omitempty"`
	NIS              string `json:"nis,omitempty"`
	Tier             string `json:"tier"`
	// Population is the tenant's (a CPAS's is its commune's); 0 when unknown.
	Population int64 `json:"population,omitempty"`
	// Councillors is spec.councillors; 0 when the tenant has not declared it.
	Councillors int32  `json:"councillors,omitempty"`
	Items       []Item `json:"-"`
}

// Share is one item a line funds, for the days it counts.
type Share struct {
	Item Item `json:"item"`
	// From is the first day counted: the item's own, or the period's when the item began before.
	From     time.Time `json:"from"`
	Days     int       `json:"days"`
	Eligible Cents     `json:"eligible"`
}

// Limit is what bounds a beneficiary's subsidy.
type Limit string

const (
	LimitRate       Limit = "rate"
	LimitLumpSum    Limit = "lumpSum"
	LimitAllocation Limit = "allocation"
)

// Row is what a line pays one beneficiary.
type Row struct {
	Beneficiary
	Shares []Share `json:"shares"`
	// Days is the longest an item counted within the period.
	Days     int   `json:"days"`
	Eligible Cents `json:"eligible"`
	// AtRate is the line's rate of the eligible amount.
	AtRate Cents `json:"atRate"`
	// LumpSum is the cap of the beneficiary's category, nil when the line has none for it.
	LumpSum *Cents `json:"lumpSum,omitempty"`
	// Allocated is the beneficiary's share of the envelope by the line's key, nil without a key.
	Allocated *Cents `json:"allocated,omitempty"`
	Subsidy   Cents  `json:"subsidy"`
	// Limit says which of the rate, the lump sum and the allocation set the subsidy.
	Limit     Limit `json:"limit"`
	Remainder Cents `json:"remainder"`
}

// Funding is what a line pays the cell's tenants over a period.
type Funding struct {
	Line     v1alpha1.FundingLine `json:"line"`
	Period   Period               `json:"period"`
	Rows     []Row                `json:"rows"`
	Eligible Cents                `json:"eligible"`
	Subsidy  Cents                `json:"subsidy"`
	// Remainder is what the beneficiaries pay themselves.
	Remainder Cents    `json:"remainder"`
	Warnings  []string `json:"warnings,omitempty"`
}

// Fund works out what a funding line pays each beneficiary for the days of asked that fall in its
// own eligible period: for each item whose categories the line lists, its yearly price pro rata
// to the days it was due; the line's rate of their sum (rounded down), capped by the lump sum of
// the beneficiary's category and by its share of the envelope. Beneficiaries of another kind or
// tier, or with nothing eligible, get no row. The warnings say what the cell should complete.
func Fund(line v1alpha1.FundingLine, asked Period, beneficiaries []Beneficiary) (*Funding, error) {
	from, err := ParseDate(line.From)
	if err != nil {
		return nil, fmt.Errorf("funding line %s: from: %w", line.Name, err)
	}
	to, err := ParseDate(line.To)
	if err != nil {
		return nil, fmt.Errorf("funding line %s: to: %w", line.Name, err)
	}
	period := Period{From: from, To: to}.intersect(asked)
	f := &Funding{Line: line, Period: period}
	if period.Days() == 0 {
		return nil, fmt.Errorf("funding line %s runs from %s to %s: the period asked (%s to %s) has no day in it",
			line.Name, line.From, line.To, asked.From.Format(time.DateOnly), asked.To.Format(time.DateOnly))
	}
	envelope, err := ParseAmount(line.Envelope)
	if err != nil {
		return nil, fmt.Errorf("funding line %s: envelope: %w", line.Name, err)
	}
	for _, b := range beneficiaries {
		if (len(line.Kinds) > 0 && !slices.Contains(line.Kinds, b.Kind)) || (len(line.Tiers) > 0 && !slices.Contains(line.Tiers, b.Tier)) {
			continue
		}
		row := Row{Beneficiary: b, Limit: LimitRate}
		for _, it := range b.Items {
			if it.Yearly == 0 || !eligible(line, it) {
				continue
			}
			days := period.intersect(Period{From: it.Since, To: period.To})
			if days.Days() == 0 {
				continue
			}
			share := Share{Item: it, From: days.From, Days: days.Days(), Eligible: roundHalfUp(proRata(it.Yearly, days))}
			row.Shares = append(row.Shares, share)
			row.Eligible += share.Eligible
			row.Days = max(row.Days, share.Days)
		}
		if row.Eligible == 0 {
			continue
		}
		row.AtRate = percentOf(row.Eligible, line.RatePercent)
		row.Subsidy = row.AtRate
		if lump, ok, err := lumpSum(line, b); err != nil {
			return nil, err
		} else if ok {
			row.LumpSum = &lump
			if lump < row.Subsidy {
				row.Subsidy, row.Limit = lump, LimitLumpSum
			}
		}
		f.Rows = append(f.Rows, row)
	}
	if a := line.Allocation; a != nil {
		f.allocate(*a, envelope)
	}
	for i := range f.Rows {
		r := &f.Rows[i]
		r.Remainder = r.Eligible - r.Subsidy
		f.Eligible += r.Eligible
		f.Subsidy += r.Subsidy
		f.Remainder += r.Remainder
	}
	if envelope > 0 && f.Subsidy > envelope {
		f.Warnings = append(f.Warnings, fmt.Sprintf("funding line %s: the subsidies of the cell's tenants alone (%s) exceed the line's envelope (%s)", line.Name, f.Subsidy, envelope))
	}
	sort.SliceStable(f.Rows, func(i, j int) bool {
		if f.Rows[i].Name != f.Rows[j].Name {
			return f.Rows[i].Name < f.Rows[j].Name
		}
		return f.Rows[i].Kind > f.Rows[j].Kind // the Commune before its CPAS
	})
	return f, nil
}

// eligible is whether a line pays for an item: one of the item's categories is the line's.
func eligible(line v1alpha1.FundingLine, it Item) bool {
	for _, c := range it.Categories {
		if slices.Contains(line.Categories, c) {
			return true
		}
	}
	return false
}

// lumpSum is the cap of the first category of the line the beneficiary falls in.
func lumpSum(line v1alpha1.FundingLine, b Beneficiary) (Cents, bool, error) {
	for _, c := range line.Caps {
		if c.Kind != "" && c.Kind != b.Kind {
			continue
		}
		if c.MaxPopulation != nil && b.Population > int64(*c.MaxPopulation) {
			continue
		}
		amount, err := ParseAmount(c.Amount)
		if err != nil {
			return 0, false, fmt.Errorf("funding line %s: caps: %w", line.Name, err)
		}
		return amount, true, nil
	}
	return 0, false, nil
}

// allocate caps each row by its share of the envelope under the line's key.
func (f *Funding) allocate(a v1alpha1.FundingAllocation, envelope Cents) {
	key := func(r *Row) int64 {
		switch a.Key {
		case v1alpha1.AllocationByCouncillors:
			return int64(r.Councillors)
		case v1alpha1.AllocationByPopulation:
			return r.Population
		}
		return 1
	}
	var total int64
	if a.Total != nil {
		total = *a.Total
	} else {
		for i := range f.Rows {
			total += key(&f.Rows[i])
		}
		f.Warnings = append(f.Warnings, fmt.Sprintf("funding line %s shares its envelope by %s without allocation.total: each share is computed over the cell's tenants alone (%d), larger than the funder's over the whole Region",
			f.Line.Name, a.Key, total))
	}
	for i := range f.Rows {
		r := &f.Rows[i]
		k := key(r)
		if k == 0 {
			switch a.Key {
			case v1alpha1.AllocationByCouncillors:
				f.Warnings = append(f.Warnings, fmt.Sprintf("%s %s declares no spec.councillors: its share of funding line %s is nothing until it does", r.Kind, r.Name, f.Line.Name))
			case v1alpha1.AllocationByPopulation:
				f.Warnings = append(f.Warnings, fmt.Sprintf("%s %s has no known population: its share of funding line %s is nothing", r.Kind, r.Name, f.Line.Name))
			}
		}
		share := shareOf(envelope, k, total)
		r.Allocated = &share
		if share < r.Subsidy {
			r.Subsidy, r.Limit = share, LimitAllocation
		}
	}
}
