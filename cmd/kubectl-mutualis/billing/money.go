// Package billing owns what a tenant costs under the cell's price list, item by item and from the
// day each item began, and what a funding line pays of it (pro rata to the days subscribed, at the
// line's rate, within its lump sums and its allocation key). It is pure: the plugin reads the
// cluster and hands it the policy, the catalogue's expense categories and the tenants, so that
// every rule is a table test.
package billing

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Cents is an amount of money in hundredths, so that sums are exact.
type Cents int64

// ParseAmount reads an amount of the policy (1250, 12.5, 12.50); empty is zero.
func ParseAmount(a v1alpha1.Amount) (Cents, error) {
	if a == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(string(a), ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", a, err)
	}
	f := int64(0)
	if frac != "" {
		if len(frac) == 1 {
			frac += "0"
		}
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil || len(frac) != 2 {
			return 0, fmt.Errorf("amount %q has more than two decimals", a)
		}
	}
	return Cents(w*100 + f), nil
}

func (c Cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// roundHalfUp is an exact amount in cents rounded to the nearest cent, halves up.
func roundHalfUp(r *big.Rat) Cents {
	num := new(big.Int).Mul(r.Num(), big.NewInt(2))
	num.Add(num, r.Denom())
	den := new(big.Int).Mul(r.Denom(), big.NewInt(2))
	return Cents(new(big.Int).Div(num, den).Int64()) // Div rounds towards minus infinity
}

// percentOf is rate percent of c, rounded down: a line that pays "at most 75 %" never pays a
// cent more.
func percentOf(c Cents, rate int32) Cents { return c * Cents(rate) / 100 }

// shareOf is whole times part over total, rounded down.
func shareOf(whole Cents, part, total int64) Cents {
	if total <= 0 {
		return 0
	}
	r := new(big.Int).Mul(big.NewInt(int64(whole)), big.NewInt(part))
	return Cents(r.Div(r, big.NewInt(total)).Int64())
}
