// Package validation holds the domain checks that the operator and the kubectl plugin share: the
// NIS code, the BCE enterprise number and tenant names. The CRD schema enforces the same rules at
// admission; these functions give the same answers offline and name what is wrong.
package validation

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/crtpl/mutualis/api/registry"
)

var nisFormat = regexp.MustCompile(`^[1-9][0-9]{4}$`)

// NIS checks a commune's NIS code against the format and, when checkRegistry is set, the registry.
// A retired code is accepted; the caller reports its successor.
func NIS(nis string, checkRegistry bool) error {
	if !nisFormat.MatchString(nis) {
		return fmt.Errorf("NIS %q is not a five-digit Statbel code (such as 62063 for Liège)", nis)
	}
	if !checkRegistry {
		return nil
	}
	if _, ok := registry.Lookup(nis); !ok {
		return fmt.Errorf("NIS %s is not a Walloon commune: check the code against the registry", nis)
	}
	return nil
}

// NormalizeEnterpriseNumber removes the formatting of a BCE number: a BE prefix and dots, spaces or
// dashes.
func NormalizeEnterpriseNumber(s string) string {
	s = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "BE")
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', ' ', '-':
			return -1
		}
		return r
	}, s)
}

// EnterpriseNumber checks a BCE/KBO enterprise number: ten digits starting with 0 or 1 whose last
// two digits are 97 minus the first eight modulo 97.
func EnterpriseNumber(s string) error {
	n := NormalizeEnterpriseNumber(s)
	if len(n) != 10 || (n[0] != '0' && n[0] != '1') {
		return fmt.Errorf("enterprise number %q must have ten digits starting with 0 or 1, such as 0841.470.248", s)
	}
	body, err1 := strconv.Atoi(n[:8])
	check, err2 := strconv.Atoi(n[8:])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("enterprise number %q must contain only digits", s)
	}
	if want := 97 - body%97; check != want {
		return fmt.Errorf("enterprise number %q fails the BCE check: its last two digits should be %02d; copy the number from the Crossroads Bank for Enterprises", s, want)
	}
	return nil
}
