package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// officeApp is a PerSeat application whose Deployment receives the granted seats.
func officeApp(name string) *v1alpha1.SharedApplication {
	app := webApp(name, "nginxinc/nginx-unprivileged:1.26")
	app.Spec.Licence = v1alpha1.LicenceSpec{Model: v1alpha1.LicencePerSeat, SPDX: "LicenseRef-proprietary"}
	app.Spec.Replacements = append(app.Spec.Replacements, v1alpha1.Replacement{
		Source: v1alpha1.ReplacementSource{Kind: "ConfigMap", Name: "mutualis-parameters", FieldPath: "data.[licence.seats]"},
		Targets: []v1alpha1.ReplacementTarget{{
			Select:     v1alpha1.Selector{Kind: "Deployment", Name: name},
			FieldPaths: []string{"metadata.annotations.[example.org/seats]"},
			Options:    &v1alpha1.FieldOptions{Create: true},
		}},
	})
	return app
}

func licensedCommune(name, nis, app string, seats int32) *v1alpha1.Commune {
	return newCommune(name, nis, func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: app, Seats: ptr.To(seats)}}
	})
}

func TestLicencePoolGrantsOldestFirstAndKeepsGrants(t *testing.T) {
	ctx := context.Background()
	create(t, officeApp("office"))
	create(t, &v1alpha1.LicencePool{ObjectMeta: metav1.ObjectMeta{Name: "office-2026"},
		Spec: v1alpha1.LicencePoolSpec{Application: "office", Seats: 100}})

	first := licensedCommune("tournai", "57081", "office", 60)
	create(t, first)
	eventually(t, wait, conditionIs(first, v1alpha1.ConditionLicencesReady, metav1.ConditionTrue, ""))
	time.Sleep(1100 * time.Millisecond) // creation timestamps have a one-second resolution
	second := licensedCommune("mouscron", "57096", "office", 30)
	create(t, second)
	eventually(t, wait, conditionIs(second, v1alpha1.ConditionLicencesReady, metav1.ConditionTrue, ""))
	time.Sleep(1100 * time.Millisecond)
	third := licensedCommune("ath", "51004", "office", 20)
	create(t, third)
	eventually(t, wait, conditionIs(third, v1alpha1.ConditionLicencesReady, metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted))
	t.Logf("the user sees: %s", message(third, v1alpha1.ConditionLicencesReady))
	if !strings.Contains(message(third, v1alpha1.ConditionLicencesReady), "20 seats requested, 0 granted") {
		t.Errorf("message %q", message(third, v1alpha1.ConditionLicencesReady))
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "commune-ath", Name: "office"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("an application without seats is not deployed (%v)", err)
	}
	if len(third.Status.Licences) != 1 || third.Status.Licences[0].Requested != 20 || third.Status.Licences[0].Granted != 0 {
		t.Errorf("licences status %+v", third.Status.Licences)
	}

	// the first two keep theirs, and the seats reach the application
	for ns, seats := range map[string]string{"commune-tournai": "60", "commune-mouscron": "30"} {
		d := &appsv1.Deployment{}
		get(t, ns+"/office", d)
		if d.Annotations["example.org/seats"] != seats {
			t.Errorf("%s: seats annotation %q, want %s", ns, d.Annotations["example.org/seats"], seats)
		}
	}
	pool := &v1alpha1.LicencePool{}
	eventually(t, wait, func() error {
		get(t, "office-2026", pool)
		if pool.Status.AllocatedSeats != 90 || pool.Status.AvailableSeats != 10 || len(pool.Status.Allocations) != 2 {
			return fmt.Errorf("pool status %+v", pool.Status)
		}
		return nil
	})

	// the oldest raising its request beyond the pool keeps its grant and says so
	patch(t, first, func() { first.Spec.Applications[0].Seats = ptr.To[int32](80) })
	eventually(t, wait, conditionIs(first, v1alpha1.ConditionLicencesReady, metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted))
	get(t, "commune-tournai/office", &appsv1.Deployment{})
	if l := first.Status.Licences; len(l) != 1 || l[0].Granted != 60 {
		t.Errorf("the previous grant is kept: %+v", l)
	}
	// the second leaving frees seats for the third
	if err := k8s.Delete(ctx, second); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, conditionIs(third, v1alpha1.ConditionLicencesReady, metav1.ConditionTrue, ""))
	get(t, "commune-ath/office", &appsv1.Deployment{})
}

