package validation

import (
	"fmt"
	"net/netip"
)

// EgressCIDR checks a network a tenant asks to reach against the cluster's own networks: it may
// neither cover one of them (0.0.0.0/0 covers them all) nor lie inside one, since a tenant reaches
// the cluster only through the tenant contract. Both are in CIDR notation; an unparsable cluster
// network is skipped (the CRD schema refuses it), an unparsable egress network is an error.
func EgressCIDR(egress string, cluster []string) error {
	e, err := netip.ParsePrefix(egress)
	if err != nil {
		return fmt.Errorf("egress network %q is not in CIDR notation, such as 192.0.2.0/24", egress)
	}
	e = e.Masked()
	for _, c := range cluster {
		p, err := netip.ParsePrefix(c)
		if err != nil || p.Addr().Is4() != e.Addr().Is4() {
			continue
		}
		if p = p.Masked(); e.Overlaps(p) {
			return fmt.Errorf("egress network %s overlaps %s, one of the cluster's own networks (pods, Services, nodes, the API server or cloud metadata): a tenant reaches the cluster only through the tenant contract; name the exact outside network instead, or ask the cell to narrow the TenancyPolicy's spec.network.clusterCIDRs", egress, c)
		}
	}
	return nil
}
