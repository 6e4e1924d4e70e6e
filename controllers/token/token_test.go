package token

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

var (
	jitsi = &v1alpha1.SubscriberTokens{SigningSecret: v1alpha1.SecretKey{Name: "jitsi-credentials", Key: "jwt-app-secret"}, Issuer: "mutualis"}
	key   = []byte("0123456789abcdef0123456789abcdef-cell")
	day   = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
)

// A token opens the rooms of the tenant it was issued to, and of no other: Jitsi reads the
// tenant from the subject.
func TestATokenIsTheTenantsOwn(t *testing.T) {
	signed, expires, err := Issue(jitsi, key, "commune-namur", "Namur", day)
	if err != nil {
		t.Fatal(err)
	}
	if want := day.Add(DefaultLifetime); !expires.Equal(want) {
		t.Errorf("expires %s, want %s (30 days)", expires, want)
	}
	if got, err := Verify(jitsi, key, "commune-namur", signed, day.Add(time.Hour)); err != nil || !got.Equal(expires) {
		t.Errorf("Namur's token for Namur: %s, %v; want it valid until %s", got, err, expires)
	}
	if _, err := Verify(jitsi, key, "cpas-namur", signed, day); err == nil {
		t.Error("Namur's token opens the rooms of the CPAS of Namur")
	}
	if _, err := Verify(jitsi, []byte("another-secret-of-at-least-32-bytes!"), "commune-namur", signed, day); err == nil {
		t.Error("a token verifies with a secret it was not signed with")
	}
	other := *jitsi
	other.Audience = "another-bridge"
	if _, err := Verify(&other, key, "commune-namur", signed, day); err == nil {
		t.Error("a token for the audience mutualis is accepted by another audience")
	}
	if _, err := Verify(jitsi, key, "commune-namur", signed, expires.Add(time.Second)); err == nil {
		t.Error("an expired token verifies")
	}
	if _, _, err := Issue(jitsi, []byte("short"), "commune-namur", "Namur", day); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("a 5-byte signing secret: %v; want it refused", err)
	}
}

// The operator keeps a token while two thirds of its life are left, so that a clerk does not
// copy a new one at every reconcile, and issues a new one when it ages, when the cell changes the
// signing secret, or when the token in the Secret is not this tenant's.
func TestDecideKeepsATokenUntilItAges(t *testing.T) {
	first, err := Decide(jitsi, key, "commune-eupen", "Eupen", "", day)
	if err != nil || !first.Issued {
		t.Fatalf("no token yet: %+v, %v; want one issued", first, err)
	}
	if want := day.Add(20 * 24 * time.Hour); !first.Renew.Equal(want) {
		t.Errorf("renew at %s, want %s (a third of 30 days before the end)", first.Renew, want)
	}
	namur, _, _ := Issue(jitsi, key, "commune-namur", "Namur", day)
	short := &v1alpha1.SubscriberTokens{SigningSecret: jitsi.SigningSecret, Issuer: "mutualis", Lifetime: &metav1.Duration{Duration: time.Minute}}
	for _, c := range []struct {
		name    string
		spec    *v1alpha1.SubscriberTokens
		key     []byte
		current string
		at      time.Time
		issued  bool
	}{
		{"fresh", jitsi, key, first.Token, day.Add(19 * 24 * time.Hour), false},
		{"in its last third", jitsi, key, first.Token, day.Add(21 * 24 * time.Hour), true},
		{"expired", jitsi, key, first.Token, day.Add(31 * 24 * time.Hour), true},
		{"the cell changed the signing secret", jitsi, []byte("a-new-signing-secret-of-32-bytes-or-more"), first.Token, day.Add(time.Hour), true},
		{"another tenant's token in the Secret", jitsi, key, namur, day.Add(time.Hour), true},
		{"garbage in the Secret", jitsi, key, "not-a-token", day, true},
		// the cell shortened the lifetime (to a minute, which is an hour): the month-long token goes
		{"the entry's lifetime was shortened", short, key, first.Token, day.Add(time.Minute), true},
	} {
		d, err := Decide(c.spec, c.key, "commune-eupen", "Eupen", c.current, c.at)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d.Issued != c.issued || (!c.issued && d.Token != c.current) {
			t.Errorf("%s: issued %v, want %v", c.name, d.Issued, c.issued)
		}
		if _, err := Verify(c.spec, c.key, "commune-eupen", d.Token, c.at); err != nil {
			t.Errorf("%s: the token decided does not verify: %v", c.name, err)
		}
	}
	if got := Lifetime(short); got != time.Hour {
		t.Errorf("lifetime of a minute: %s, want an hour", got)
	}
}

// The Secret carries the token in data, which the API server keeps as it is written, and says
// until when it is valid.
func TestTheSecretCarriesTheTokenAndItsEnd(t *testing.T) {
	d, _ := Decide(jitsi, key, "cpas-mons", "CPAS de Mons", "", day)
	s := Secret("cpas-mons", "jitsi", d)
	if s.GetName() != "mutualis-jitsi-token" || s.GetNamespace() != "cpas-mons" || s.GetLabels()[v1alpha1.LabelPartOf] != "jitsi" {
		t.Errorf("secret %s/%s labels %v", s.GetNamespace(), s.GetName(), s.GetLabels())
	}
	data := s.Object["data"].(map[string]any)
	raw, _ := base64.StdEncoding.DecodeString(data[KeyToken].(string))
	if string(raw) != d.Token {
		t.Error("the Secret's token is not the one decided")
	}
	end, _ := base64.StdEncoding.DecodeString(data[KeyExpires].(string))
	if string(end) != "2027-01-04T18:00:00Z" {
		t.Errorf("expires %q, want 2027-01-04T18:00:00Z", end)
	}
}
