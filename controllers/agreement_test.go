package controllers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/registry"
	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate/validatetest"
)

// The validator and the operator reach the same verdict on every bad input: each case of the
// validator's bad tree is applied as a GitOps tool would (server-side apply, strict field
// validation), and where the validator reports a reason, the operator's tenant carries a condition
// with that reason; where the validator rejects an object, so does the API server. The cases
// mirror the bad inputs of the operator's own tests (tenant_controller_test, applications_test,
// licences_test, admission_test) with names and NIS codes of their own.
func TestOperatorAndValidatorAgreeOnBadInput(t *testing.T) {
	const dir = "../cmd/kubectl-mutualis/validate/testdata/bad"
	cases, err := validatetest.ReadCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := validate.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.Cluster {
			t.Logf("%s cannot reach the API server (a syntax error, or a change of the shared policy); the validator's tests cover it", c.File)
			continue
		}
		t.Run(strings.TrimSuffix(filepath.Base(c.File), ".yaml"), func(t *testing.T) { replayCase(t, schemas, c) })
	}
}

// replayCase applies one case to the control plane and holds the operator and the validator to
// each other, both ways.
func replayCase(t *testing.T, schemas validate.Schemas, c validatetest.Case) {
	ctx := context.Background()
	data, err := os.ReadFile(c.File)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	docs, findings := validate.Load([]string{c.File})
	rep := validate.Tree(ctx, schemas, docs, time.Now())
	rep.Findings = append(findings, rep.Findings...)

	// the cluster's side: every object applied in the file's order
	rejected := map[string]error{}
	for _, d := range docs {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		if err := u.UnmarshalJSON(d.Raw); err != nil {
			t.Fatal(err)
		}
		id := d.Kind + "/" + d.Name
		err := k8s.Patch(ctx, u, client.Apply, client.FieldOwner("gitops"), client.ForceOwnership, client.FieldValidation("Strict"))
		if err != nil {
			rejected[id] = err
			continue
		}
		// gone before the next test, finalizer and all, so that no later test sees its
		// deletion as the operator's writes
		t.Cleanup(func() {
			_ = k8s.Delete(context.Background(), u)
			eventually(t, wait, func() error {
				if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(u), u); !apierrors.IsNotFound(err) {
					return fmt.Errorf("%s %s still there (%v)", u.GetKind(), u.GetName(), err)
				}
				return nil
			})
		})
	}
	for _, w := range c.Wants {
		validatorSays := false
		for _, f := range rep.Findings {
			validatorSays = validatorSays || validatetest.Matches(w, f, lines)
		}
		if !validatorSays {
			t.Errorf("the validator does not report %s %s", w.Object, w.Reason)
		}
		if w.Reason == "rejected" {
			if rejected[w.Object] == nil {
				t.Errorf("the API server accepted %s, which the validator rejects", w.Object)
			} else {
				t.Logf("the API server says: %v", rejected[w.Object])
			}
			continue
		}
		if err := rejected[w.Object]; err != nil {
			t.Fatalf("the API server rejected %s: %v", w.Object, err)
		}
		if app, ok := strings.CutPrefix(w.Object, "SharedApplication/"); ok {
			eventually(t, wait, func() error { return appCarriesReason(app, w.Reason) })
			continue
		}
		tnt := tenantNamed(t, w.Object)
		eventually(t, wait, func() error { return carriesReason(tnt, w.Reason) })
	}
	for id, err := range rejected {
		if !wanted(c, id, "rejected") {
			t.Errorf("the API server rejected %s, which the validator accepts: %v", id, err)
		}
	}
	// the other way: whatever the operator stalls a tenant of the case on, the validator
	// reports at that tenant, with the same reason; a tenant the operator serves, the
	// validator does not fail
	for _, d := range docs {
		if (d.Kind != "Commune" && d.Kind != "CPAS") || rejected[d.Kind+"/"+d.Name] != nil {
			continue
		}
		tnt := tenantNamed(t, d.Kind+"/"+d.Name)
		var blocked *metav1.Condition // the stall or the wait on a dependency, nil when served
		eventually(t, wait, func() error {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(tnt), tnt); err != nil {
				return err
			}
			conds, gen := tnt.TenantStatus().Conditions, tnt.GetGeneration()
			stalled := meta.FindStatusCondition(conds, v1alpha1.ConditionStalled)
			waiting := meta.FindStatusCondition(conds, v1alpha1.ConditionReconciling)
			ready := meta.FindStatusCondition(conds, v1alpha1.ConditionReady)
			switch {
			case stalled == nil || stalled.ObservedGeneration != gen:
				return fmt.Errorf("%s not reconciled at generation %d yet", d.Where(), gen)
			case stalled.Status == metav1.ConditionTrue:
				blocked = stalled
			case ready != nil && ready.Status == metav1.ConditionTrue:
				blocked = nil
			case waiting != nil && waiting.Status == metav1.ConditionTrue && !inProgress[waiting.Reason]:
				blocked = waiting
			default:
				return fmt.Errorf("%s still in progress", d.Where())
			}
			return nil
		})
		where := d.Where() + ":"
		validatorFails, validatorReason := false, false
		for _, f := range rep.Findings {
			if !strings.Contains(f.Message, where) {
				continue
			}
			validatorFails = validatorFails || f.Severity == validate.Error
			validatorReason = validatorReason || blocked != nil && f.Reason == blocked.Reason
		}
		switch {
		case blocked != nil && !validatorReason:
			t.Errorf("the operator holds %s on %s; the validator does not report it", d.Where(), blocked.Reason)
		case blocked == nil && validatorFails && !wantedFor(c, d.Kind+"/"+d.Name):
			t.Errorf("the operator serves %s; the validator fails it", d.Where())
		}
	}
}

