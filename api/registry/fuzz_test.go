package registry

import (
	"regexp"
	"testing"
)

var label = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$|^$`)

// Lookup, Slug and BySlug never panic; a slug is always a DNS label made of lower-case letters,
// digits and single dashes, and a lookup only returns the entry of the code asked for.
func FuzzRegistryLookup(f *testing.F) {
	for _, seed := range []string{"62063", "Le Rœulx", "Braine-l'Alleud", "Écaussinnes", "Sankt Vith", "  --  ", "ﬁ", "\x00", "Liège"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e, ok := Lookup(s); ok && e.NIS != s {
			t.Fatalf("Lookup(%q) returned %s", s, e.NIS)
		}
		slug := Slug(s)
		if !label.MatchString(slug) {
			t.Fatalf("Slug(%q) = %q is not a DNS label", s, slug)
		}
		if e, ok := BySlug(slug); ok && e.Slug() != slug {
			t.Fatalf("BySlug(%q) returned %s", slug, e.Slug())
		}
	})
}
