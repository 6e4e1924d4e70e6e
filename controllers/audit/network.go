package audit

import (
	"sort"
	"strconv"
	"strings"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probePort is a port that no rule of the tenant contract names: a rule that lets it through lets
// every port through.
const probePort = 65000

// port is one destination port of the traffic the check tries.
type port struct {
	number   int
	name     string
	protocol corev1.Protocol
}

func (p port) String() string {
	s := p.name
	if s == "" {
		s = strconv.Itoa(p.number)
	}
	return s + "/" + string(p.protocol)
}

// checkConnectivity evaluates the tenant's own network policies, all of them as they are on the
// cluster, with cyclonus's matcher (the semantics of a conforming network plugin): no other tenant
// may reach into the namespace, and the tenant may reach no other tenant, except its partner on the
// ports the other side's Services expose. The tenant's policies alone must isolate it: what the
// other side's policies add is that side's audit.
//
// Tenants are many and the policies select namespaces by a handful of selectors, so the peers are
// grouped by which of those selectors match them (the partner always alone), and one peer of each
// group is tried on every port a rule names and on a probe port no rule names.
func checkConnectivity(out *findings, in Inputs) {
	if in.Namespace == nil || len(in.NetworkPolicies) == 0 {
		return // NetworkPolicyMissing says it, once per policy
	}
	var nps []*networkingv1.NetworkPolicy
	for i := range in.NetworkPolicies {
		nps = append(nps, &in.NetworkPolicies[i])
	}
	engine := matcher.BuildNetworkPolicies(true, nps)
	sel := collectSelectors(nps)

	type group struct {
		peer   Peer
		others int
	}
	groups := map[string]*group{}
	var keys []string
	peers := append([]Peer(nil), in.Peers...)
	sort.Slice(peers, func(i, j int) bool { return peers[i].Namespace < peers[j].Namespace })
	for _, p := range peers {
		if p.Namespace == in.Subject.Namespace {
			continue
		}
		key := sel.signature(peerLabels(p))
		if p.Namespace == in.Subject.Partner {
			key = "partner"
		}
		if _, subscribed := in.InstanceServices[p.Namespace]; subscribed {
			key = "instance:" + p.Namespace // each subscribed instance alone, with its own ports
		}
		if g, ok := groups[key]; ok {
			g.others++
			continue
		}
		groups[key] = &group{peer: p}
		keys = append(keys, key)
	}
	sort.Strings(keys)

	own := exposedPorts(in.Services)
	partner := exposedPorts(in.PartnerServices)
	ownPods := podLabelSets(in.Pods, nil)
	for _, key := range keys {
		g := groups[key]
		isPartner := key == "partner"
		// egress to a shared instance the tenant subscribes to, on the ports its Services lead to,
		// is the subscription; anything more, or anything into the tenant, is a finding
		instancePorts := map[string]bool{}
		if strings.HasPrefix(key, "instance:") {
			instancePorts = exposedPorts(in.InstanceServices[g.peer.Namespace])
		}
		peerObj := "Namespace/" + g.peer.Namespace
		others := strconv.Itoa(g.others)
		peer := func(pod map[string]string) *matcher.TrafficPeer {
			return &matcher.TrafficPeer{IP: "10.0.0.2", Internal: &matcher.InternalPeer{
				Namespace: g.peer.Namespace, NamespaceLabels: nsLabels(g.peer), PodLabels: pod}}
		}
		self := func(pod map[string]string) *matcher.TrafficPeer {
			return &matcher.TrafficPeer{IP: "10.0.0.1", Internal: &matcher.InternalPeer{
				Namespace: in.Subject.Namespace, NamespaceLabels: nsLabels(Peer{in.Subject.Namespace, in.Namespace.Labels}), PodLabels: pod}}
		}
		// into the tenant, then out of it
		for _, dir := range []struct {
			field        string
			exposed      map[string]bool
			fromPods     []map[string]string
			toPods       []map[string]string
			from, to     func(map[string]string) *matcher.TrafficPeer
			check        Check
			partnerCheck string
		}{
			{"ingress", own, sel.podLabels, ownPods, peer, self, CheckTenantReachable, "in"},
			{"egress", partner, ownPods, sel.podLabels, self, peer, CheckReachesTenant, "out"},
		} {
			var open []string
			for _, pt := range sel.ports {
				if isPartner && dir.exposed[pt.key()] {
					continue
				}
				if dir.field == "egress" && instancePorts[pt.key()] {
					continue
				}
				if allowedAny(engine, dir.fromPods, dir.toPods, dir.from, dir.to, pt) {
					open = append(open, pt.String())
				}
			}
			if len(open) == 0 {
				continue
			}
			ports := strings.Join(open, ", ")
			if isPartner {
				out.add(CheckPartnerPortOpen, High, peerObj, dir.field, g.peer.Namespace, ports, dir.partnerCheck)
			} else {
				out.add(dir.check, High, peerObj, dir.field, g.peer.Namespace, others, ports)
			}
		}
	}
}

// peerLabels reads a peer's namespace labels with kubernetes.io/metadata.name, which the API server
// gives every namespace, without copying them: the grouping reads every tenant's at each audit.
type peerLabels Peer

func (p peerLabels) Has(key string) bool { _, found := p.Lookup(key); return found }

func (p peerLabels) Get(key string) string { v, _ := p.Lookup(key); return v }

func (p peerLabels) Lookup(key string) (string, bool) {
	if key == corev1.LabelMetadataName {
		return p.Namespace, true
	}
	v, found := p.Labels[key]
	return v, found
}

// nsLabels is a copy of a peer's namespace labels with kubernetes.io/metadata.name, for the one
// peer of each group that the matcher tries.
func nsLabels(p Peer) map[string]string {
	l := map[string]string{corev1.LabelMetadataName: p.Namespace}
	for k, v := range p.Labels {
		l[k] = v
	}
	return l
}

func allowedAny(engine *matcher.Policy, fromPods, toPods []map[string]string, from, to func(map[string]string) *matcher.TrafficPeer, pt port) bool {
	for _, fp := range fromPods {
		for _, tp := range toPods {
			t := &matcher.Traffic{Source: from(fp), Destination: to(tp), ResolvedPort: pt.number, ResolvedPortName: pt.name, Protocol: pt.protocol}
			if engine.IsTrafficAllowed(t).IsAllowed() {
				return true
			}
		}
	}
	return false
}

func (p port) key() string { return p.String() }

// exposedPorts are the pod ports that a namespace's Services lead to.
func exposedPorts(services []corev1.Service) map[string]bool {
	out := map[string]bool{}
	for _, s := range services {
		for _, sp := range s.Spec.Ports {
			proto := sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			target := sp.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(sp.Port)
			}
			if target.Type == intstr.String {
				out[port{name: target.StrVal, protocol: proto}.key()] = true
			} else {
				out[port{number: int(target.IntVal), protocol: proto}.key()] = true
			}
		}
	}
	return out
}