// inProgress are the reasons of a tenant on its way to Ready, which no tree could show.
var inProgress = map[string]bool{
	v1alpha1.ReasonProgressing: true, v1alpha1.ReasonApplicationsProgressing: true,
}

// wantedFor says whether the case expects the validator to report something of an object.
func wantedFor(c validatetest.Case, object string) bool {
	for _, w := range c.Wants {
		if w.Object == object {
			return true
		}
	}
	return false
}

func wanted(c validatetest.Case, object, reason string) bool {
	for _, w := range c.Wants {
		if w.Object == object && w.Reason == reason {
			return true
		}
	}
	return false
}

func tenantNamed(t *testing.T, id string) v1alpha1.Tenant {
	t.Helper()
	kind, name, _ := strings.Cut(id, "/")
	switch kind {
	case "Commune":
		return newCommune(name, "")
	case "CPAS":
		return newCPAS(name, "")
	}
	t.Fatalf("%s is not a tenant", id)
	return nil
}

// carriesReason says whether one of the tenant's conditions has the reason.
func carriesReason(tnt v1alpha1.Tenant, reason string) error {
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(tnt), tnt); err != nil {
		return err
	}
	var seen []string
	for _, c := range tnt.TenantStatus().Conditions {
		if c.Reason == reason && c.ObservedGeneration == tnt.GetGeneration() {
			return nil
		}
		seen = append(seen, c.Type+"="+c.Reason)
	}
	return fmt.Errorf("%s %s: no condition with reason %s (conditions: %s)", tnt.TenantKind(), tnt.GetName(), reason, strings.Join(seen, ", "))
}

// appCarriesReason says whether one of a catalogue entry's conditions has the reason.
func appCarriesReason(name, reason string) error {
	app := &v1alpha1.SharedApplication{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, app); err != nil {
		return err
	}
	var seen []string
	for _, c := range app.Status.Conditions {
		if c.Reason == reason && c.ObservedGeneration == app.Generation {
			return nil
		}
		seen = append(seen, c.Type+"="+c.Reason)
	}
	return fmt.Errorf("SharedApplication %s: no condition with reason %s (conditions: %s)", name, reason, strings.Join(seen, ", "))
}

