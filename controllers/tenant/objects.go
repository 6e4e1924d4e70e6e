package tenant

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Names of the objects of the tenant contract.
const (
	QuotaName          = "mutualis-quota"
	LimitRangeName     = "mutualis-limits"
	AdminsBindingName  = "mutualis-admins"
	ViewersBindingName = "mutualis-viewers"
	AdminRoleName      = "mutualis-tenant-admin"
	ViewerRoleName     = "mutualis-tenant-viewer"
)

// Resolved is a tenant with everything the builders need, as the reconciler read and decided it.
type Resolved struct {
	Kind v1alpha1.TenantKind
	// Name is the name of the Commune or CPAS object; UID its uid, for owner references.
	Name string
	UID  types.UID
	// Namespace is the tenant namespace.
	Namespace string
	NIS       string
	Tier      v1alpha1.Tier
	// Quota is the tier's quota, already scaled for a CPAS.
	Quota corev1.ResourceList
	Spec  *v1alpha1.TenantSpec
	// Partner is the namespace of the partner tenant (a commune's CPAS, a CPAS's commune), empty when
	// there is none.
	Partner string
	// ExposedPorts are the ports the tenant's applications expose; PartnerExposedPorts the partner's.
	ExposedPorts        []v1alpha1.ExposedPort
	PartnerExposedPorts []v1alpha1.ExposedPort
	// Domains are the host names the tenant may publish: its spec's, or its default under the
	// policy's base domain.
	Domains []string
	// SharedInstances are the instances of Shared applications the tenant subscribes to, with the
	// ports they expose.
	SharedInstances []SharedAccess
	// ExternalEndpoints are the approved external endpoints of the applications the tenant runs
	// in its namespace, which its network policy opens.
	ExternalEndpoints []ExternalAccess
	// Applications are the catalogue entries the tenant uses, by subscription or through synergy:
	// its people may read those SharedApplications (their data protection, for the GDPR record).
	Applications []string
	// Orphaned marks a Retain tenant being deleted: its namespace is kept, labelled as orphaned;
	// OrphanedAt is when the tenant's deletion began.
	Orphaned   bool
	OrphanedAt time.Time
}

// SharedAccess is a tenant's way to one shared instance: its namespace and exposed ports.
type SharedAccess struct {
	// Application is the SharedApplication's name, Namespace its instance's.
	Application string
	Namespace   string
	Ports       []v1alpha1.ExposedPort
}

// LabelPodSecurityEnforce is the Pod Security admission label that a tenant namespace carries at
// the policy's level (with its audit and warn twins).
const LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"

// Labels are the labels of every object mutualis manages for the tenant.
func Labels(namespace string) map[string]string {
	return map[string]string{
		v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue,
		v1alpha1.LabelTenant:    namespace,
	}
}

// AccessRoleName is the name of the ClusterRole and ClusterRoleBinding that let a tenant's people
// read their own tenant object.
func AccessRoleName(namespace string) string { return "mutualis-tenant-" + namespace }

