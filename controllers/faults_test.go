package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/status"
)

// denyWrites makes the API server refuse writes of one resource whose name is given, with a
// ValidatingAdmissionPolicy, and returns a function that lifts the refusal.
func denyWrites(t *testing.T, group, resource, name string) func() {
	t.Helper()
	ctx := context.Background()
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "test-deny-" + name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: []string{resource}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{Expression: fmt.Sprintf("object.metadata.name != %q", name), Message: "the test refuses this write"}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	create(t, policy)
	create(t, binding)
	return func() {
		if err := k8s.Delete(ctx, binding); err != nil {
			t.Fatal(err)
		}
		if err := k8s.Delete(ctx, policy); err != nil {
			t.Fatal(err)
		}
	}
}

// An error of the API server while writing the Velero Schedule is an error, retried with backoff:
// once the API server accepts the write again, the Schedule is there within seconds, not at the
// next periodic look.
func TestScheduleWriteErrorIsRetriedWithBackoff(t *testing.T) {
	lift := denyWrites(t, "velero.io", "schedules", backup.ScheduleName("commune-florenville"))
	// the policy takes a moment to reach the admission chain: wait until it refuses
	eventually(t, wait, func() error {
		probe := backup.Schedule("commune-florenville", backup.Settings{Schedule: "0 2 * * *", VeleroNamespace: "velero", Retention: time.Hour})
		if err := k8s.Create(context.Background(), probe, client.DryRunAll); err == nil {
			return fmt.Errorf("the refusal is not in force yet")
		}
		return nil
	})
	c := newCommune("florenville", "85011")
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionBackupReady, metav1.ConditionFalse, v1alpha1.ReasonApplyFailed))
	t.Logf("the user sees: %s", message(c, v1alpha1.ConditionBackupReady))
	lift()
	eventually(t, 15*time.Second, func() error {
		_, err := veleroObject("Schedule", backup.ScheduleName("commune-florenville"))
		return err
	})
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionReady, metav1.ConditionTrue, ""))
}

// An application that uses a kind whose CRD is not installed yet waits for it, and is applied once
// it is there; the tenant is never Stalled for it.
func TestApplicationWaitsForAMissingCRD(t *testing.T) {
	widget := `{"apiVersion":"widgets.mutualis.test/v1","kind":"Widget","metadata":{"name":"panel"},"spec":{"size":"small"}}`
	create(t, webApp("dashboard", "nginxinc/nginx-unprivileged:1.26", widget))
	c := newCommune("bertrix", "84009", func(c *v1alpha1.Commune) {
		c.Spec.Applications = []v1alpha1.ApplicationSubscription{{Name: "dashboard"}}
	})
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionApplicationsReady, metav1.ConditionFalse, v1alpha1.ReasonKindNotInstalled))
	t.Logf("the user sees: %s", message(c, v1alpha1.ConditionApplicationsReady))
	if err := conditionIs(c, v1alpha1.ConditionStalled, metav1.ConditionFalse, "")(); err != nil {
		t.Fatal(err)
	}
	if err := conditionIs(c, v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonKindNotInstalled)(); err != nil {
		t.Fatal(err)
	}

	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.widgets.mutualis.test"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "widgets.mutualis.test", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true)}}}},
		},
	}
	u := &unstructured.Unstructured{}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		t.Fatal(err)
	}
	u.Object = raw
	u.SetAPIVersion("apiextensions.k8s.io/v1")
	u.SetKind("CustomResourceDefinition")
	create(t, u)
	// as a platform engineer does for a catalogue kind outside the operator's own role
	create(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "mutualis-widgets"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{"widgets.mutualis.test"}, Resources: []string{"widgets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}}})
	create(t, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "mutualis-widgets"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "mutualis-widgets"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "mutualis", Namespace: "mutualis-system"}}})
	eventually(t, 2*kindRetry+wait, func() error {
		w := &unstructured.Unstructured{}
		w.SetAPIVersion("widgets.mutualis.test/v1")
		w.SetKind("Widget")
		return k8s.Get(context.Background(), client.ObjectKey{Namespace: "commune-bertrix", Name: "panel"}, w)
	})
}

// Part conditions describe the latest reconcile: when a tenant stalls before a part's step runs,
// the part no longer says True. Access runs before anything can stall a tenant, so it says what it
// observed.
func TestPartConditionsOfAnEarlierGenerationDoNotStayTrue(t *testing.T) {
	c := newCommune("libin", "84035")
	create(t, c)
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionQuotaReady, metav1.ConditionTrue, ""))
	patch(t, c, func() { c.Spec.Tier = "Huge" })
	eventually(t, wait, conditionIs(c, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonUnknownTier))
	for _, p := range status.Parts {
		part := p.Type
		if part == v1alpha1.ConditionAccessReady {
			if err := conditionIs(c, part, metav1.ConditionTrue, v1alpha1.ReasonApplied)(); err != nil {
				t.Error(err)
			}
			continue
		}
		if err := conditionIs(c, part, metav1.ConditionUnknown, v1alpha1.ReasonUnknownTier)(); err != nil {
			t.Error(err)
		}
	}
}
