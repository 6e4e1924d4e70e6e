package tenant

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// The network policies are checked for what they mean, not only for how they look: cyclonus's
// matcher evaluates traffic between pods against them the way a conforming network plugin does.
func TestNetworkPolicySemantics(t *testing.T) {
	policy := EffectivePolicy(nil)
	liege := resolved() // exposes 8080 to the ingress controller and its CPAS; egress to 192.0.2.0/24
	cpas := resolved(func(r *Resolved) {
		r.Kind, r.Name, r.Namespace = v1alpha1.KindCPAS, "liege", "cpas-liege"
		r.Partner = "commune-liege"
		r.ExposedPorts = []v1alpha1.ExposedPort{{Service: "files", Port: 80}}
		r.PartnerExposedPorts = liege.ExposedPorts
		r.Spec = &v1alpha1.TenantSpec{}
	})
	// liege and namur subscribe to the shared Jitsi; its CPAS does not
	jitsi := SharedAccess{Application: "jitsi", Namespace: "mutualis-app-jitsi", Ports: []v1alpha1.ExposedPort{{Service: "jitsi-web", Port: 80}}}
	liege.SharedInstances = []SharedAccess{jitsi}
	namur := resolved(func(r *Resolved) {
		r.Name, r.Namespace, r.Partner, r.PartnerExposedPorts = "namur", "commune-namur", "", nil
		r.Spec = &v1alpha1.TenantSpec{}
		r.SharedInstances = []SharedAccess{jitsi}
		r.ExternalEndpoints = nil
	})
	var policies []*networkingv1ac.NetworkPolicyApplyConfiguration
	for _, tenant := range []*Resolved{liege, cpas, namur} {
		policies = append(policies, NetworkPolicies(tenant, policy)...)
	}
	// the instance calls an approved endpoint of its own (the commune's Nextcloud calls another,
	// 203.0.113.0/24 on 443, in resolved())
	instanceEndpoint := ExternalAccess{Application: "jitsi", Endpoint: v1alpha1.Endpoint{Host: "api.example.be", Port: 8443}, CIDRs: []v1alpha1.CIDR{"203.0.113.128/25"}}
	policies = append(policies, InstanceNetworkPolicies(Instance{Application: "jitsi", Namespace: "mutualis-app-jitsi", Exposed: jitsi.Ports,
		ExternalEndpoints: []ExternalAccess{instanceEndpoint}}, policy)...)
	// the tenants' namespaces carry the labels their builder gives them
	namespaceLabels := map[string]map[string]string{}
	for _, tenant := range []*Resolved{liege, cpas, namur} {
		namespaceLabels[tenant.Namespace] = Namespace(tenant, policy).Labels
	}
	var all []*networkingv1.NetworkPolicy
	{
		for _, ac := range policies {
			raw, err := json.Marshal(ac)
			if err != nil {
				t.Fatal(err)
			}
			np := &networkingv1.NetworkPolicy{}
			if err := json.Unmarshal(raw, np); err != nil {
				t.Fatal(err)
			}
			all = append(all, np)
		}
	}
	engine := matcher.BuildNetworkPolicies(true, all)

	pod := func(ns string, nsLabels ...string) *matcher.TrafficPeer {
		labels := map[string]string{corev1.LabelMetadataName: ns}
		maps.Copy(labels, namespaceLabels[ns])
		for i := 0; i+1 < len(nsLabels); i += 2 {
			labels[nsLabels[i]] = nsLabels[i+1]
		}
		return &matcher.TrafficPeer{IP: "10.0.0.1", Internal: &matcher.InternalPeer{Namespace: ns, NamespaceLabels: labels, PodLabels: map[string]string{"app": "x"}}}
	}
	external := func(ip string) *matcher.TrafficPeer { return &matcher.TrafficPeer{IP: ip} }

	tests := []struct {
		name     string
		from, to *matcher.TrafficPeer
		port     int
		protocol corev1.Protocol
		allowed  bool
	}{
		{"same namespace, any port", pod("commune-liege"), pod("commune-liege"), 5432, corev1.ProtocolTCP, true},
		{"commune to its CPAS on an exposed port", pod("commune-liege"), pod("cpas-liege"), 80, corev1.ProtocolTCP, true},
		{"commune to its CPAS on another port", pod("commune-liege"), pod("cpas-liege"), 5432, corev1.ProtocolTCP, false},
		{"CPAS to its commune on an exposed port", pod("cpas-liege"), pod("commune-liege"), 8080, corev1.ProtocolTCP, true},
		{"CPAS to its commune on another port", pod("cpas-liege"), pod("commune-liege"), 5432, corev1.ProtocolTCP, false},
		{"another commune to the commune's exposed port", pod("commune-namur"), pod("commune-liege"), 8080, corev1.ProtocolTCP, false},
		{"the commune to another commune", pod("commune-liege"), pod("commune-namur"), 8080, corev1.ProtocolTCP, false},
		{"a forged tenant label does not make a partner", pod("evil", v1alpha1.LabelTenant, "cpas-liege"), pod("commune-liege"), 8080, corev1.ProtocolTCP, false},
		{"ingress controller to an exposed port", pod("ingress-nginx"), pod("commune-liege"), 8080, corev1.ProtocolTCP, true},
		{"ingress controller to another port", pod("ingress-nginx"), pod("commune-liege"), 5432, corev1.ProtocolTCP, false},
		{"DNS over UDP", pod("commune-liege"), pod("kube-system"), 53, corev1.ProtocolUDP, true},
		{"DNS over TCP", pod("commune-liege"), pod("kube-system"), 53, corev1.ProtocolTCP, true},
		{"kube-system on another port", pod("commune-liege"), pod("kube-system"), 443, corev1.ProtocolTCP, false},
		{"shared services", pod("commune-liege"), pod("mutualis-shared"), 25, corev1.ProtocolTCP, true},
		{"declared egress CIDR", pod("commune-liege"), external("192.0.2.10"), 443, corev1.ProtocolTCP, true},
		{"undeclared external address", pod("commune-liege"), external("198.51.100.7"), 443, corev1.ProtocolTCP, false},
		{"a tenant without egress CIDRs goes nowhere outside", pod("commune-namur"), external("192.0.2.10"), 443, corev1.ProtocolTCP, false},
		{"the outside cannot reach in", external("198.51.100.7"), pod("commune-liege"), 8080, corev1.ProtocolTCP, false},
		{"a subscriber to the shared instance's exposed port", pod("commune-liege"), pod("mutualis-app-jitsi"), 80, corev1.ProtocolTCP, true},
		{"another subscriber to the shared instance", pod("commune-namur"), pod("mutualis-app-jitsi"), 80, corev1.ProtocolTCP, true},
		{"a subscriber to another port of the instance", pod("commune-liege"), pod("mutualis-app-jitsi"), 5222, corev1.ProtocolTCP, false},
		{"a tenant that does not subscribe", pod("cpas-liege"), pod("mutualis-app-jitsi"), 80, corev1.ProtocolTCP, false},
		{"two subscribers do not reach each other", pod("commune-namur"), pod("commune-liege"), 8080, corev1.ProtocolTCP, false},
		{"the instance does not reach its subscribers", pod("mutualis-app-jitsi"), pod("commune-liege"), 8080, corev1.ProtocolTCP, false},
		{"a namespace mutualis does not manage, labelled as a subscriber", pod("evil", v1alpha1.InstanceSubscriberLabel("jitsi"), "true"), pod("mutualis-app-jitsi"), 80, corev1.ProtocolTCP, false},
		{"the ingress controller to the instance", pod("ingress-nginx"), pod("mutualis-app-jitsi"), 80, corev1.ProtocolTCP, true},
		{"an approved endpoint of the tenant's application", pod("commune-liege"), external("203.0.113.5"), 443, corev1.ProtocolTCP, true},
		{"the approved endpoint's network on another port", pod("commune-liege"), external("203.0.113.5"), 80, corev1.ProtocolTCP, false},
		{"the approved endpoint's port over UDP", pod("commune-liege"), external("203.0.113.5"), 443, corev1.ProtocolUDP, false},
		{"a tenant that runs no such application", pod("commune-namur"), external("203.0.113.5"), 443, corev1.ProtocolTCP, false},
		{"the instance's approved endpoint", pod("mutualis-app-jitsi"), external("203.0.113.200"), 8443, corev1.ProtocolTCP, true},
		{"a subscriber does not inherit the instance's endpoint", pod("commune-namur"), external("203.0.113.200"), 8443, corev1.ProtocolTCP, false},
	}
	for _, tt := range tests {
		got := engine.IsTrafficAllowed(&matcher.Traffic{Source: tt.from, Destination: tt.to, ResolvedPort: tt.port, Protocol: tt.protocol}).IsAllowed()
		if got != tt.allowed {
			t.Errorf("%s: allowed=%v, want %v", tt.name, got, tt.allowed)
		}
	}
}