func ownerReference(t *Resolved) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(v1alpha1.GroupVersion.String()).
		WithKind(t.Kind.Kind()).
		WithName(t.Name).
		WithUID(t.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// Namespace is the tenant namespace with its identity and Pod Security labels. It never carries an
// owner reference, whatever the deletion policy: under a foreground cascade (Argo CD's default
// prune, kubectl delete --cascade=foreground) the garbage collector deletes every dependent of the
// tenant before the tenant's finalizer runs, so a reference would let it delete the council's data
// before the final backup. The finalizer alone deletes a tenant namespace.
func Namespace(t *Resolved, policy v1alpha1.TenancyPolicySpec) *corev1ac.NamespaceApplyConfiguration {
	level := string(policy.PodSecurity)
	labels := Labels(t.Namespace)
	labels[v1alpha1.LabelKind] = string(t.Kind)
	labels[v1alpha1.LabelNIS] = t.NIS
	labels[v1alpha1.LabelTier] = t.Tier.Name
	labels[LabelPodSecurityEnforce] = level
	labels["pod-security.kubernetes.io/audit"] = level
	labels["pod-security.kubernetes.io/warn"] = level
	if t.Orphaned {
		labels[v1alpha1.LabelOrphaned] = "true"
	} else {
		// the instances this tenant subscribes to admit its namespace by this label
		for _, si := range t.SharedInstances {
			labels[v1alpha1.InstanceSubscriberLabel(si.Application)] = "true"
		}
	}
	ns := corev1ac.Namespace(t.Namespace).WithLabels(labels)
	if t.Orphaned && !t.OrphanedAt.IsZero() {
		ns.WithAnnotations(map[string]string{v1alpha1.AnnotationOrphanedAt: t.OrphanedAt.UTC().Format(time.RFC3339)})
	}
	if !t.Orphaned {
		// what the admission policy reads of the tenant; an orphaned namespace loses them, and with
		// them every Ingress host, ExternalName Service and Service type but ClusterIP
		types := make([]string, 0, len(policy.AllowedServiceTypes))
		for _, st := range policy.AllowedServiceTypes {
			types = append(types, string(st))
		}
		instances := make([]string, 0, len(t.SharedInstances))
		for _, si := range t.SharedInstances {
			instances = append(instances, si.Namespace)
		}
		ns.WithAnnotations(map[string]string{
			v1alpha1.AnnotationDomains:            strings.Join(t.Domains, ","),
			v1alpha1.AnnotationPartner:            t.Partner,
			v1alpha1.AnnotationServiceTypes:       strings.Join(types, ","),
			v1alpha1.AnnotationSharedInstances:    strings.Join(instances, ","),
			v1alpha1.AnnotationSubjects:           SpecSubjects(t),
			v1alpha1.AnnotationIngressAnnotations: strings.Join(policy.AllowedIngressAnnotations, ","),
			v1alpha1.AnnotationPriorityClasses:    strings.Join(policy.AllowedPriorityClasses, ","),
		})
	}
	return ns
}

// ResourceQuota caps what the tenant may consume, from its tier.
func ResourceQuota(t *Resolved) *corev1ac.ResourceQuotaApplyConfiguration {
	return corev1ac.ResourceQuota(QuotaName, t.Namespace).
		WithLabels(Labels(t.Namespace)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(t.Quota.DeepCopy()))
}

// LimitRange gives containers that declare nothing the tier's default requests and limits, so that
// they count against the quota instead of being refused by it.
func LimitRange(t *Resolved) *corev1ac.LimitRangeApplyConfiguration {
	item := corev1ac.LimitRangeItem().WithType(corev1.LimitTypeContainer)
	if len(t.Tier.DefaultRequest) > 0 {
		item.WithDefaultRequest(t.Tier.DefaultRequest.DeepCopy())
	}
	if len(t.Tier.DefaultLimit) > 0 {
		item.WithDefault(t.Tier.DefaultLimit.DeepCopy())
	}
	return corev1ac.LimitRange(LimitRangeName, t.Namespace).
		WithLabels(Labels(t.Namespace)).
		WithSpec(corev1ac.LimitRangeSpec().WithLimits(item))
}

func subjects(in []rbacv1.Subject) []*rbacv1ac.SubjectApplyConfiguration {
	out := make([]*rbacv1ac.SubjectApplyConfiguration, 0, len(in))
	for _, s := range in {
		out = append(out, rbacv1ac.Subject().WithKind(s.Kind).WithName(s.Name).WithAPIGroup(rbacv1.GroupName))
	}
	return out
}

// RoleBindings bind the tenant's admins and viewers to the shipped tenant ClusterRoles, inside the
// tenant namespace only.
func RoleBindings(t *Resolved) []*rbacv1ac.RoleBindingApplyConfiguration {
	binding := func(name, role string, who []rbacv1.Subject) *rbacv1ac.RoleBindingApplyConfiguration {
		return rbacv1ac.RoleBinding(name, t.Namespace).
			WithLabels(Labels(t.Namespace)).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(role)).
			WithSubjects(subjects(who)...)
	}
	return []*rbacv1ac.RoleBindingApplyConfiguration{
		binding(AdminsBindingName, AdminRoleName, t.Spec.Admins),
		binding(ViewersBindingName, ViewerRoleName, t.Spec.Viewers),
	}
}

