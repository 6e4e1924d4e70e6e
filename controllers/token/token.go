// Package token owns the signed tokens a shared instance's subscribers get
// (SharedApplication spec.sharedInstance.subscriberTokens): what a token of a tenant says, how
// long it lives, when the operator issues a new one, and the Secret that carries it into the
// tenant's namespace. It is pure: the reconciler reads the signing secret and the current token
// and writes what Decide returns.
package token

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

const (
	// DefaultLifetime is a token's lifetime when the catalogue entry gives none: a month, so that
	// a council's clerk copies it into the meeting tool once per month at most.
	DefaultLifetime = 30 * 24 * time.Hour
	minLifetime     = time.Hour
	maxLifetime     = 365 * 24 * time.Hour

	// KeyToken and KeyExpires are the keys of the tenant's Secret.
	KeyToken   = "token"
	KeyExpires = "expires"
)

// SecretName is the Secret that carries an application's token in a tenant's namespace.
func SecretName(application string) string { return "mutualis-" + application + "-token" }

// Fingerprint names a signing key without revealing it: the first 12 hexadecimal digits of its
// SHA-256, which the entry's status shows so that a rotation of the key wakes its subscribers.
func Fingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:])[:12]
}

// Lifetime is the lifetime a catalogue entry gives its tokens, within an hour and a year.
func Lifetime(spec *v1alpha1.SubscriberTokens) time.Duration {
	if spec == nil || spec.Lifetime == nil {
		return DefaultLifetime
	}
	return min(max(spec.Lifetime.Duration, minLifetime), maxLifetime)
}

// audience is the aud claim: the issuer when the entry names none.
func audience(spec *v1alpha1.SubscriberTokens) string {
	if spec.Audience != "" {
		return spec.Audience
	}
	return spec.Issuer
}

// Claims are what a tenant's token says. Subject is the tenant's namespace: Jitsi opens the rooms
// <subject>/<room> to it, and the room claim "*" any room under it. Context names the tenant for
// the application's display.
type Claims struct {
	Room    string         `json:"room"`
	Context map[string]any `json:"context,omitempty"`
	jwt.RegisteredClaims
}

// Issue signs a new token for a tenant, valid from now for the entry's lifetime.
func Issue(spec *v1alpha1.SubscriberTokens, key []byte, tenantNamespace, displayName string, now time.Time) (string, time.Time, error) {
	if len(key) < 32 {
		// an HMAC key shorter than its hash makes tokens that can be guessed offline
		return "", time.Time{}, fmt.Errorf("the signing secret holds %d bytes; it needs at least 32", len(key))
	}
	now = now.UTC().Truncate(time.Second)
	expires := now.Add(Lifetime(spec))
	claims := Claims{
		Room: "*",
		Context: map[string]any{
			"group": tenantNamespace,
			"user":  map[string]any{"name": displayName},
		},
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    spec.Issuer,
			Audience:  jwt.ClaimStrings{audience(spec)},
			Subject:   tenantNamespace,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
		},
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	return signed, expires, err
}

// Verify checks that a token was signed with key for this tenant by this entry, and returns its
// expiry. It is what the application does with a token, and what the operator does before it
// keeps one.
func Verify(spec *v1alpha1.SubscriberTokens, key []byte, tenantNamespace, signed string, now time.Time) (time.Time, error) {
	claims := &Claims{}
	_, err := jwt.ParseWithClaims(signed, claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(spec.Issuer),
		jwt.WithAudience(audience(spec)), jwt.WithSubject(tenantNamespace), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return time.Time{}, err
	}
	if claims.Room != "*" {
		return time.Time{}, errors.New("the token does not open the tenant's rooms")
	}
	return claims.ExpiresAt.Time, nil
}

// Decision is the token a tenant's namespace carries after this reconcile.
type Decision struct {
	Token   string
	Expires time.Time
	// Issued is true when the token is new: the current one was missing, not signed with today's
	// secret, for another tenant or entry, or within the last third of its lifetime.
	Issued bool
	// Renew is when the operator issues the next one.
	Renew time.Time
}

// Decide keeps the current token while it verifies, more than a third of its lifetime is left and
// no more than the whole of it, and issues a new one otherwise.
func Decide(spec *v1alpha1.SubscriberTokens, key []byte, tenantNamespace, displayName, current string, now time.Time) (Decision, error) {
	lifetime := Lifetime(spec)
	if current != "" {
		// a token that outlives the entry's lifetime was issued before the cell shortened it
		if expires, err := Verify(spec, key, tenantNamespace, current, now); err == nil && expires.Sub(now) > lifetime/3 && expires.Sub(now) <= lifetime {
			return Decision{Token: current, Expires: expires, Renew: expires.Add(-lifetime / 3)}, nil
		}
	}
	signed, expires, err := Issue(spec, key, tenantNamespace, displayName, now)
	if err != nil {
		return Decision{}, err
	}
	return Decision{Token: signed, Expires: expires, Issued: true, Renew: expires.Add(-lifetime / 3)}, nil
}

// Secret is the Secret that carries a tenant's token of an application, labelled like the
// application's other objects in the tenant's namespace.
func Secret(namespace, application string, d Decision) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{
			"name": SecretName(application), "namespace": namespace,
			"labels": map[string]any{
				v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue, v1alpha1.LabelTenant: namespace,
				v1alpha1.LabelPartOf: application,
			},
		},
		"type": "Opaque",
		// data, not stringData: the API server keeps no stringData, and an applier comparing
		// what it wants with what is there would see a change at every reconcile
		"data": map[string]any{
			KeyToken:   base64.StdEncoding.EncodeToString([]byte(d.Token)),
			KeyExpires: base64.StdEncoding.EncodeToString([]byte(d.Expires.UTC().Format(time.RFC3339))),
		},
	}}
}
