package validation

import (
	"regexp"
	"strings"
	"testing"

	"github.com/crtpl/mutualis/api/registry"
)

// NIS never panics, accepts exactly the five-digit format, and with the registry only codes the
// registry knows.
func FuzzNIS(f *testing.F) {
	for _, seed := range []string{"62063", "06206", "6206", "99999", "62063 ", "٦٢٠٦٣", "57096", "", "1234567890"} {
		f.Add(seed)
	}
	format := regexp.MustCompile(`^[1-9][0-9]{4}$`)
	f.Fuzz(func(t *testing.T, nis string) {
		if err := NIS(nis, false); (err == nil) != format.MatchString(nis) {
			t.Fatalf("NIS(%q) = %v, but the format says %v", nis, err, format.MatchString(nis))
		}
		if err := NIS(nis, true); err == nil {
			if e, ok := registry.Lookup(nis); !ok || e.NIS != nis {
				t.Fatalf("NIS(%q) accepted with the registry, which does not know it", nis)
			}
		}
	})
}

// EnterpriseNumber never panics; what it accepts is ten digits with the mod-97 check, in whatever
// formatting, and the formatting does not change the verdict.
func FuzzEnterpriseNumber(f *testing.F) {
	for _, seed := range []string{"0841.470.248", "BE0841470248", "0841470247", "2841470248", "be 0841-470-248", "", "0000000097", "1.2.3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := EnterpriseNumber(s)
		if err != nil {
			return
		}
		n := NormalizeEnterpriseNumber(s)
		if len(n) != 10 || strings.Trim(n, "0123456789") != "" {
			t.Fatalf("%q accepted as %q, which is not ten digits", s, n)
		}
		dotted := n[:4] + "." + n[4:7] + "." + n[7:]
		if err := EnterpriseNumber("BE" + dotted); err != nil {
			t.Fatalf("%q is accepted but its formatted form %q is not: %v", s, dotted, err)
		}
	})
}

// The domain functions never panic, overlap is symmetric, and every overlap is reachable through
// the index the operator keeps.
func FuzzDomainsOverlap(f *testing.F) {
	f.Add("liege.be", "*.liege.be")
	f.Add("*.a.b", "x.a.b")
	f.Add("*.", "*")
	f.Add("", ".")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := DomainsOverlap(a, b), DomainsOverlap(b, a)
		if ab != ba {
			t.Fatalf("DomainsOverlap is not symmetric for %q and %q", a, b)
		}
		if !ab {
			return
		}
		for _, key := range DomainLookupKeys(a) {
			for _, indexed := range DomainIndexKeys(b) {
				if key == indexed {
					return
				}
			}
		}
		t.Fatalf("%q and %q overlap but the index does not lead from one to the other", a, b)
	})
}
