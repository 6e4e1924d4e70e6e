package tenant

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// An application's external endpoints are opened only as the cell approved them: with networks,
// directly; without, through the egress proxy; not at all when not approved, or when the
// approval's network touches the cluster's own (the policy's clusterCIDRs bind the cell too).
func TestApproveEndpoints(t *testing.T) {
	endpoint := func(host string, port int32, protocol string) v1alpha1.Endpoint {
		return v1alpha1.Endpoint{Host: v1alpha1.Domain(host), Port: port, Protocol: corev1.Protocol(protocol)}
	}
	app := &v1alpha1.SharedApplication{}
	app.Name = "iadelib"
	app.Spec.ExternalEndpoints = []v1alpha1.ExternalEndpoint{
		{Endpoint: endpoint("api.bcss.fgov.be", 443, ""), Recipient: "Banque-Carrefour de la Sécurité Sociale"},
		{Endpoint: endpoint("deliberations.imio.be", 443, "TCP"), Recipient: "iMio"},
		{Endpoint: endpoint("ntp.example.be", 123, "UDP"), Recipient: "time"},
		{Endpoint: endpoint("ldap.example.be", 636, ""), Recipient: "the commune's directory"},
		{Endpoint: endpoint("smtp.example.be", 587, ""), Recipient: "relay"},
	}
	policy := EffectivePolicy(nil)
	policy.Network.ExternalEndpoints = []v1alpha1.ApprovedEndpoint{
		// the schema defaults protocol to TCP; an empty one here is TCP too
		{Endpoint: endpoint("api.bcss.fgov.be", 443, "TCP"), CIDRs: []v1alpha1.CIDR{"193.191.0.0/20"}},
		{Endpoint: endpoint("deliberations.imio.be", 443, "")},
		// approved on TCP: the application's UDP is another endpoint
		{Endpoint: endpoint("ntp.example.be", 123, "TCP"), CIDRs: []v1alpha1.CIDR{"192.0.2.0/24"}},
		// a private network: the cluster's own by the default clusterCIDRs
		{Endpoint: endpoint("ldap.example.be", 636, ""), CIDRs: []v1alpha1.CIDR{"10.20.0.0/16"}},
	}
	got := ApproveEndpoints(app, policy)
	if len(got.Direct) != 1 || got.Direct[0].Endpoint.Host != "api.bcss.fgov.be" || got.Direct[0].CIDRs[0] != "193.191.0.0/20" || got.Direct[0].Application != "iadelib" {
		t.Errorf("direct %+v; want the BCSS on its network", got.Direct)
	}
	if len(got.Proxied) != 1 || got.Proxied[0].Host != "deliberations.imio.be" {
		t.Errorf("proxied %+v; want iMio's host through the proxy", got.Proxied)
	}
	var waiting []string
	for _, e := range got.Waiting {
		waiting = append(waiting, EndpointString(e))
	}
	if strings.Join(waiting, ",") != "ntp.example.be:123/UDP,smtp.example.be:587/TCP" {
		t.Errorf("waiting %v; want the UDP time server and the unapproved relay", waiting)
	}
	if len(got.Refused) != 1 || !strings.Contains(got.Refused[0], "ldap.example.be:636/TCP") || !strings.Contains(got.Refused[0], "10.0.0.0/8") {
		t.Errorf("refused %v; want the directory in the cluster's private range", got.Refused)
	}
}
