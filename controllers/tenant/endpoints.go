package tenant

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/api/validation"
)

// NetpolExternalEndpoints opens the approved external endpoints of the applications a namespace
// runs, on their networks and ports only.
const NetpolExternalEndpoints = "mutualis-external-endpoints"

// ExternalAccess is an approved endpoint that an application of a namespace reaches directly.
type ExternalAccess struct {
	Application string
	Endpoint    v1alpha1.Endpoint
	CIDRs       []v1alpha1.CIDR
}

// Endpoints is what the policy makes of an application's external endpoints.
type Endpoints struct {
	// Direct are approved with networks: the namespace's network policy opens them.
	Direct []ExternalAccess
	// Proxied are approved without networks: reached through the cell's egress proxy.
	Proxied []v1alpha1.Endpoint
	// Waiting are not approved; Refused are approved with a network that touches the cluster's
	// own, which is never opened (the reason).
	Waiting []v1alpha1.Endpoint
	Refused []string
}

// EndpointString is host:port/protocol.
func EndpointString(e v1alpha1.Endpoint) string {
	return fmt.Sprintf("%s:%d/%s", e.Host, e.Port, protocolOf(e))
}

func protocolOf(e v1alpha1.Endpoint) corev1.Protocol {
	if e.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return e.Protocol
}

func sameEndpoint(a, b v1alpha1.Endpoint) bool {
	return strings.EqualFold(string(a.Host), string(b.Host)) && a.Port == b.Port && protocolOf(a) == protocolOf(b)
}

// ApproveEndpoints matches the endpoints an application declares with the ones the policy
// approves. An approval whose network touches the cluster's own networks opens nothing: the
// policy's clusterCIDRs hold for the cell's approvals as for a tenant's egressCIDRs.
func ApproveEndpoints(app *v1alpha1.SharedApplication, policy v1alpha1.TenancyPolicySpec) Endpoints {
	var out Endpoints
	cluster := make([]string, 0, len(policy.Network.ClusterCIDRs))
	for _, c := range policy.Network.ClusterCIDRs {
		cluster = append(cluster, string(c))
	}
	for _, wanted := range app.Spec.ExternalEndpoints {
		var approval *v1alpha1.ApprovedEndpoint
		for i := range policy.Network.ExternalEndpoints {
			if sameEndpoint(policy.Network.ExternalEndpoints[i].Endpoint, wanted.Endpoint) {
				approval = &policy.Network.ExternalEndpoints[i]
				break
			}
		}
		switch {
		case approval == nil:
			out.Waiting = append(out.Waiting, wanted.Endpoint)
		case len(approval.CIDRs) == 0:
			out.Proxied = append(out.Proxied, wanted.Endpoint)
		default:
			var problems []string
			for _, c := range approval.CIDRs {
				if err := validation.EgressCIDR(string(c), cluster); err != nil {
					problems = append(problems, err.Error())
				}
			}
			if len(problems) > 0 {
				out.Refused = append(out.Refused, fmt.Sprintf("%s: %s", EndpointString(wanted.Endpoint), strings.Join(problems, "; ")))
				continue
			}
			out.Direct = append(out.Direct, ExternalAccess{Application: app.Name, Endpoint: wanted.Endpoint, CIDRs: approval.CIDRs})
		}
	}
	return out
}

// externalEndpointsSpec opens each endpoint's networks on its port and protocol, in a stable
// order, so that the desired policy does not change with the order of the subscriptions.
func externalEndpointsSpec(spec *networkingv1ac.NetworkPolicySpecApplyConfiguration, access []ExternalAccess) *networkingv1ac.NetworkPolicySpecApplyConfiguration {
	sorted := make([]ExternalAccess, len(access))
	copy(sorted, access)
	sort.SliceStable(sorted, func(i, j int) bool {
		return EndpointString(sorted[i].Endpoint) < EndpointString(sorted[j].Endpoint)
	})
	seen := map[string]bool{}
	for _, a := range sorted {
		key := EndpointString(a.Endpoint) + fmt.Sprint(a.CIDRs)
		if seen[key] {
			continue // two applications calling the same endpoint: one rule
		}
		seen[key] = true
		rule := networkingv1ac.NetworkPolicyEgressRule().WithPorts(networkingv1ac.NetworkPolicyPort().
			WithProtocol(protocolOf(a.Endpoint)).WithPort(intstr.FromInt32(a.Endpoint.Port)))
		for _, c := range a.CIDRs {
			rule.WithTo(networkingv1ac.NetworkPolicyPeer().WithIPBlock(networkingv1ac.IPBlock().WithCIDR(string(c))))
		}
		spec.WithEgress(rule)
	}
	return spec
}
