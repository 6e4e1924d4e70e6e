// Package registry is the embedded NIS registry of the Walloon communes: the Statbel codes of the
// 261 current communes and of the codes retired by the 2025 merger, with name, province,
// population, language, the German names of the German-speaking communes, the names people use
// for a commune and its CPAS, and the DNS-safe slug that names a Commune object.
package registry

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

//go:embed communes.csv
var communesCSV string

// namesDE are the official German names of the nine communes of the German-speaking Community.
//
//go:embed names-de.csv
var namesDE string

// Entry is one row of the registry.
type Entry struct {
	NIS        string
	Name       string
	Province   string
	Population int32
	// Language is fr, or de for the nine communes of the German-speaking Community.
	Language string
	// NameDE is the official German name of a German-speaking commune (Amel for Amblève); empty
	// for the others.
	NameDE string
	// ValidUntil is the last day of a retired code; zero for a current one.
	ValidUntil time.Time
	// Successor is the code that replaced a retired one.
	Successor string
}

// Current reports whether the code is in use today.
func (e Entry) Current() bool { return e.ValidUntil.IsZero() }

// Slug is the DNS-label form of the name: accents folded to ASCII, anything else than a letter or a
// digit turned into a dash (Braine-l'Alleud becomes braine-l-alleud).
func (e Entry) Slug() string { return Slug(e.Name) }

var (
	byNIS   map[string]Entry
	ordered []Entry
)

func init() {
	entries, err := parse(communesCSV)
	if err != nil {
		// The file is embedded at build time and covered by the package's tests.
		panic(fmt.Sprintf("registry: embedded communes.csv: %v", err))
	}
	german, err := csv.NewReader(strings.NewReader(namesDE)).ReadAll()
	if err != nil {
		panic(fmt.Sprintf("registry: embedded names-de.csv: %v", err))
	}
	byNIS = make(map[string]Entry, len(entries))
	for _, e := range entries {
		byNIS[e.NIS] = e
	}
	for _, row := range german[1:] {
		e, ok := byNIS[row[0]]
		if !ok || len(row) != 2 {
			panic(fmt.Sprintf("registry: names-de.csv: %v is not a commune of the registry", row))
		}
		e.NameDE = row[1]
		byNIS[e.NIS] = e
	}
	for i, e := range entries {
		entries[i] = byNIS[e.NIS]
	}
	ordered = entries
}

// LocalName is the name the commune's people and administration use: the German one in the
// German-speaking Community, the French one elsewhere.
func (e Entry) LocalName() string {
	if e.NameDE != "" {
		return e.NameDE
	}
	return e.Name
}

// CPASName is the name of the commune's public social-welfare centre: "ÖSHZ Amel" in the
// German-speaking Community, "CPAS de Liège" elsewhere, with the French elision before a vowel
// ("CPAS d'Ans", "CPAS d'Écaussinnes").
func (e Entry) CPASName() string {
	if e.NameDE != "" {
		return "ÖSHZ " + e.NameDE
	}
	if first := []rune(norm.NFD.String(e.Name)); len(first) > 0 && strings.ContainsRune("AEIOUYaeiouy", first[0]) {
		return "CPAS d'" + e.Name
	}
	return "CPAS de " + e.Name
}

func parse(data string) ([]Entry, error) {
	rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("no rows")
	}
	var out []Entry
	for i, row := range rows[1:] {
		if len(row) != 7 {
			return nil, fmt.Errorf("line %d: %d columns, want 7", i+2, len(row))
		}
		pop, err := strconv.ParseInt(row[3], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: population: %w", i+2, err)
		}
		e := Entry{NIS: row[0], Name: row[1], Province: row[2], Population: int32(pop), Language: row[4], Successor: row[6]}
		if row[5] != "" {
			if e.ValidUntil, err = time.Parse(time.DateOnly, row[5]); err != nil {
				return nil, fmt.Errorf("line %d: valid_until: %w", i+2, err)
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NIS < out[j].NIS })
	return out, nil
}

// Lookup finds a code, current or retired.
func Lookup(nis string) (Entry, bool) {
	e, ok := byNIS[nis]
	return e, ok
}

// All returns every entry, current and retired, ordered by code.
func All() []Entry { return append([]Entry(nil), ordered...) }

// CurrentEntries returns the communes in existence today, ordered by code.
func CurrentEntries() []Entry {
	var out []Entry
	for _, e := range ordered {
		if e.Current() {
			out = append(out, e)
		}
	}
	return out
}

// BySlug finds the current commune whose name has this slug.
func BySlug(slug string) (Entry, bool) {
	for _, e := range ordered {
		if e.Current() && e.Slug() == slug {
			return e, true
		}
	}
	return Entry{}, false
}

// ligatures have no decomposition into ASCII letters, so they are spelt out.
var ligatures = strings.NewReplacer("œ", "oe", "Œ", "Oe", "æ", "ae", "Æ", "Ae", "ß", "ss")

// Slug folds a name into a DNS label.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(ligatures.Replace(name)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining accent left by the decomposition
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
	}
	return b.String()
}

// Province is one of the five Walloon provinces, a local authority of its own: its Statbel code,
// its name, and the population of its current communes.
type Province struct {
	NIS  string
	Name string
	// LocalName is how the province names itself: Province de Hainaut, Province du Brabant wallon.
	LocalName  string
	Population int32
	// Communes counts its current communes.
	Communes int
}

// provinceCodes are the Statbel codes of the Walloon provinces and their own names, by the name
// the registry's rows use.
var provinceCodes = map[string][2]string{
	"Brabant wallon": {"20002", "Province du Brabant wallon"},
	"Hainaut":        {"50000", "Province de Hainaut"},
	"Liège":          {"60000", "Province de Liège"},
	"Luxembourg":     {"80000", "Province de Luxembourg"},
	"Namur":          {"90000", "Province de Namur"},
}

// Provinces returns the five provinces, ordered by code, their population summed from their
// current communes.
func Provinces() []Province {
	byName := map[string]*Province{}
	for name, p := range provinceCodes {
		byName[name] = &Province{NIS: p[0], Name: name, LocalName: p[1]}
	}
	for _, e := range ordered {
		if p, ok := byName[e.Province]; ok && e.Current() {
			p.Population += e.Population
			p.Communes++
		}
	}
	out := make([]Province, 0, len(byName))
	for _, p := range byName {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NIS < out[j].NIS })
	return out
}

// LookupProvince finds a province by its code.
func LookupProvince(nis string) (Province, bool) {
	for _, p := range Provinces() {
		if p.NIS == nis {
			return p, true
		}
	}
	return Province{}, false
}