// The same, over a corpus of small trees drawn from a fixed seed: communes and CPAS with NIS codes
// current, unknown or taken twice, tiers known or not, domains of their own or taken twice, CPAS of
// a commune that exists or not, one or two per commune. The validator's reasons become the case's
// wants, and replayCase holds the operator to them and the validator to the operator's.
func TestOperatorAndValidatorAgreeOnACorpus(t *testing.T) {
	schemas, err := validate.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	codes := unusedNISCodes(t, 32)
	rng := rand.New(rand.NewPCG(18, 2026))
	pick := func(options ...string) string { return options[rng.IntN(len(options))] }
	commune := func(name, nis, tier, domain string) string {
		doc := fmt.Sprintf("apiVersion: mutualis.crtpl.be/v1alpha1\nkind: Commune\nmetadata: {name: %s}\nspec:\n  nis: %q\n", name, nis)
		if tier != "" {
			doc += fmt.Sprintf("  tier: %s\n", tier)
		}
		if domain != "" {
			doc += fmt.Sprintf("  domains: [%s]\n", domain)
		}
		return doc
	}
	cpas := func(name, communeRef string) string {
		return fmt.Sprintf("apiVersion: mutualis.crtpl.be/v1alpha1\nkind: CPAS\nmetadata: {name: %s}\nspec:\n  communeRef: %s\n", name, communeRef)
	}
	dir := t.TempDir()
	for i := range 16 {
		a, b := fmt.Sprintf("corpus%da", i), fmt.Sprintf("corpus%db", i)
		nisA := pick(codes[2*i], codes[2*i], codes[2*i], "99999")
		nisB := pick(codes[2*i+1], codes[2*i+1], nisA)
		domainA := pick("", a+".example.be")
		// "www." alone, when a has no domain, is one the schema refuses
		domainB := pick("", b+".example.be", domainA, "www."+domainA)
		docs := []string{
			commune(a, nisA, pick("", "", "S", "Huge"), domainA),
			commune(b, nisB, pick("", "M"), domainB),
			cpas(fmt.Sprintf("corpus%dc", i), pick(a, a, fmt.Sprintf("corpus%dz", i))),
		}
		if rng.IntN(3) == 0 {
			docs = append(docs, cpas(fmt.Sprintf("corpus%dd", i), a))
		}
		file := filepath.Join(dir, fmt.Sprintf("corpus-%02d.yaml", i))
		if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		c := validatetest.Case{File: file, Cluster: true}
		loaded, findings := validate.Load([]string{file})
		rep := validate.Tree(context.Background(), schemas, loaded, time.Now())
		for _, f := range append(findings, rep.Findings...) {
			kind, rest, _ := strings.Cut(f.Message, " ")
			name, _, _ := strings.Cut(rest, ":")
			if f.Severity != validate.Error || (kind != "Commune" && kind != "CPAS") {
				continue
			}
			reason := f.Reason
			if reason == "" {
				reason = "rejected" // the schema or a CEL rule
			}
			c.Wants = append(c.Wants, validatetest.Want{Object: kind + "/" + name, Reason: reason, At: "-"})
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Logf("the validator says: %v", c.Wants)
			replayCase(t, schemas, c)
		})
	}
}

// unusedNISCodes are current NIS codes that no test of this package and no bad case names, so
// that the corpus never meets another test's tenant.
func unusedNISCodes(t *testing.T, n int) []string {
	t.Helper()
	var text strings.Builder
	for _, pattern := range []string{"*_test.go", "../cmd/kubectl-mutualis/validate/testdata/bad/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			text.Write(data)
		}
	}
	var out []string
	for _, e := range registry.CurrentEntries() {
		if !strings.Contains(text.String(), e.NIS) {
			out = append(out, e.NIS)
		}
		if len(out) == n {
			return out
		}
	}
	t.Fatalf("only %d unused NIS codes", len(out))
	return nil
}
