package controllers

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// One subscriber's parameters never keep the instance's list from being written for the others:
// when the list outgrows its budget, the heaviest parameters are left out first, and only as many
// as needed.
func TestSubscribersListFitsWhateverOneTenantWrites(t *testing.T) {
	var subs []Subscriber
	for i := 0; i < 40; i++ {
		subs = append(subs, Subscriber{Tenant: fmt.Sprintf("commune-%02d", i), Name: fmt.Sprintf("%02d", i),
			Parameters: map[string]string{"room-prefix": fmt.Sprintf("salle-%02d", i)}})
	}
	subs[7].Parameters = map[string]string{"a": strings.Repeat("x", 1024), "b": strings.Repeat("y", 1024)}
	subs[21].Parameters = map[string]string{"a": strings.Repeat("z", 900)}
	raw, _ := json.Marshal(subs)
	budget := len(raw) - 1500 // the heaviest alone must go
	fitted, omitted, err := fitSubscribers(subs, budget)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(fitted)
	if len(out) > budget {
		t.Fatalf("the list is %d bytes, over its budget of %d", len(out), budget)
	}
	if strings.Join(omitted, ",") != "commune-07" || !fitted[7].ParametersOmitted || fitted[7].Parameters != nil {
		t.Fatalf("omitted %v; want commune-07 only, flagged", omitted)
	}
	for i, s := range fitted {
		if i != 7 && (s.ParametersOmitted || len(s.Parameters) == 0) {
			t.Errorf("%s lost its parameters for another tenant's", s.Tenant)
		}
	}
	if subs[7].Parameters == nil {
		t.Error("fitSubscribers changed its input")
	}
	// a list within budget is left as it is
	if same, omitted, _ := fitSubscribers(subs[:3], budget); len(omitted) != 0 || len(same) != 3 {
		t.Errorf("a small list was changed: %v", omitted)
	}
}