// AccessClusterRole lets the tenant's people get, by name, what of the cluster's scope is theirs:
// their own Commune or CPAS object, their namespace (its labels show the Pod Security level and
// the partner), the catalogue entries they use, and the cell's TenancyPolicy (where their data
// lives, their backups' defaults and the price list, which their record of processing activities
// and their reports cite). Nothing else, and no list: a list cannot be narrowed to names, and
// would show every other tenant.
func AccessClusterRole(t *Resolved) *rbacv1ac.ClusterRoleApplyConfiguration {
	resource := t.Kind.Resource()
	rules := []*rbacv1ac.PolicyRuleApplyConfiguration{
		rbacv1ac.PolicyRule().
			WithAPIGroups(v1alpha1.GroupVersion.Group).
			WithResources(resource, resource+"/status").
			WithResourceNames(t.Name).
			WithVerbs("get"),
		rbacv1ac.PolicyRule().
			WithAPIGroups(corev1.GroupName).
			WithResources("namespaces").
			WithResourceNames(t.Namespace).
			WithVerbs("get"),
		rbacv1ac.PolicyRule().
			WithAPIGroups(v1alpha1.GroupVersion.Group).
			WithResources("tenancypolicies").
			WithResourceNames(v1alpha1.TenancyPolicyName).
			WithVerbs("get"),
	}
	// a rule without names would grant every entry: none at all when the tenant uses none
	if len(t.Applications) > 0 {
		rules = append(rules, rbacv1ac.PolicyRule().
			WithAPIGroups(v1alpha1.GroupVersion.Group).
			WithResources("sharedapplications").
			WithResourceNames(t.Applications...).
			WithVerbs("get"))
	}
	return rbacv1ac.ClusterRole(AccessRoleName(t.Namespace)).
		WithLabels(Labels(t.Namespace)).
		WithOwnerReferences(ownerReference(t)).
		WithRules(rules...)
}

// AccessClusterRoleBinding binds the tenant's admins and viewers to AccessClusterRole.
func AccessClusterRoleBinding(t *Resolved) *rbacv1ac.ClusterRoleBindingApplyConfiguration {
	who := append(append([]rbacv1.Subject{}, t.Spec.Admins...), t.Spec.Viewers...)
	return rbacv1ac.ClusterRoleBinding(AccessRoleName(t.Namespace)).
		WithLabels(Labels(t.Namespace)).
		WithOwnerReferences(ownerReference(t)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(AccessRoleName(t.Namespace))).
		WithSubjects(uniqueSubjects(subjects(who))...)
}

func uniqueSubjects(in []*rbacv1ac.SubjectApplyConfiguration) []*rbacv1ac.SubjectApplyConfiguration {
	seen := map[[2]string]bool{}
	var out []*rbacv1ac.SubjectApplyConfiguration
	for _, s := range in {
		key := [2]string{*s.Kind, *s.Name}
		if !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	return out
}

// Names of the tenant's network policies. All of them always exist, possibly without rules, so
// that a change of the spec never leaves a stale policy behind.
const (
	NetpolDefaultDeny    = "mutualis-default-deny"
	NetpolSameNamespace  = "mutualis-same-namespace"
	NetpolDNS            = "mutualis-dns"
	NetpolIngress        = "mutualis-ingress-controller"
	NetpolPartner        = "mutualis-partner"
	NetpolSharedServices = "mutualis-shared-services"
	NetpolEgressCIDRs    = "mutualis-egress-cidrs"
	NetpolSharedInstance = "mutualis-shared-instances"
)

// NetworkPolicyNames are the names of the policies every tenant namespace has.
func NetworkPolicyNames() []string {
	return []string{NetpolDefaultDeny, NetpolSameNamespace, NetpolDNS, NetpolIngress, NetpolPartner,
		NetpolSharedServices, NetpolEgressCIDRs, NetpolSharedInstance, NetpolExternalEndpoints}
}

// namespaceName selects a namespace by the label the API server sets itself, which no tenant can
// forge on its own namespace.
func namespaceName(name string) *networkingv1ac.NetworkPolicyPeerApplyConfiguration {
	return networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(
		metav1ac.LabelSelector().WithMatchLabels(map[string]string{corev1.LabelMetadataName: name}))
}

// policyPorts are the pod ports of exposed Service ports, deduplicated and sorted so that the
// desired object is stable. An empty list must never reach a rule: a rule without ports allows
// every port.
func policyPorts(exposed []v1alpha1.ExposedPort) []*networkingv1ac.NetworkPolicyPortApplyConfiguration {
	seen := map[string]intstr.IntOrString{}
	for _, e := range exposed {
		p := intstr.FromInt32(e.Port)
		if e.TargetPort != nil {
			p = *e.TargetPort
		}
		seen[p.String()] = p
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*networkingv1ac.NetworkPolicyPortApplyConfiguration, 0, len(keys))
	for _, k := range keys {
		out = append(out, networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(seen[k]))
	}
	return out
}

// sameNamespaceSpec lets every pod of the namespace reach every other.
func sameNamespaceSpec(spec *networkingv1ac.NetworkPolicySpecApplyConfiguration) *networkingv1ac.NetworkPolicySpecApplyConfiguration {
	all := metav1ac.LabelSelector()
	return spec.
		WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(all))).
		WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(networkingv1ac.NetworkPolicyPeer().WithPodSelector(all)))
}

