package controllers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/validate"
)

// The CRD schema, evaluated by the API server itself, refuses bad input before any controller
// sees it. Each case shows the message the user gets from kubectl.
func TestAdmissionRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		obj  client.Object
		want string
	}{
		{name: "four-digit NIS", obj: newCommune("adm-four", "6206"), want: "nis must be the five-digit Statbel code"},
		{name: "non-numeric NIS", obj: newCommune("adm-alpha", "6206a"), want: "nis must be the five-digit Statbel code"},
		{name: "NIS with a leading zero", obj: newCommune("adm-zero", "06206"), want: "nis must be the five-digit Statbel code"},
		{name: "BCE number with a wrong checksum", obj: newCommune("adm-bce", "62063", func(c *v1alpha1.Commune) {
			c.Spec.EnterpriseNumber = "0841.470.247"
		}), want: "enterpriseNumber fails the BCE check"},
		{name: "BCE number starting with 2", obj: newCommune("adm-bce2", "62063", func(c *v1alpha1.Commune) {
			c.Spec.EnterpriseNumber = "2841470248"
		}), want: "spec.enterpriseNumber"},
		{name: "CPAS BCE number with a wrong checksum", obj: newCPAS("adm-cpas-bce", "liege", func(c *v1alpha1.CPAS) {
			c.Spec.EnterpriseNumber = "0212.345.678"
		}), want: "enterpriseNumber fails the BCE check"},
		{name: "TenancyPolicy with another name", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "strict"}},
			want: "TenancyPolicy is a singleton: its name must be default"},
		{name: "unknown pod security level", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.TenancyPolicySpec{PodSecurity: "privileged"}}, want: "spec.podSecurity"},
		{name: "egress CIDR that is not a CIDR", obj: newCommune("adm-cidr", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Network.EgressCIDRs = []v1alpha1.CIDR{"10.0.0.300/8"}
		}), want: "must be a network in CIDR notation"},
		{name: "cron schedule with four fields", obj: newCommune("adm-cron", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Backup.Schedule = "0 2 * *"
		}), want: "spec.backup.schedule"},
		{name: "contact without an address", obj: newCommune("adm-contact", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Contacts = &v1alpha1.TenantContacts{DPO: &v1alpha1.Contact{Name: "DPO", Email: "dpo at liege.be"}}
		}), want: "spec.contacts.dpo.email"},
		{name: "contact language other than French or German", obj: newCommune("adm-lang", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Contacts = &v1alpha1.TenantContacts{Language: "nl"}
		}), want: "spec.contacts.language"},
		{name: "hosting country that is not ISO 3166", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.TenancyPolicySpec{Hosting: &v1alpha1.HostingSpec{Operator: "CRTPL", Country: "Belgium"}}}, want: "spec.hosting.country"},
		{name: "funding line that ends before it starts", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.TenancyPolicySpec{Funding: []v1alpha1.FundingLine{{Name: "late", Funder: "Région wallonne", From: "2022-12-31", To: "2021-10-01",
				Categories: []v1alpha1.ExpenseCategory{"remote-meetings"}, RatePercent: 100}}}}, want: "a funding line's period ends (to) on or after the day it starts"},
		{name: "funding allocation without an envelope", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.TenancyPolicySpec{Funding: []v1alpha1.FundingLine{{Name: "shared", Funder: "Région wallonne", From: "2021-10-01", To: "2022-12-31",
				Categories: []v1alpha1.ExpenseCategory{"remote-meetings"}, RatePercent: 100,
				Allocation: &v1alpha1.FundingAllocation{Key: v1alpha1.AllocationByCouncillors}}}}}, want: "an allocation key shares an envelope: set envelope"},
		{name: "funding rate above 100 %", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.TenancyPolicySpec{Funding: []v1alpha1.FundingLine{{Name: "generous", Funder: "Région wallonne", From: "2021-10-01", To: "2022-12-31",
				Categories: []v1alpha1.ExpenseCategory{"hosting"}, RatePercent: 120}}}}, want: "spec.funding[0].ratePercent"},
		{name: "funding line with a date that is not a day", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.TenancyPolicySpec{Funding: []v1alpha1.FundingLine{{Name: "french-date", Funder: "Région wallonne", From: "01/10/2021", To: "2022-12-31",
				Categories: []v1alpha1.ExpenseCategory{"hosting"}, RatePercent: 75}}}}, want: "spec.funding[0].from"},
		{name: "tenant that joined on a day that does not exist", obj: newCommune("adm-joined", "62063", func(c *v1alpha1.Commune) {
			c.Spec.JoinedOn = "2021-02-30"
		}), want: "spec.joinedOn"},
		{name: "subscription since a date that is not a day", obj: newCommune("adm-since", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "jitsi", Since: "2021-10"}}
		}), want: "spec.applications[0].since"},
		{name: "a council of no one", obj: newCPAS("adm-council", "liege", func(c *v1alpha1.CPAS) {
			c.Spec.Councillors = ptr.To[int32](0)
		}), want: "spec.councillors"},
		{name: "catalogue entry with an expense category in words", obj: &v1alpha1.SharedApplication{ObjectMeta: metav1.ObjectMeta{Name: "adm-category"},
			Spec: v1alpha1.SharedApplicationSpec{ExpenseCategories: []v1alpha1.ExpenseCategory{"Remote meetings"}}}, want: "spec.expenseCategories[0]"},
		{name: "unknown deletion policy", obj: newCommune("adm-delete", "62063", func(c *v1alpha1.Commune) {
			c.Spec.DeletionPolicy = "Purge"
		}), want: "spec.deletionPolicy"},
		{name: "service account as admin", obj: newCommune("adm-sa", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: "kube-system"}}
		}), want: "admins may only be of kind User or Group"},
		{name: "every authenticated user as admins", obj: newCommune("adm-sys-authn", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "liege-it"}, {Kind: "Group", Name: "system:authenticated"}}
		}), want: "admins may not name a system: user or group"},
		{name: "an admin group without a name", obj: newCommune("adm-noname", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: ""}}
		}), want: "each admin needs a name"},
		{name: "a viewer without a name", obj: newCommune("adm-noname-viewer", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Viewers = []rbacv1.Subject{{Kind: "User", Name: ""}}
		}), want: "each viewer needs a name"},
		{name: "every ServiceAccount as admins", obj: newCommune("adm-sys-sa", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "system:serviceaccounts"}}
		}), want: "admins may not name a system: user or group"},
		{name: "the cluster's administrators as admins", obj: newCommune("adm-sys-masters", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "Group", Name: "system:masters"}}
		}), want: "admins may not name a system: user or group"},
		{name: "the anonymous user as viewer", obj: newCommune("adm-sys-anon", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Viewers = []rbacv1.Subject{{Kind: "User", Name: "system:anonymous"}}
		}), want: "viewers may not name a system: user or group"},
		{name: "the unauthenticated as CPAS viewers", obj: newCPAS("adm-sys-unauthn", "liege", func(c *v1alpha1.CPAS) {
			c.Spec.Viewers = []rbacv1.Subject{{Kind: "Group", Name: "system:unauthenticated"}}
		}), want: "viewers may not name a system: user or group"},
		{name: "another namespace's ServiceAccount spelled as a user", obj: newCommune("adm-sys-sa-user", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Admins = []rbacv1.Subject{{Kind: "User", Name: "system:serviceaccount:commune-namur:default"}}
		}), want: "admins may not name a system: user or group"},
		{name: "the same application twice", obj: newCommune("adm-dup", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "nextcloud"}, {Name: "nextcloud"}}
		}), want: "Duplicate value"},
		{name: "zero seats", obj: newCommune("adm-seats", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "office", Seats: ptr.To[int32](0)}}
		}), want: "spec.applications[0].seats"},
		{name: "commune name that is too long for its namespace", obj: newCommune(strings.Repeat("a", 56), "62063"),
			want: "at most 55 characters"},
		{name: "domain in capitals", obj: newCommune("adm-domain-case", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Domains = []v1alpha1.Domain{"Liege.BE"}
		}), want: "spec.domains[0]"},
		{name: "wildcard of two labels", obj: newCommune("adm-domain-wild", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Domains = []v1alpha1.Domain{"*.*.liege.be"}
		}), want: "spec.domains[0]"},
		{name: "domain with a path", obj: newCommune("adm-domain-path", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Domains = []v1alpha1.Domain{"liege.be/admin"}
		}), want: "spec.domains[0]"},
		{name: "Shared application whose namespace name would be too long", obj: &v1alpha1.SharedApplication{
			ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 51)},
			Spec:       v1alpha1.SharedApplicationSpec{Version: "1", Instance: v1alpha1.InstanceShared, Resources: []v1alpha1.Resource{}}},
			want: "its instance runs in the namespace mutualis-app-<name>"},
		{name: "policy that allows a configuration snippet", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.TenancyPolicySpec{AllowedIngressAnnotations: []string{"nginx.ingress.kubernetes.io/configuration-snippet"}}},
			want: "configuration snippets are never allowed"},
		{name: "policy that allows every ingress-nginx annotation", obj: &v1alpha1.TenancyPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: v1alpha1.TenancyPolicySpec{AllowedIngressAnnotations: []string{"nginx.ingress.kubernetes.io/*"}}},
			want: "configuration snippets are never allowed"},
		{name: "parameter value of more than 1024 characters", obj: newCommune("adm-param", "62063", func(c *v1alpha1.Commune) {
			c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "jitsi", Parameters: map[string]string{"room-prefix": strings.Repeat("x", 1025)}}}
		}), want: "a parameter value may be at most 1024 characters"},
		{name: "commune whose default domain would be a CPAS's", obj: newCommune("cpas-liege", "62063"),
			want: "may not start with cpas-"},
		{name: "CPAS without commune", obj: newCPAS("adm-nocommune", ""), want: "spec.communeRef"},
		{name: "licence pool with negative seats", obj: &v1alpha1.LicencePool{ObjectMeta: metav1.ObjectMeta{Name: "adm-pool"},
			Spec: v1alpha1.LicencePoolSpec{Application: "office", Seats: -1}}, want: "spec.seats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := k8s.Create(context.Background(), tt.obj)
			if err == nil {
				_ = k8s.Delete(context.Background(), tt.obj)
				t.Fatalf("the API server accepted it; want a rejection mentioning %q", tt.want)
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want an Invalid error mentioning %q", err, tt.want)
			}
			t.Logf("the user sees: %v", err)
			// the offline validator refuses the same manifest, with the API server's words
			if msg := validatorErrors(t, tt.obj); !strings.Contains(msg, tt.want) {
				t.Errorf("kubectl mutualis validate says %q; want it to mention %q", msg, tt.want)
			}
		})
	}
}

