package registry

import (
	"regexp"
	"testing"
)

func TestRegistryCounts(t *testing.T) {
	current := CurrentEntries()
	if len(current) != 261 {
		t.Fatalf("current communes: got %d, want 261", len(current))
	}
	if got := len(All()); got != 263 {
		t.Fatalf("all codes: got %d, want 263", got)
	}
	bands := map[string]int{}
	german := 0
	for _, e := range current {
		switch p := e.Population; {
		case p <= 10000:
			bands["S"]++
		case p <= 20000:
			bands["M"]++
		case p <= 35000:
			bands["L"]++
		case p <= 80000:
			bands["XL"]++
		default:
			bands["XXL"]++
		}
		if e.Language == "de" {
			german++
		}
	}
	want := map[string]int{"S": 148, "M": 74, "L": 27, "XL": 7, "XXL": 5}
	for k, v := range want {
		if bands[k] != v {
			t.Errorf("band %s: got %d communes, want %d", k, bands[k], v)
		}
	}
	if german != 9 {
		t.Errorf("German-speaking communes: got %d, want 9", german)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		nis        string
		found      bool
		current    bool
		name       string
		successor  string
		population int32
	}{
		{nis: "62063", found: true, current: true, name: "Liège"},
		{nis: "82039", found: true, current: true, name: "Bastogne", population: 19932},
		{nis: "82003", found: true, current: false, name: "Bastogne", successor: "82039"},
		{nis: "82005", found: true, current: false, name: "Bertogne", successor: "82039"},
		{nis: "84016", found: true, current: true, name: "Daverdisse", population: 1382},
		{nis: "21004", found: false}, // Brussels: not Walloon
		{nis: "54007", found: false}, // prefix 54 abolished in 2019
		{nis: "99999", found: false},
	}
	for _, tt := range tests {
		e, ok := Lookup(tt.nis)
		if ok != tt.found {
			t.Errorf("Lookup(%s) found=%v, want %v", tt.nis, ok, tt.found)
			continue
		}
		if !ok {
			continue
		}
		if e.Current() != tt.current || e.Name != tt.name || e.Successor != tt.successor {
			t.Errorf("Lookup(%s) = %+v", tt.nis, e)
		}
		if tt.population != 0 && e.Population != tt.population {
			t.Errorf("Lookup(%s) population %d, want %d", tt.nis, e.Population, tt.population)
		}
	}
}

func TestSlugs(t *testing.T) {
	tests := map[string]string{
		"Braine-l'Alleud":   "braine-l-alleud",
		"Écaussinnes":       "ecaussinnes",
		"Liège":             "liege",
		"Fontaine-l'Évêque": "fontaine-l-eveque",
		"  Le  Rœulx ":      "le-roeulx", // ligatures are spelt out
	}
	for in, want := range tests {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	label := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	seen := map[string]string{}
	longest := 0
	for _, e := range CurrentEntries() {
		s := e.Slug()
		if !label.MatchString(s) {
			t.Errorf("%s: slug %q is not a DNS label", e.Name, s)
		}
		if other, dup := seen[s]; dup {
			t.Errorf("slug %q shared by %s and %s", s, other, e.NIS)
		}
		seen[s] = e.NIS
		if len(s) > longest {
			longest = len(s)
		}
		if got, ok := BySlug(s); !ok || got.NIS != e.NIS {
			t.Errorf("BySlug(%q) = %v, %v", s, got.NIS, ok)
		}
	}
	if longest != 26 {
		t.Errorf("longest slug: %d characters, want 26", longest)
	}
}

// The nine German-speaking communes have their German names, and their CPAS is an ÖSHZ; French
// elides "de" before a vowel.
func TestNamesPeopleUse(t *testing.T) {
	german := 0
	for _, e := range CurrentEntries() {
		if e.Language == "de" {
			german++
			if e.NameDE == "" {
				t.Errorf("%s %s has no German name", e.NIS, e.Name)
			}
		} else if e.NameDE != "" {
			t.Errorf("%s %s is French-speaking but has the German name %s", e.NIS, e.Name, e.NameDE)
		}
	}
	if german != 9 {
		t.Errorf("%d German-speaking communes, want 9", german)
	}
	for nis, want := range map[string][2]string{
		"63001": {"Amel", "ÖSHZ Amel"},
		"63040": {"Kelmis", "ÖSHZ Kelmis"},
		"62003": {"Ans", "CPAS d'Ans"},
		"62063": {"Liège", "CPAS de Liège"},
		"55050": {"Ecaussinnes", "CPAS d'Ecaussinnes"},
		"81004": {"Aubange", "CPAS d'Aubange"},
		"91141": {"Yvoir", "CPAS d'Yvoir"},
		"64034": {"Hannut", "CPAS de Hannut"},
		"61028": {"Héron", "CPAS de Héron"},
	} {
		e, ok := Lookup(nis)
		if !ok {
			t.Fatalf("%s is not in the registry", nis)
		}
		if e.LocalName() != want[0] || e.CPASName() != want[1] {
			t.Errorf("%s: %q and %q, want %q and %q", nis, e.LocalName(), e.CPASName(), want[0], want[1])
		}
	}
}

// The five provinces carry their Statbel codes and the sums of their current communes: 261
// communes and the Walloon population between them.
func TestProvincesSumTheirCommunes(t *testing.T) {
	provinces := Provinces()
	if len(provinces) != 5 {
		t.Fatalf("%d provinces", len(provinces))
	}
	var communes int
	var population int32
	for _, p := range provinces {
		communes += p.Communes
		population += p.Population
	}
	var want int32
	for _, e := range CurrentEntries() {
		want += e.Population
	}
	if communes != 261 || population != want {
		t.Errorf("the provinces hold %d communes and %d inhabitants; want 261 and %d", communes, population, want)
	}
	namur, ok := LookupProvince("90000")
	if !ok || namur.Name != "Namur" || namur.LocalName != "Province de Namur" || namur.Communes != 38 {
		t.Errorf("province 90000: %+v", namur)
	}
	if _, ok := LookupProvince("92094"); ok {
		t.Error("a commune's code found as a province")
	}
}
