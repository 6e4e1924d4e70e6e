package validation

import (
	"strings"
	"testing"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

func TestEnterpriseNumber(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{in: "0841470248"},
		{in: "0841.470.248"},
		{in: "BE 0841.470.248"},
		{in: "BE0841-470-248"},
		{in: "0841470247", wantErr: "should be 48"},
		{in: "2841470248", wantErr: "starting with 0 or 1"},
		{in: "084147024", wantErr: "ten digits"},
		{in: "08414702AB", wantErr: "only digits"},
	}
	for _, tt := range tests {
		err := EnterpriseNumber(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("EnterpriseNumber(%q) = %v, want nil", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("EnterpriseNumber(%q) = %v, want error containing %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestNIS(t *testing.T) {
	tests := []struct {
		nis      string
		registry bool
		wantErr  string
	}{
		{nis: "62063", registry: true},
		{nis: "82003", registry: true}, // retired, still accepted
		{nis: "6206", registry: true, wantErr: "five-digit"},
		{nis: "6206a", registry: false, wantErr: "five-digit"},
		{nis: "06206", registry: false, wantErr: "five-digit"},
		{nis: "21004", registry: true, wantErr: "not a Walloon commune"},
		{nis: "21004", registry: false},
	}
	for _, tt := range tests {
		err := NIS(tt.nis, tt.registry)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("NIS(%q, %v) = %v, want nil", tt.nis, tt.registry, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("NIS(%q, %v) = %v, want error containing %q", tt.nis, tt.registry, err, tt.wantErr)
		}
	}
}

func TestDomainsOverlap(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"liege.be", "liege.be", true},
		{"*.liege.be", "www.liege.be", true},
		{"www.liege.be", "*.liege.be", true},
		{"*.liege.be", "*.liege.be", true},
		{"*.liege.be", "liege.be", false},
		{"*.liege.be", "a.b.liege.be", false},
		{"*.liege.be", "*.www.liege.be", false},
		{"liege.be", "herstal.be", false},
		{"*.liege.be", "xliege.be", false},
	} {
		if got := DomainsOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("DomainsOverlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		// every overlap is found through the index
		if tt.want {
			found := false
			for _, key := range DomainLookupKeys(tt.a) {
				for _, indexed := range DomainIndexKeys(tt.b) {
					found = found || key == indexed
				}
			}
			if !found {
				t.Errorf("the index does not lead from %q to %q", tt.a, tt.b)
			}
		}
	}
}

func TestDeclaredAndDefaultDomains(t *testing.T) {
	if err := DeclaredDomain("liege.apps.crtpl.be", "apps.crtpl.be"); err == nil {
		t.Error("a domain under the cell's base domain must be refused")
	}
	if err := DeclaredDomain("*.apps.crtpl.be", "apps.crtpl.be"); err == nil {
		t.Error("a wildcard of the cell's base domain must be refused")
	}
	if err := DeclaredDomain("liege.be", "apps.crtpl.be"); err != nil {
		t.Error(err)
	}
	if got := DefaultDomain("", "liege", "apps.crtpl.be"); got != "liege.apps.crtpl.be" {
		t.Errorf("commune default %q", got)
	}
	if got := DefaultDomain("cpas-", "liege", "apps.crtpl.be"); got != "cpas-liege.apps.crtpl.be" {
		t.Errorf("CPAS default %q", got)
	}
	if got := DefaultDomain("", "liege", ""); got != "" {
		t.Errorf("without a base domain: %q", got)
	}
}

func TestEgressCIDRStaysOutOfTheCluster(t *testing.T) {
	cluster := []string{"10.0.0.0/8", "169.254.0.0/16", "fc00::/7"}
	for egress, ok := range map[string]bool{
		"192.0.2.0/24":       true,
		"2001:db8::/32":      true,
		"0.0.0.0/0":          false, // covers everything
		"10.0.0.0/8":         false,
		"10.96.0.1/32":       false, // the API server's Service address
		"169.254.169.254/32": false, // cloud metadata
		"8.0.0.0/6":          false, // 8.0.0.0 to 11.255.255.255, around 10.0.0.0/8
		"8.0.0.0/7":          true,  // 8.0.0.0 to 9.255.255.255, just below it
		"::/0":               false,
		"fd00::/8":           false,
		"not-a-network":      false,
	} {
		err := EgressCIDR(egress, cluster)
		if (err == nil) != ok {
			t.Errorf("EgressCIDR(%s) = %v, want allowed=%v", egress, err, ok)
		}
	}
}

func TestHostOfDomainsIsTheAdmissionRule(t *testing.T) {
	domains := []string{"seraing.be", "*.seraing.be"}
	for host, want := range map[string]bool{
		"seraing.be": true, "www.seraing.be": true, "*.seraing.be": true,
		"a.b.seraing.be": false, "herstal.be": false, "xseraing.be": false, "": false,
	} {
		if got := HostOfDomains(host, domains); got != want {
			t.Errorf("HostOfDomains(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestExternalNameNamespace(t *testing.T) {
	for target, want := range map[string]string{
		"jitsi.mutualis-app-jitsi.svc.cluster.local": "mutualis-app-jitsi",
		"files.cpas-liege.svc":                       "cpas-liege",
		"Files.CPAS-Liege.svc.cluster.local.":        "cpas-liege",
		"intranet.example.org":                       "",
		"a.b.svc.example.org":                        "",
	} {
		if got := ExternalNameNamespace(target); got != want {
			t.Errorf("ExternalNameNamespace(%q) = %q, want %q", target, got, want)
		}
	}
}

func TestLicence(t *testing.T) {
	for _, tc := range []struct {
		model v1alpha1.LicenceModel
		spdx  string
		want  string
	}{
		{v1alpha1.LicenceOpenSource, "AGPL-3.0-only", ""},
		{"", "GPL-2.0-or-later", ""},
		{v1alpha1.LicenceOpenSource, "MIT OR Apache-2.0", ""},
		{v1alpha1.LicenceOpenSource, "", ""},
		{v1alpha1.LicencePerSeat, "LicenseRef-commercial", ""},
		{v1alpha1.LicencePerInstance, "Apache-2.0", ""},
		{v1alpha1.LicenceOpenSource, "AGPL-3", "not an expression of the SPDX licence list"},
		{v1alpha1.LicenceOpenSource, "GPL-2.0", "not an expression of the SPDX licence list"}, // deprecated
		{v1alpha1.LicenceOpenSource, "LicenseRef-commercial", "a licence of the publisher's own"},
		{v1alpha1.LicencePerSeat, "Proprietary", "not an expression of the SPDX licence list"},
	} {
		err := Licence(tc.model, tc.spdx)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %q: %v, want %q", tc.model, tc.spdx, err, tc.want)
		}
	}
}
