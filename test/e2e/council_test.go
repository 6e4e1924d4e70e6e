package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
	"github.com/crtpl/mutualis/controllers/token"
)

// A shared council-room service, as the catalogue's Jitsi is, that also calls a federal API: on the
// cluster, each commune's IT people read their own room token and no one else's, and a hostile
// tenant admin can neither forge, swap nor delete the token, nor widen the egress the cell
// approved, nor open that API's network to its own pods; the approved network is open to the
// instance's namespace only, on its port.
func TestCouncilRoomsAndEndpointsAsTheCommunesPeopleMeetThem(t *testing.T) {
	ctx := context.Background()
	bcss := v1alpha1.Endpoint{Host: "api.ksz-bcss.fgov.be", Port: 443, Protocol: corev1.ProtocolTCP}
	policy := &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.TenancyPolicyName},
		Spec: v1alpha1.TenancyPolicySpec{Network: v1alpha1.PolicyNetwork{ExternalEndpoints: []v1alpha1.ApprovedEndpoint{
			{Endpoint: bcss, CIDRs: []v1alpha1.CIDR{"193.191.208.0/20"}},
		}}}}
	create(t, policy)
	t.Cleanup(func() { _ = k8s.Delete(ctx, policy) })

	const name, instance = "salle", "mutualis-app-salle"
	app := deploymentApp(name, "nginxinc/nginx-unprivileged:1.26", restricted)
	app.Spec.Instance = v1alpha1.InstanceShared
	app.Spec.SharedInstance = v1alpha1.SharedInstanceSpec{
		GeneratedSecrets: []v1alpha1.GeneratedSecret{{Name: "salle-credentials", Keys: []string{"signing"}}},
		SubscriberTokens: &v1alpha1.SubscriberTokens{SigningSecret: v1alpha1.SecretKey{Name: "salle-credentials", Key: "signing"}, Issuer: "mutualis"},
	}
	app.Spec.ExternalEndpoints = []v1alpha1.ExternalEndpoint{{Endpoint: bcss, Recipient: "Banque-Carrefour de la Sécurité Sociale"}}
	create(t, app)
	t.Cleanup(func() { _ = k8s.Delete(ctx, app) })

	commune := func(name, nis string) *v1alpha1.Commune {
		return &v1alpha1.Commune{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.CommuneSpec{NIS: nis,
			TenantSpec: v1alpha1.TenantSpec{
				Admins:       []rbacv1.Subject{{Kind: "Group", Name: name + "-it", APIGroup: rbacv1.GroupName}},
				Applications: []v1alpha1.ApplicationSubscription{{Name: app.Name}},
			}}}
	}
	gembloux, sambreville := commune("gembloux", "92142"), commune("sambreville", "92137")
	for _, c := range []*v1alpha1.Commune{gembloux, sambreville} {
		create(t, c)
		t.Cleanup(func() { _ = k8s.Delete(ctx, c) })
	}
	for _, c := range []*v1alpha1.Commune{gembloux, sambreville} {
		eventually(t, 3*time.Minute, ready(c))
	}
	gemblouxIT := persona{"it@gembloux.be", "gembloux-it"}
	hostile := persona{"it@sambreville.be", "sambreville-it"}
	secret := token.SecretName(name)

	// the commune's IT person reads its token, whose subject is its own namespace
	out, errOut, err := gemblouxIT.run("get", "secret", secret, "-n", gembloux.TenantNamespace(), "-o", "jsonpath={.data.token}")
	if err != nil {
		t.Fatalf("gembloux's IT reads its token: %v: %s", err, errOut)
	}
	if subject := tokenSubject(t, out); subject != gembloux.TenantNamespace() {
		t.Errorf("gembloux's token is for %q", subject)
	}

	// the hostile admin of sambreville
	for _, try := range []struct {
		args []string
		want string
	}{
		// reads gembloux's token, or the instance's signing key
		{[]string{"get", "secret", secret, "-n", gembloux.TenantNamespace()}, "forbidden"},
		{[]string{"get", "secret", "salle-credentials", "-n", instance}, "forbidden"},
		// swaps, deletes or forges its own token
		{[]string{"patch", "secret", secret, "-n", sambreville.TenantNamespace(), "--type=merge", "-p", `{"stringData":{"token":"forged"}}`}, "belong to the cell"},
		{[]string{"delete", "secret", secret, "-n", sambreville.TenantNamespace()}, "belong to the cell"},
		{[]string{"create", "secret", "generic", token.SecretName("jitsi"), "-n", sambreville.TenantNamespace(), "--from-literal=token=forged"}, "belong to the cell"},
		// widens the cell's egress, or opens the federal API to its own pods
		{[]string{"patch", "networkpolicy", tenant.NetpolExternalEndpoints, "-n", sambreville.TenantNamespace(), "--type=merge",
			"-p", `{"spec":{"egress":[{"to":[{"ipBlock":{"cidr":"0.0.0.0/0"}}]}]}}`}, "belong to the cell"},
		{[]string{"create", "-n", sambreville.TenantNamespace(), "-f", "-"}, "may allow egress only to pods of its own namespace"},
	} {
		args := try.args
		var stdin string
		if args[len(args)-1] == "-" {
			stdin = `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"to-bcss"},"spec":{"podSelector":{},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"193.191.208.0/20"}}],"ports":[{"port":443}]}]}}`
		}
		_, errOut, err := hostile.runWithInput(stdin, args...)
		if err == nil || !strings.Contains(errOut, try.want) {
			t.Errorf("kubectl %s as sambreville's admin: err=%v, %s; want %q", strings.Join(args, " "), err, errOut, try.want)
		}
	}
	// sambreville's token is still the operator's: signed for sambreville
	live := &corev1.Secret{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: sambreville.TenantNamespace(), Name: secret}, live); err != nil {
		t.Fatal(err)
	}
	if subject := tokenSubject(t, base64.StdEncoding.EncodeToString(live.Data["token"])); subject != sambreville.TenantNamespace() {
		t.Errorf("sambreville's token is for %q after its admin's tries", subject)
	}

	// the federal API: open, on its port, to the namespace that runs the service, and only there
	egressTo := func(namespace string) (cidrs []string, err error) {
		np := &networkingv1.NetworkPolicy{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: tenant.NetpolExternalEndpoints}, np); err != nil {
			return nil, err
		}
		for _, rule := range np.Spec.Egress {
			for _, peer := range rule.To {
				if peer.IPBlock != nil {
					for _, p := range rule.Ports {
						cidrs = append(cidrs, fmt.Sprintf("%s:%s", peer.IPBlock.CIDR, p.Port.String()))
					}
				}
			}
		}
		return cidrs, nil
	}
	eventually(t, time.Minute, func() error {
		cidrs, err := egressTo(instance)
		if err != nil || len(cidrs) != 1 || cidrs[0] != "193.191.208.0/20:443" {
			return fmt.Errorf("the instance's egress to the federal API: %v %v", cidrs, err)
		}
		return nil
	})
	for _, c := range []*v1alpha1.Commune{gembloux, sambreville} {
		if cidrs, err := egressTo(c.TenantNamespace()); err != nil || len(cidrs) != 0 {
			t.Errorf("%s, which runs nothing of the service, may reach %v (%v)", c.Name, cidrs, err)
		}
	}
}

// tokenSubject is the subject of a JWT read base64-encoded from a Secret's data.
func tokenSubject(t *testing.T, encoded string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		t.Fatalf("the token is not base64: %v", err)
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 {
		t.Fatalf("the token is no JWT: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Subject string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Subject
}