func TestSeatsForAnOpenSourceApplicationAreRefused(t *testing.T) {
	create(t, webApp("wiki", "nginxinc/nginx-unprivileged:1.26"))
	c := licensedCommune("binche", "58002", "wiki", 5)
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonApplicationInvalid))
	msg := message(c, v1alpha1.ConditionApplicationsReady)
	t.Logf("the user sees: %s", msg)
	if !strings.Contains(msg, "OpenSource application") {
		t.Errorf("message %q", msg)
	}
}

func TestExpiringPoolWarnsAndExpiredPoolGrantsNothingNew(t *testing.T) {
	create(t, officeApp("signature"))
	soon := metav1.NewTime(time.Now().Add(10 * 24 * time.Hour).Truncate(time.Second))
	pool := &v1alpha1.LicencePool{ObjectMeta: metav1.ObjectMeta{Name: "signature"},
		Spec: v1alpha1.LicencePoolSpec{Application: "signature", Seats: 10, ValidUntil: &soon}}
	create(t, pool)
	eventually(t, wait, func() error {
		get(t, "signature", pool)
		if c := meta.FindStatusCondition(pool.Status.Conditions, v1alpha1.ConditionExpiringSoon); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("ExpiringSoon: %+v", c)
		}
		return nil
	})
	eventually(t, wait, warningEvent("signature", v1alpha1.ConditionExpiringSoon))

	past := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	patch(t, pool, func() { pool.Spec.ValidUntil = &past })
	c := licensedCommune("soignies", "55040", "signature", 2)
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionLicencesReady, metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted))
	get(t, "signature", pool)
	if r := meta.FindStatusCondition(pool.Status.Conditions, v1alpha1.ConditionReady); r == nil || r.Reason != v1alpha1.ReasonExpired {
		t.Errorf("pool Ready: %+v", r)
	}
}

// A pool that reserves seats for the small communes keeps them from a city that came first: the
// city is held back (the pool says so, and the city's condition counts what its tier may take),
// the small commune that joins later is served, and the pool's status shows the reservation used.
func TestAReservationKeepsSeatsForASmallCommuneThatJoinsLate(t *testing.T) {
	ctx := context.Background()
	create(t, officeApp("signing"))
	create(t, &v1alpha1.LicencePool{ObjectMeta: metav1.ObjectMeta{Name: "signing-2026"},
		Spec: v1alpha1.LicencePoolSpec{Application: "signing", Seats: 20, Reservations: []v1alpha1.SeatReservation{{Tier: "S", Seats: 8}}}})

	city := licensedCommune("la-louviere", "58001", "signing", 10) // tier XXL
	create(t, city)
	eventually(t, wait, conditionIs(city, v1alpha1.ConditionLicencesReady, metav1.ConditionTrue, ""))
	time.Sleep(1100 * time.Millisecond)                      // creation timestamps have a one-second resolution
	town := licensedCommune("tubize", "25105", "signing", 5) // tier L: 12 - 10 = 2 left for it
	create(t, town)
	eventually(t, wait, conditionIs(town, v1alpha1.ConditionLicencesReady, metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted))
	t.Logf("the user sees: %s", message(town, v1alpha1.ConditionLicencesReady))
	if !strings.Contains(message(town, v1alpha1.ConditionLicencesReady), "5 seats requested, 0 granted; pool signing-2026 has 2 available") {
		t.Errorf("message %q", message(town, v1alpha1.ConditionLicencesReady))
	}
	pool := &v1alpha1.LicencePool{}
	eventually(t, wait, func() error {
		get(t, "signing-2026", pool)
		if c := meta.FindStatusCondition(pool.Status.Conditions, v1alpha1.ConditionExhausted); c == nil || !strings.Contains(c.Message, "commune-tubize held back by the reservations of other tiers") {
			return fmt.Errorf("pool conditions %+v", pool.Status.Conditions)
		}
		return nil
	})
	time.Sleep(1100 * time.Millisecond)
	village := licensedCommune("daverdisse", "84016", "signing", 6) // tier S, joining last
	create(t, village)
	eventually(t, wait, conditionIs(village, v1alpha1.ConditionLicencesReady, metav1.ConditionTrue, ""))
	eventually(t, wait, func() error {
		get(t, "signing-2026", pool)
		if pool.Status.AllocatedSeats != 16 || len(pool.Status.Reservations) != 1 || pool.Status.Reservations[0] != (v1alpha1.SeatReservationStatus{Tier: "S", Seats: 8, Used: 6}) {
			return fmt.Errorf("pool status %+v", pool.Status)
		}
		return nil
	})
	// the town lowers its request to what its tier may take, and gets it
	base := town.DeepCopy()
	town.Spec.Applications[0].Seats = ptr.To[int32](2)
	if err := k8s.Patch(ctx, town, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, conditionIs(town, v1alpha1.ConditionLicencesReady, metav1.ConditionTrue, ""))
}