// dnsSpec lets the pods ask the cluster DNS, on port 53 only.
func dnsSpec(spec *networkingv1ac.NetworkPolicySpecApplyConfiguration, policy v1alpha1.TenancyPolicySpec) *networkingv1ac.NetworkPolicySpecApplyConfiguration {
	return spec.WithEgress(networkingv1ac.NetworkPolicyEgressRule().
		WithTo(namespaceName(policy.Network.DNSNamespace)).
		WithPorts(
			networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolUDP).WithPort(intstr.FromInt32(53)),
			networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(intstr.FromInt32(53))))
}

// NetworkPolicies isolate the tenant: everything is denied, then same-namespace traffic, DNS, the
// ingress controller on exposed ports, the partner tenant on exposed ports, the shared services and
// the tenant's egress CIDRs are allowed.
func NetworkPolicies(t *Resolved, policy v1alpha1.TenancyPolicySpec) []*networkingv1ac.NetworkPolicyApplyConfiguration {
	all := metav1ac.LabelSelector()
	newPolicy := func(types ...networkingv1.PolicyType) *networkingv1ac.NetworkPolicySpecApplyConfiguration {
		return networkingv1ac.NetworkPolicySpec().WithPodSelector(all).WithPolicyTypes(types...)
	}
	wrap := func(name string, spec *networkingv1ac.NetworkPolicySpecApplyConfiguration) *networkingv1ac.NetworkPolicyApplyConfiguration {
		return networkingv1ac.NetworkPolicy(name, t.Namespace).WithLabels(Labels(t.Namespace)).WithSpec(spec)
	}
	ingress, egress := networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress

	sameNamespace := sameNamespaceSpec(newPolicy(ingress, egress))
	dns := dnsSpec(newPolicy(egress), policy)

	ingressController := newPolicy(ingress)
	if ports := policyPorts(t.ExposedPorts); len(ports) > 0 {
		ingressController.WithIngress(networkingv1ac.NetworkPolicyIngressRule().
			WithFrom(namespaceName(policy.Network.IngressNamespace)).WithPorts(ports...))
	}

	partner := newPolicy(ingress, egress)
	if t.Partner != "" {
		if ports := policyPorts(t.ExposedPorts); len(ports) > 0 {
			partner.WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(namespaceName(t.Partner)).WithPorts(ports...))
		}
		if ports := policyPorts(t.PartnerExposedPorts); len(ports) > 0 {
			partner.WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(namespaceName(t.Partner)).WithPorts(ports...))
		}
	}

	shared := newPolicy(egress).
		WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(namespaceName(policy.Network.SharedServicesNamespace)))

	cidrs := newPolicy(egress)
	if len(t.Spec.Network.EgressCIDRs) > 0 {
		rule := networkingv1ac.NetworkPolicyEgressRule()
		for _, c := range t.Spec.Network.EgressCIDRs {
			rule.WithTo(networkingv1ac.NetworkPolicyPeer().WithIPBlock(networkingv1ac.IPBlock().WithCIDR(string(c))))
		}
		cidrs.WithEgress(rule)
	}

	// the shared instances the tenant subscribes to, on their exposed ports only
	instances := newPolicy(egress)
	for _, si := range t.SharedInstances {
		if ports := policyPorts(si.Ports); len(ports) > 0 {
			instances.WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(namespaceName(si.Namespace)).WithPorts(ports...))
		}
	}

	return []*networkingv1ac.NetworkPolicyApplyConfiguration{
		wrap(NetpolDefaultDeny, newPolicy(ingress, egress)),
		wrap(NetpolSharedInstance, instances),
		wrap(NetpolSameNamespace, sameNamespace),
		wrap(NetpolDNS, dns),
		wrap(NetpolIngress, ingressController),
		wrap(NetpolPartner, partner),
		wrap(NetpolSharedServices, shared),
		wrap(NetpolEgressCIDRs, cidrs),
		wrap(NetpolExternalEndpoints, externalEndpointsSpec(newPolicy(egress), t.ExternalEndpoints)),
	}
}

