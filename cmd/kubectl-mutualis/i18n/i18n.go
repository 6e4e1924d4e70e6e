// Package i18n owns what the plugin says to communes and CPAS in French, German and English: the
// message catalogues of locales/ (one YAML file per language, which a translator edits without
// touching Go), a sentence for every condition reason of the mutualis kinds, and the language of
// each tenant's people. The conditions on the objects stay in English for the GitOps tools; the
// plugin translates them by their reason.
package i18n

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	yaml "go.yaml.in/yaml/v3"
	"golang.org/x/text/language"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/controllers/audit"
)

// Lang is a language the plugin speaks.
type Lang string

const (
	French  Lang = "fr"
	German  Lang = "de"
	English Lang = "en"
)

// Languages are the languages of the catalogues, French (the default) first.
var Languages = []Lang{French, German, English}

// Parse reads a --lang value.
func Parse(s string) (Lang, error) {
	for _, l := range Languages {
		if strings.EqualFold(s, string(l)) {
			return l, nil
		}
	}
	return "", fmt.Errorf("language %q: use fr, de or en", s)
}

// OfCommune is the language of a commune's people, and of its CPAS's: German for the nine
// communes of the German-speaking Community, French for the others.
func OfCommune(nis string) Lang {
	if e, ok := registry.Lookup(nis); ok && e.Language == "de" {
		return German
	}
	return French
}

//go:embed locales/*.yaml
var locales embed.FS

var bundle = func() *goi18n.Bundle {
	b := goi18n.NewBundle(language.French)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	for _, l := range Languages {
		if _, err := b.LoadMessageFileFS(locales, "locales/"+string(l)+".yaml"); err != nil {
			// the files are embedded at build time and covered by the package's tests
			panic(fmt.Sprintf("i18n: %v", err))
		}
	}
	return b
}()

// Printer says things in one language.
type Printer struct {
	Lang Lang
	loc  *goi18n.Localizer
}

// For is the printer of a language.
func For(l Lang) *Printer { return &Printer{Lang: l, loc: goi18n.NewLocalizer(bundle, string(l))} }

// T is the message of a key, its {{.Field}}s filled from data (pairs of field and value). A key
// the catalogue lacks is returned as it is, so that a gap shows rather than breaks the output;
// the package's tests keep the catalogues whole.
func (p *Printer) T(id string, data ...any) string {
	fields := map[string]any{}
	for i := 0; i+1 < len(data); i += 2 {
		fields[fmt.Sprint(data[i])] = data[i+1]
	}
	return p.localize(id, fields)
}

func (p *Printer) localize(id string, fields any) string {
	msg, err := p.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: fields})
	if err != nil {
		return id
	}
	return msg
}

// Say is the message of a key, its {{.Field}}s filled from a map.
func (p *Printer) Say(id string, fields map[string]string) string { return p.localize(id, fields) }

// Finding is the problem and the remedy of an audit finding, its fields filled by their names.
func (p *Printer) Finding(f audit.Finding) (problem, remedy string) {
	fields := f.Fields()
	return p.localize("audit."+string(f.Check)+".problem", fields), p.localize("audit."+string(f.Check)+".remedy", fields)
}

// Severity is the name of an audit severity.
func (p *Printer) Severity(s audit.Severity) string { return p.T("severity." + string(s)) }

// Reason is the sentence of a condition reason, or "" for a reason the catalogues do not know
// (the caller shows the condition's own English message then).
func (p *Printer) Reason(reason string) string {
	if reason == "" {
		return ""
	}
	if msg := p.T("reason." + reason); msg != "reason."+reason {
		return msg
	}
	return ""
}

// Keys are the message keys of a language's catalogue, sorted.
func Keys(l Lang) ([]string, error) {
	data, err := locales.ReadFile("locales/" + string(l) + ".yaml")
	if err != nil {
		return nil, err
	}
	file, err := goi18n.ParseMessageFileBytes(data, string(l)+".yaml", map[string]goi18n.UnmarshalFunc{"yaml": yaml.Unmarshal})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, m := range file.Messages {
		keys = append(keys, m.ID)
	}
	sort.Strings(keys)
	return keys, nil
}