// podLabelSets are the distinct label sets of the pods, with the empty set (a new pod of a tenant
// admin) and the sets given.
func podLabelSets(pods []corev1.Pod, more []map[string]string) []map[string]string {
	seen := map[string]bool{}
	var out []map[string]string
	add := func(l map[string]string) {
		k := labels.Set(l).String()
		if !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	add(map[string]string{})
	for _, p := range pods {
		add(p.Labels)
	}
	for _, l := range more {
		add(l)
	}
	return out
}

// selectors are what the policies' rules name: namespace selectors, pod selectors and ports.
type selectors struct {
	namespaces []labels.Selector
	podLabels  []map[string]string
	ports      []port
}

func collectSelectors(nps []*networkingv1.NetworkPolicy) *selectors {
	s := &selectors{}
	seenNS, seenPort := map[string]bool{}, map[string]bool{}
	var pods []map[string]string
	addPeer := func(p networkingv1.NetworkPolicyPeer) {
		if p.NamespaceSelector != nil {
			if ls, err := metav1.LabelSelectorAsSelector(p.NamespaceSelector); err == nil && !seenNS[ls.String()] {
				seenNS[ls.String()] = true
				s.namespaces = append(s.namespaces, ls)
			}
		}
		if p.PodSelector != nil && len(p.PodSelector.MatchLabels) > 0 {
			pods = append(pods, p.PodSelector.MatchLabels)
		}
	}
	addPort := func(p port) {
		if !seenPort[p.key()] {
			seenPort[p.key()] = true
			s.ports = append(s.ports, p)
		}
	}
	addPorts := func(ps []networkingv1.NetworkPolicyPort) {
		for _, p := range ps {
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			switch {
			case p.Port == nil:
				addPort(port{number: probePort, protocol: proto})
			case p.Port.Type == intstr.String:
				addPort(port{name: p.Port.StrVal, protocol: proto})
			default:
				addPort(port{number: int(p.Port.IntVal), protocol: proto})
			}
		}
	}
	for _, np := range nps {
		for _, r := range np.Spec.Ingress {
			for _, p := range r.From {
				addPeer(p)
			}
			addPorts(r.Ports)
		}
		for _, r := range np.Spec.Egress {
			for _, p := range r.To {
				addPeer(p)
			}
			addPorts(r.Ports)
		}
	}
	addPort(port{number: probePort, protocol: corev1.ProtocolTCP})
	addPort(port{number: probePort, protocol: corev1.ProtocolUDP})
	sort.Slice(s.ports, func(i, j int) bool { return s.ports[i].key() < s.ports[j].key() })
	s.podLabels = podLabelSets(nil, pods)
	return s
}

// signature says which namespace selectors match the labels: peers of equal signature are the same
// to the policies.
func (s *selectors) signature(l labels.Labels) string {
	var b strings.Builder
	for _, ls := range s.namespaces {
		if ls.Matches(l) {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}
