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

// Domains a tenant may publish ------------------------------------------------------------------

// DomainsOverlap says whether two domain entries can name the same host: equal entries, or a
// wildcard (*.liege.be, one label) and a host directly under it (www.liege.be).
func DomainsOverlap(a, b string) bool {
	if a == b {
		return true
	}
	return wildcardCovers(a, b) || wildcardCovers(b, a)
}

func wildcardCovers(wildcard, host string) bool {
	parent, ok := strings.CutPrefix(wildcard, "*.")
	if !ok || parent == "" || strings.HasPrefix(host, "*.") {
		return false
	}
	suffix := "." + parent
	label, found := strings.CutSuffix(host, suffix)
	return found && label != "" && !strings.Contains(label, ".")
}

// DomainIndexKeys are the keys under which a tenant holding a domain is indexed, so that its rivals
// find it with DomainLookupKeys: the entry itself, and for a host the parent that a wildcard names.
func DomainIndexKeys(d string) []string {
	if strings.HasPrefix(d, "*.") {
		return []string{d}
	}
	keys := []string{d}
	if _, parent, ok := strings.Cut(d, "."); ok {
		keys = append(keys, "under:"+parent)
	}
	return keys
}

// DomainLookupKeys are the index keys of the tenants whose domains may overlap d.
func DomainLookupKeys(d string) []string {
	if parent, ok := strings.CutPrefix(d, "*."); ok {
		return []string{d, "under:" + parent}
	}
	keys := []string{d}
	if _, parent, ok := strings.Cut(d, "."); ok {
		keys = append(keys, "*."+parent)
	}
	return keys
}

// DefaultDomain is the domain of a tenant that declares none: its name under the cell's base
// domain, after the prefix of its kind (cpas-<name> for a CPAS, province-<name> for a Province,
// so that a commune, its CPAS and its province do not share one); empty without a base domain.
func DefaultDomain(labelPrefix, name, baseDomain string) string {
	if baseDomain == "" {
		return ""
	}
	return labelPrefix + name + "." + baseDomain
}

// DeclaredDomain checks a domain that a tenant declares itself: the cell's base domain and
// everything under it are the cell's to allocate.
func DeclaredDomain(d, baseDomain string) error {
	if baseDomain == "" {
		return nil
	}
	host := strings.TrimPrefix(d, "*.")
	if host == baseDomain || strings.HasSuffix(host, "."+baseDomain) {
		return fmt.Errorf("domain %s lies under the cell's base domain %s, which mutualis allocates itself (this tenant's default is its name under it): remove it from spec.domains", d, baseDomain)
	}
	return nil
}

// HostOfDomains says whether a tenant may publish host: it is one of its domains, or one label
// under one of its wildcards. It is the rule of the admission policy mutualis-tenant-ingresses,
// which the operator applies again when a tenant's domains change.
func HostOfDomains(host string, domains []string) bool {
	for _, d := range domains {
		if host == d || wildcardCovers(d, host) {
			return true
		}
	}
	return false
}

// ExternalNameNamespace is the namespace an ExternalName Service points into, when its target is
// a Service of the cluster (<service>.<namespace>.svc or <service>.<namespace>.svc.cluster.local,
// as the admission policy mutualis-tenant-services requires); empty otherwise.
func ExternalNameNamespace(target string) string {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(target, ".")), ".")
	switch {
	case len(labels) == 3 && labels[2] == "svc",
		len(labels) == 5 && labels[2] == "svc" && labels[3] == "cluster" && labels[4] == "local":
		return labels[1]
	}
	return ""
}
