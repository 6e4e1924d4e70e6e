package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// EgressAllowlist is the ConfigMap of the shared-services namespace from which the cell's egress
// proxy reads the host names it may reach: keys hosts (one per line, as squid's dstdomain and
// most proxies read them) and endpoints.json (host, port, protocol).
const EgressAllowlist = "mutualis-egress-allowlist"

// egressAllowlist is the allow-list of the policy's endpoints approved without networks. It
// depends on the policy alone, so that every catalogue entry that writes it writes the same.
func egressAllowlist(policy v1alpha1.TenancyPolicySpec) *corev1ac.ConfigMapApplyConfiguration {
	var endpoints []v1alpha1.Endpoint
	hosts := map[string]bool{}
	for _, a := range policy.Network.ExternalEndpoints {
		if len(a.CIDRs) > 0 {
			continue
		}
		e := a.Endpoint
		if e.Protocol == "" {
			e.Protocol = corev1.ProtocolTCP
		}
		endpoints = append(endpoints, e)
		hosts[strings.ToLower(string(e.Host))] = true
	}
	sort.Slice(endpoints, func(i, j int) bool {
		return tenant.EndpointString(endpoints[i]) < tenant.EndpointString(endpoints[j])
	})
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	raw, _ := json.Marshal(endpoints) // a slice of plain structs always marshals
	if endpoints == nil {
		raw = []byte("[]")
	}
	ns := policy.Network.SharedServicesNamespace
	return corev1ac.ConfigMap(EgressAllowlist, ns).
		WithLabels(map[string]string{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}).
		WithData(map[string]string{"hosts": strings.Join(names, "\n"), "endpoints.json": string(raw)})
}

// reconcileEndpoints says which of the entry's external endpoints the cell approved, and tells the
// egress proxy the host names approved without networks. The network policies of the namespaces
// that run the application open the others (tenant.ApproveEndpoints).
func (r *SharedApplicationReconciler) reconcileEndpoints(ctx context.Context, app *v1alpha1.SharedApplication, policy v1alpha1.TenancyPolicySpec) (*metav1.Condition, error) {
	if len(app.Spec.ExternalEndpoints) == 0 {
		return nil, nil
	}
	decided := tenant.ApproveEndpoints(app, policy)
	cond := &metav1.Condition{Type: v1alpha1.ConditionEndpointsApproved, ObservedGeneration: app.Generation}
	var said []string
	if len(decided.Direct) > 0 {
		var direct []string
		for _, d := range decided.Direct {
			direct = append(direct, tenant.EndpointString(d.Endpoint))
		}
		said = append(said, "open on their networks: "+strings.Join(direct, ", "))
	}
	if len(decided.Proxied) > 0 {
		var proxied []string
		for _, e := range decided.Proxied {
			proxied = append(proxied, tenant.EndpointString(e))
		}
		ns := policy.Network.SharedServicesNamespace
		if _, err := apply.Typed(ctx, r.Client, egressAllowlist(policy), &corev1.ConfigMap{}); apierrors.IsNotFound(err) {
			said = append(said, fmt.Sprintf("approved through the egress proxy but the shared-services namespace %s does not exist, so nothing tells the proxy: %s", ns, strings.Join(proxied, ", ")))
			decided.Refused = append(decided.Refused, "the egress proxy's namespace "+ns+" is missing")
		} else if err != nil {
			return nil, fmt.Errorf("writing the egress proxy's allow-list in %s: %w", ns, err)
		} else {
			said = append(said, fmt.Sprintf("through the egress proxy of %s (ConfigMap %s): %s", ns, EgressAllowlist, strings.Join(proxied, ", ")))
		}
	}
	if len(decided.Waiting) > 0 {
		var waiting []string
		for _, e := range decided.Waiting {
			waiting = append(waiting, tenant.EndpointString(e))
		}
		said = append(said, "closed until the cell approves them in the TenancyPolicy's spec.network.externalEndpoints (with the networks of their addresses, or without to go through the egress proxy): "+strings.Join(waiting, ", "))
	}
	if len(decided.Refused) > 0 {
		said = append(said, "closed, the approval cannot be used: "+strings.Join(decided.Refused, "; "))
	}
	cond.Status, cond.Reason = metav1.ConditionTrue, v1alpha1.ReasonEndpointsApproved
	if len(decided.Waiting)+len(decided.Refused) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, v1alpha1.ReasonEndpointsWaiting
	}
	cond.Message = "external endpoints " + strings.Join(said, "; ")
	return cond, nil
}