// InstanceNamespaceName is the namespace of the instance of a Shared application.
func InstanceNamespaceName(app string) string { return v1alpha1.NamespacePrefixInstance + app }

// Instance is the shared instance of an application as the builders need it.
type Instance struct {
	// Application is the SharedApplication's name; Namespace the instance's namespace.
	Application string
	Namespace   string
	PodSecurity v1alpha1.PodSecurityLevel
	Exposed     []v1alpha1.ExposedPort
	// ExternalEndpoints are the application's approved external endpoints reached directly.
	ExternalEndpoints []ExternalAccess
}

// InstanceNamespace is the namespace of a shared instance, with its own Pod Security level. It
// carries the tenant label too, so that the admission policies of tenant isolation hold there.
func InstanceNamespace(in Instance, policy v1alpha1.TenancyPolicySpec) *corev1ac.NamespaceApplyConfiguration {
	level := string(in.PodSecurity)
	if level == "" {
		level = "restricted" // the schema's default, for an object written before the field existed
	}
	labels := Labels(in.Namespace)
	labels[v1alpha1.LabelKind] = string(v1alpha1.KindSharedInstance)
	labels[v1alpha1.LabelPartOf] = in.Application
	labels[LabelPodSecurityEnforce] = level
	labels["pod-security.kubernetes.io/audit"] = level
	labels["pod-security.kubernetes.io/warn"] = level
	types := make([]string, 0, len(policy.AllowedServiceTypes))
	for _, st := range policy.AllowedServiceTypes {
		types = append(types, string(st))
	}
	return corev1ac.Namespace(in.Namespace).WithLabels(labels).WithAnnotations(map[string]string{
		v1alpha1.AnnotationServiceTypes: strings.Join(types, ","),
	})
}

// InstanceNetworkPolicies isolate a shared instance like a tenant: everything denied but its own
// namespace, DNS, the ingress controller and its subscribers on the exposed ports, and the shared
// services.
func InstanceNetworkPolicies(in Instance, policy v1alpha1.TenancyPolicySpec) []*networkingv1ac.NetworkPolicyApplyConfiguration {
	all := metav1ac.LabelSelector()
	newPolicy := func(types ...networkingv1.PolicyType) *networkingv1ac.NetworkPolicySpecApplyConfiguration {
		return networkingv1ac.NetworkPolicySpec().WithPodSelector(all).WithPolicyTypes(types...)
	}
	wrap := func(name string, spec *networkingv1ac.NetworkPolicySpecApplyConfiguration) *networkingv1ac.NetworkPolicyApplyConfiguration {
		return networkingv1ac.NetworkPolicy(name, in.Namespace).WithLabels(Labels(in.Namespace)).WithSpec(spec)
	}
	ingress, egress := networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress
	ports := policyPorts(in.Exposed)
	subscribers := newPolicy(ingress)
	if len(ports) > 0 {
		// the subscribers by their namespaces' label, which only mutualis sets on tenant namespaces:
		// a list of their names would grow with every tenant and be rewritten at each one
		subscriberNamespaces := networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{
			v1alpha1.InstanceSubscriberLabel(in.Application): "true",
			v1alpha1.LabelManagedBy:                          v1alpha1.ManagedByValue,
		}))
		subscribers.WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithPorts(ports...).
			WithFrom(namespaceName(policy.Network.IngressNamespace), subscriberNamespaces))
	}
	return []*networkingv1ac.NetworkPolicyApplyConfiguration{
		wrap(NetpolDefaultDeny, newPolicy(ingress, egress)),
		wrap(NetpolSameNamespace, sameNamespaceSpec(newPolicy(ingress, egress))),
		wrap(NetpolDNS, dnsSpec(newPolicy(egress), policy)),
		wrap(NetpolSubscribers, subscribers),
		wrap(NetpolSharedServices, newPolicy(egress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(namespaceName(policy.Network.SharedServicesNamespace)))),
		wrap(NetpolExternalEndpoints, externalEndpointsSpec(newPolicy(egress), in.ExternalEndpoints)),
	}
}

// NetpolSubscribers lets the subscribers of a shared instance and the ingress controller in.
const NetpolSubscribers = "mutualis-subscribers"
