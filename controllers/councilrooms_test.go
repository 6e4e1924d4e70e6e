package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/token"
)

// A video bridge for remote council sittings, as the sample catalogue's Jitsi: the operator
// generates the instance's secrets, scales its bridge by subscribers, and gives each subscriber a
// token of its own, which opens its rooms and no other tenant's. Its IT people read their token;
// their neighbour's they cannot. A tenant that leaves loses its token; the cell's secrets stay.
func TestCouncilRoomsAreEachTenantsOwn(t *testing.T) {
	ctx := context.Background()
	app := sharedApp("seances")
	app.Spec.SharedInstance.Scaling = []v1alpha1.InstanceScaling{{Workload: "seances", SubscribersPerReplica: 1, MinReplicas: 1, MaxReplicas: 2}}
	app.Spec.SharedInstance.SubscriberTokens = &v1alpha1.SubscriberTokens{SigningSecret: v1alpha1.SecretKey{Name: "seances-credentials", Key: "jwt-app-secret"}, Issuer: "mutualis"}
	app.Spec.SharedInstance.GeneratedSecrets = []v1alpha1.GeneratedSecret{{Name: "seances-credentials", Keys: []string{"jwt-app-secret", "turn-secret"}}}
	const instance = "mutualis-app-seances"
	create(t, app)
	t.Cleanup(func() { _ = k8s.Delete(ctx, app) })

	subscribe := func(c *v1alpha1.Commune) { c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "seances"}} }
	sombreffe := newCommune("sombreffe", "92114", subscribe, func(c *v1alpha1.Commune) { c.Spec.Admins = itAdmins("sombreffe") })
	floreffe := newCommune("floreffe", "92045", subscribe)
	for _, c := range []*v1alpha1.Commune{sombreffe, floreffe} {
		create(t, c)
		t.Cleanup(func() { _ = k8s.Delete(ctx, c) })
	}

	// the instance's secrets, generated
	signing := &corev1.Secret{}
	eventually(t, wait, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: instance, Name: "seances-credentials"}, signing); err != nil {
			return err
		}
		for _, k := range []string{"jwt-app-secret", "turn-secret"} {
			if len(signing.Data[k]) < 32 {
				return fmt.Errorf("key %s holds %d bytes; want a generated value", k, len(signing.Data[k]))
			}
		}
		return nil
	})
	key := signing.Data["jwt-app-secret"]

	// the bridge: one replica per subscriber, at most two
	eventually(t, wait, func() error {
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: instance, Name: "seances"}, d); err != nil {
			return err
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			return fmt.Errorf("the bridge runs %v replicas for two subscribers; want 2", d.Spec.Replicas)
		}
		got := &v1alpha1.SharedApplication{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: "seances"}, got); err != nil {
			return err
		}
		if got.Status.Instance == nil || len(got.Status.Instance.Scaled) != 1 || got.Status.Instance.Scaled[0] != (v1alpha1.ScaledWorkload{Workload: "seances", Replicas: 2}) {
			return fmt.Errorf("status.instance.scaled %+v; want seances at 2", got.Status.Instance)
		}
		return nil
	})

	// each tenant's token: its own subject, signed with the generated key
	tokenOf := func(c *v1alpha1.Commune) func() (string, error) {
		return func() (string, error) {
			s := &corev1.Secret{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: c.TenantNamespace(), Name: token.SecretName("seances")}, s); err != nil {
				return "", err
			}
			return string(s.Data[token.KeyToken]), nil
		}
	}
	var sombreffeToken string
	eventually(t, wait, func() error {
		signed, err := tokenOf(sombreffe)()
		if err != nil {
			return err
		}
		expires, err := token.Verify(app.Spec.SharedInstance.SubscriberTokens, key, sombreffe.TenantNamespace(), signed, time.Now())
		if err != nil {
			return fmt.Errorf("Sombreffe's token: %w", err)
		}
		if left := time.Until(expires); left < 29*24*time.Hour {
			return fmt.Errorf("Sombreffe's token ends in %s; want 30 days", left)
		}
		sombreffeToken = signed
		return nil
	})
	if _, err := token.Verify(app.Spec.SharedInstance.SubscriberTokens, key, floreffe.TenantNamespace(), sombreffeToken, time.Now()); err == nil {
		t.Error("Sombreffe's token opens Floreffe's rooms")
	}
	eventually(t, wait, func() error { _, err := tokenOf(floreffe)(); return err })

	// its IT people read their token, never the neighbour's nor the signing secret
	it := []string{"sombreffe-it"}
	if !may(t, "anne", it, "get", "", "secrets", "", sombreffe.TenantNamespace()) {
		t.Error("Sombreffe's IT people cannot read their own token")
	}
	if may(t, "anne", it, "get", "", "secrets", "", floreffe.TenantNamespace()) || may(t, "anne", it, "get", "", "secrets", "", instance) {
		t.Error("Sombreffe's IT people may read Floreffe's token or the instance's signing secret")
	}

	// a second reconcile keeps the token: the clerk does not copy a new one every time
	patch(t, sombreffe, func() { sombreffe.Spec.DisplayName = "Commune de Sombreffe" })
	consistently(t, 3*time.Second, func() error {
		signed, err := tokenOf(sombreffe)()
		if err != nil || signed != sombreffeToken {
			return fmt.Errorf("Sombreffe's token changed or went (%v) while it was good", err)
		}
		return nil
	})

	// the cell rotates the signing key (a councillor's laptop holding a token was lost): every
	// subscriber's token is signed again with the new key at once, without a change to the tenants
	rotated := []byte("rotated-by-the-cell-0123456789-abcdefghijklmnop")
	signing.Data["jwt-app-secret"] = rotated
	if err := k8s.Update(ctx, signing); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, func() error {
		got := &v1alpha1.SharedApplication{}
		if err := k8s.Get(ctx, client.ObjectKey{Name: "seances"}, got); err != nil {
			return err
		}
		if got.Status.Instance == nil || got.Status.Instance.TokenKey != token.Fingerprint(rotated) {
			return fmt.Errorf("status.instance.tokenKey %+v; want the new key's fingerprint %s", got.Status.Instance, token.Fingerprint(rotated))
		}
		for _, c := range []*v1alpha1.Commune{sombreffe, floreffe} {
			signed, err := tokenOf(c)()
			if err != nil {
				return err
			}
			if _, err := token.Verify(app.Spec.SharedInstance.SubscriberTokens, rotated, c.TenantNamespace(), signed, time.Now()); err != nil {
				return fmt.Errorf("%s's token after the rotation: %w", c.Name, err)
			}
		}
		return nil
	})
	key = rotated

	// Floreffe leaves: its token goes, the bridge shrinks, the cell's secrets stay
	patch(t, floreffe, func() { floreffe.Spec.Applications = nil })
	eventually(t, wait, func() error {
		if _, err := tokenOf(floreffe)(); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Floreffe's token after it left: %v; want it gone", err)
		}
		d := &appsv1.Deployment{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: instance, Name: "seances"}, d); err != nil {
			return err
		}
		if *d.Spec.Replicas != 1 {
			return fmt.Errorf("the bridge runs %d replicas for one subscriber; want 1", *d.Spec.Replicas)
		}
		return nil
	})
	kept := &corev1.Secret{}
	get(t, instance+"/seances-credentials", kept)
	if string(kept.Data["jwt-app-secret"]) != string(key) {
		t.Error("the signing secret changed while the cell did not touch it")
	}
}