// validatorErrors writes an object as a manifest and returns the errors the validator finds in it.
func validatorErrors(t *testing.T, obj client.Object) string {
	t.Helper()
	gvk, err := apiutil.GVKForObject(obj, k8s.Scheme())
	if err != nil {
		t.Fatal(err)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	delete(u, "status")
	manifest := &unstructured.Unstructured{Object: u}
	manifest.SetGroupVersionKind(gvk)
	unstructured.RemoveNestedField(manifest.Object, "metadata", "creationTimestamp")
	data, err := yaml.Marshal(manifest.Object)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	schemas, err := validate.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	docs, findings := validate.Load([]string{file})
	rep := validate.Tree(context.Background(), schemas, docs, time.Now())
	var errs []string
	for _, f := range append(findings, rep.Findings...) {
		if f.Severity == validate.Error {
			errs = append(errs, f.Message)
		}
	}
	return strings.Join(errs, "; ")
}

func TestAdmissionAcceptsWellFormedNumbers(t *testing.T) {
	for i, number := range []string{"0841470248", "0841.470.248", "BE0841.470.248"} {
		c := newCommune("adm-ok-"+string(rune('a'+i)), "62063", func(c *v1alpha1.Commune) { c.Spec.EnterpriseNumber = number })
		if err := k8s.Create(context.Background(), c, client.DryRunAll); err != nil {
			t.Errorf("enterprise number %s refused: %v", number, err)
		}
	}
	for i, schedule := range []string{"0 2 * * *", "*/15 3-5 * * mon-fri", "@daily"} {
		c := newCommune("adm-cron-"+string(rune('a'+i)), "62063", func(c *v1alpha1.Commune) { c.Spec.Backup.Schedule = v1alpha1.CronSchedule(schedule) })
		if err := k8s.Create(context.Background(), c, client.DryRunAll); err != nil {
			t.Errorf("schedule %q refused: %v", schedule, err)
		}
	}
}

func TestImmutableFieldsCannotChange(t *testing.T) {
	ctx := context.Background()
	c := newCommune("visé", "62108")
	c.Name = "vise"
	create(t, c)
	base := c.DeepCopy()
	c.Spec.NIS = "62063"
	err := k8s.Patch(ctx, c, client.MergeFrom(base))
	if err == nil || !strings.Contains(err.Error(), "nis is immutable") {
		t.Fatalf("changing the NIS: got %v, want a refusal", err)
	}
	t.Logf("the user sees: %v", err)

	cpas := newCPAS("vise", "vise")
	create(t, cpas)
	cbase := cpas.DeepCopy()
	cpas.Spec.CommuneRef = "liege"
	err = k8s.Patch(ctx, cpas, client.MergeFrom(cbase))
	if err == nil || !strings.Contains(err.Error(), "communeRef is immutable") {
		t.Fatalf("changing communeRef: got %v, want a refusal", err)
	}
	t.Logf("the user sees: %v", err)
}

// The shipped samples pass admission as they are, read as a GitOps tool applies them (the
// kustomizations of config/samples followed), with strict field validation.
func TestSamplesAreValid(t *testing.T) {
	docs, findings := validate.Load([]string{filepath.Join("..", "config", "samples")})
	for _, f := range findings {
		t.Errorf("%s", f)
	}
	checked := 0
	for _, d := range docs {
		if !strings.HasPrefix(d.APIVersion, v1alpha1.GroupVersion.Group+"/") {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(d.Raw); err != nil {
			t.Fatalf("%s:%d: %v", d.File, d.Line, err)
		}
		if err := k8s.Create(context.Background(), obj, client.DryRunAll, client.FieldValidation("Strict")); err != nil {
			t.Errorf("%s:%d: %s %s refused: %v", d.File, d.Line, obj.GetKind(), obj.GetName(), err)
		}
		checked++
	}
	if checked < 15 {
		t.Errorf("only %d sample objects found", checked)
	}
}
