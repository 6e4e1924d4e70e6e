package validation

import (
	"fmt"
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Licence checks a catalogue entry's licence: spdx must be an expression of the SPDX licence list
// (deprecated identifiers refused), and an OpenSource application's licence must be on the list
// itself: a LicenseRef- is a licence of the publisher's own, which the Region's barometer cannot
// count as open source. An empty spdx is not checked (the model alone says what is billed).
func Licence(model v1alpha1.LicenceModel, spdx string) error {
	if spdx == "" {
		return nil
	}
	if ok, invalid := spdxexp.ValidateLicensesWithOptions([]string{spdx}, spdxexp.ValidateLicensesOptions{FailDeprecatedLicenses: true}); !ok {
		return fmt.Errorf("spdx %q is not an expression of the SPDX licence list (%s): write its identifier as spdx.org/licenses spells it, such as AGPL-3.0-only, or LicenseRef-<name> for a licence of the publisher's own",
			spdx, strings.Join(invalid, ", "))
	}
	if model == "" || model == v1alpha1.LicenceOpenSource {
		if strings.Contains(spdx, "LicenseRef-") || strings.Contains(spdx, "DocumentRef-") {
			return fmt.Errorf("spdx %q is a licence of the publisher's own, not an open-source licence of the SPDX list: name the application's licence, or set model PerSeat or PerInstance", spdx)
		}
	}
	return nil
}
