package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenancyPolicyName is the only name a TenancyPolicy may have.
const TenancyPolicyName = "default"

// PodSecurityLevel is a Pod Security Standard level enforced in tenant namespaces.
// +kubebuilder:validation:Enum=restricted;baseline
type PodSecurityLevel string

// NISRegistryMode says whether Commune NIS codes are checked against the embedded registry.
// +kubebuilder:validation:Enum=Embedded;Disabled
type NISRegistryMode string

const (
	// NISRegistryEmbedded checks codes against the embedded list of Walloon communes.
	NISRegistryEmbedded NISRegistryMode = "Embedded"
	// NISRegistryDisabled accepts any five-digit code; spec.population is then required.
	NISRegistryDisabled NISRegistryMode = "Disabled"
)

// ServiceType is a Service type that applications may use.
// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer;ExternalName
type ServiceType string

// TenancyPolicySpec holds the cluster-wide settings of tenancy. Every field has a built-in default,
// so the policy may be absent.
type TenancyPolicySpec struct {
	// tiers, ordered by maxPopulation: a tenant gets the first tier whose maxPopulation is at least
	// its population; the last tier may leave maxPopulation unset to take everything above.
	// Defaults: S (10,000), M (20,000), L (35,000), XL (80,000), XXL.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	Tiers []Tier `json:"tiers,omitempty"`

	// cpasQuotaPercent scales a CPAS's quota relative to its commune's tier.
	// +optional
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	CPASQuotaPercent int32 `json:"cpasQuotaPercent,omitempty"`

	// network names the platform namespaces that tenants talk to.
	// +optional
	Network PolicyNetwork `json:"network,omitempty"`

	// podSecurity is the Pod Security level enforced, audited and warned in tenant namespaces.
	// +optional
	// +kubebuilder:default=restricted
	PodSecurity PodSecurityLevel `json:"podSecurity,omitempty"`

	// backup holds the backup defaults.
	// +optional
	Backup PolicyBackup `json:"backup,omitempty"`

	// retainedNamespaces governs the namespaces that Retain tenants leave behind.
	// +optional
	RetainedNamespaces PolicyRetainedNamespaces `json:"retainedNamespaces,omitempty"`

	// nisRegistry is Embedded (codes must be current Walloon communes) or Disabled (any
	// five-digit code; population required).
	// +optional
	// +kubebuilder:default=Embedded
	NISRegistry NISRegistryMode `json:"nisRegistry,omitempty"`

	// baseDomain is the cell's own DNS zone for tenants: a tenant that declares no spec.domains may
	// publish <name>.<baseDomain> (a Commune) or cpas-<name>.<baseDomain> (a CPAS). Tenants may not
	// declare domains under it themselves. Empty: tenants publish only the domains they declare.
	// +optional
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`
	BaseDomain string `json:"baseDomain,omitempty"`

	// allowedServiceTypes are the Service types that applications and tenant admins may create in
	// tenant namespaces (ClusterIP only by default). The admission policy enforces them for
	// everyone; ExternalName is in any case allowed only towards the partner tenant.
	// +optional
	// +kubebuilder:validation:MaxItems=4
	// +listType=set
	AllowedServiceTypes []ServiceType `json:"allowedServiceTypes,omitempty"`

	// allowedIngressAnnotations are the annotation keys that an Ingress of a tenant namespace may
	// carry, for everyone (the shared ingress controller reads them, and some of them would make it
	// act for one tenant against another). An entry that ends with "*" allows every key that starts
	// with what comes before it (never a whole ingress controller's prefix). Empty: the built-in
	// list of docs/security.md (ingress-nginx's rewrites, redirects, timeouts, body size, CORS, rate
	// limits and affinity; cert-manager's, kubectl's, Helm's and Argo CD's). Setting it replaces
	// that list. Configuration snippets are refused whatever this list says.
	// +optional
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/([A-Za-z0-9][-A-Za-z0-9_.]*\*?|\*)$`
	// +kubebuilder:validation:XValidation:rule="self.all(a, !a.endsWith('snippet') && !a.endsWith('snippet*') && !(a.endsWith('/*') && a.contains('ingress')))",message="configuration snippets are never allowed, nor a whole ingress controller's annotation prefix (such as nginx.ingress.kubernetes.io/*): list its annotations one by one"
	// +listType=set
	AllowedIngressAnnotations []string `json:"allowedIngressAnnotations,omitempty"`

	// allowedPriorityClasses are the PriorityClasses that pods of tenant namespaces may name. Empty
	// (the default): none, so tenant pods run at the cluster's default priority and can never
	// preempt the cell's own pods (system-node-critical, system-cluster-critical). A class the
	// cluster marks globalDefault must be listed here, since the API server writes its name into
	// pods that name none.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.all(c, !c.startsWith('system-'))",message="the system- priority classes belong to the cluster's own components: a tenant pod with one preempts them"
	// +listType=set
	AllowedPriorityClasses []string `json:"allowedPriorityClasses,omitempty"`

	// allowedRegistries are the image registries (or registry/path prefixes, such as
	// "docker.io/library" or "ghcr.io/crtpl") that the security audit accepts for tenants'
	// containers; an image from elsewhere is a finding. Empty: every registry is accepted. The audit
	// reports; it does not refuse pods.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?(/[a-z0-9._-]+)*$`
	// +listType=set
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`

	// pricing is the cell's price list: what each tenant contributes a year, which kubectl mutualis
	// report sums per tenant. The operator does not read it.
	// +optional
	Pricing *PricingSpec `json:"pricing,omitempty"`

	// hosting says where the tenants' data lives and under which law, for their records of
	// processing activities (kubectl mutualis report gdpr) and the cell's own. The operator does
	// not read it.
	// +optional
	Hosting *HostingSpec `json:"hosting,omitempty"`

	// funding are the lines of public funding that pay part of what tenants contribute (a regional
	// plan, a call for projects): kubectl mutualis report funding computes, per tenant, the
	// eligible amount, the subsidy and what remains for the tenant to pay. They are data: a new
	// line is a new entry, not a new release. The operator does not read them.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	Funding []FundingLine `json:"funding,omitempty"`
}

// ExpenseCategory names a kind of eligible expense, shared by funding lines and catalogue entries:
// hosting, remote-meetings, cybersecurity, dematerialisation.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
type ExpenseCategory string

// FundingLine is one line of public funding: who pays, for which expenses, during which period,
// how much of them and up to what.
// +kubebuilder:validation:XValidation:rule="self.to >= self.from",message="a funding line's period ends (to) on or after the day it starts (from)"
// +kubebuilder:validation:XValidation:rule="!has(self.allocation) || has(self.envelope)",message="an allocation key shares an envelope: set envelope, the line's whole budget"
type FundingLine struct {
	// name identifies the line in reports (kubectl mutualis report funding --line <name>).
	// +required
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// title is the line's name as the funder writes it, for the justification annex.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title,omitempty"`
	// funder is who pays: "Région wallonne — SPW Intérieur et Action sociale".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Funder string `json:"funder"`
	// legalBasis is the decision that grants the funding (a decree, an order, a call for projects),
	// cited in the annex.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	LegalBasis string `json:"legalBasis,omitempty"`
	// from is the first day of the eligible period.
	// +required
	From Date `json:"from"`
	// to is the last day of the eligible period.
	// +required
	To Date `json:"to"`
	// categories are the eligible expenses: the tier's participation counts when it lists one of
	// the pricing's tierCategories, an application and its seats when it lists one of the
	// application's expenseCategories.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	Categories []ExpenseCategory `json:"categories"`
	// kinds are the kinds of tenant the line funds (Commune, CPAS, Province); empty: every kind.
	// +optional
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:Enum=Commune;CPAS;Province
	// +listType=set
	Kinds []string `json:"kinds,omitempty"`
	// tiers are the tiers of the policy the line funds; empty: every tier.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]{0,15}$`
	// +listType=set
	Tiers []string `json:"tiers,omitempty"`
	// ratePercent is the share of the eligible expenses the line pays at most (75 for "at most 75 %
	// of the eligible expenses"; 100 when it pays them whole up to its caps).
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	RatePercent int32 `json:"ratePercent"`
	// caps are the lump sums a beneficiary receives at most, by kind and population category: the
	// first entry that matches the tenant applies; a tenant that matches none has no cap of this
	// kind.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Caps []FundingCap `json:"caps,omitempty"`
	// envelope is the line's whole budget, for every beneficiary of the Region (the report warns
	// when the cell's tenants alone would exceed it).
	// +optional
	Envelope Amount `json:"envelope,omitempty"`
	// allocation shares the envelope among beneficiaries by a key: each receives at most the
	// envelope times its key over the key's total.
	// +optional
	Allocation *FundingAllocation `json:"allocation,omitempty"`
	// reportsDue are the days the justification reports are due, printed on the annex.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	ReportsDue []Date `json:"reportsDue,omitempty"`
}

// FundingCap is the lump sum of one population category.
type FundingCap struct {
	// kind is the kind of tenant the cap is for (Commune, CPAS or Province); empty: every kind.
	// +optional
	// +kubebuilder:validation:Enum=Commune;CPAS;Province
	Kind string `json:"kind,omitempty"`
	// maxPopulation is the largest population of the category (a CPAS counts its commune's);
	// empty: no upper bound.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxPopulation *int32 `json:"maxPopulation,omitempty"`
	// amount is the lump sum.
	// +required
	Amount Amount `json:"amount"`
}

// AllocationKey is what a funding line shares its envelope by.
// +kubebuilder:validation:Enum=Councillors;Population;Equal
type AllocationKey string

const (
	// AllocationByCouncillors shares by the members of each tenant's council (spec.councillors).
	AllocationByCouncillors AllocationKey = "Councillors"
	// AllocationByPopulation shares by population (a CPAS counts its commune's).
	AllocationByPopulation AllocationKey = "Population"
	// AllocationEqual gives each beneficiary the same share.
	AllocationEqual AllocationKey = "Equal"
)

// FundingAllocation is the key by which a line shares its envelope.
type FundingAllocation struct {
	// key is Councillors, Population or Equal.
	// +required
	Key AllocationKey `json:"key"`
	// total is the key summed over every beneficiary of the line in the Region, not only the
	// cell's tenants (all the CPAS councillors of Wallonia, or the number of beneficiaries for
	// Equal). Empty: the sum over the cell's tenants that the line funds, which gives each a larger
	// share than the funder will; the report warns.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Total *int64 `json:"total,omitempty"`
}

// HostingSpec is where the cell runs its cluster and keeps its backups.
type HostingSpec struct {
	// operator is who runs the data centre (the cell itself, a regional body, a provider).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Operator string `json:"operator"`
	// country of the cluster's sites and of the law that governs them, as ISO 3166-1 alpha-2 (BE).
	// +required
	// +kubebuilder:validation:Pattern=`^[A-Z]{2}$`
	Country string `json:"country"`
	// sites are the data centres of the cluster (Namur, Liège).
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=atomic
	Sites []string `json:"sites,omitempty"`
	// backupSites are where the backups' object store keeps them; a site outside the cluster's
	// country is a transfer that the record says.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=atomic
	BackupSites []string `json:"backupSites,omitempty"`
	// backupCountry is the country of the backup sites, when not the cluster's.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Z]{2}$`
	BackupCountry string `json:"backupCountry,omitempty"`
}

// Amount is a sum of money in the pricing's currency, with at most two decimals, such as 1250 or
// 12.50.
// +kubebuilder:validation:Pattern=`^[0-9]{1,9}(\.[0-9]{1,2})?$`
type Amount string

// PricingSpec is the yearly participation of tenants: by tier, by application and by licence seat.
type PricingSpec struct {
	// currency of every amount, EUR by default.
	// +optional
	// +kubebuilder:default=EUR
	// +kubebuilder:validation:Pattern=`^[A-Z]{3}$`
	Currency string `json:"currency,omitempty"`

	// tiers are the yearly participation of a commune and of a CPAS of each tier.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=tier
	Tiers []TierPrice `json:"tiers,omitempty"`

	// applications are the yearly price of a subscription to an application, for each tenant that
	// subscribes to it (a CPAS that uses its commune's instance through synergy pays nothing for
	// it), and of each licence seat granted.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=application
	Applications []ApplicationPrice `json:"applications,omitempty"`

	// tierCategories are the expense categories of a tier's participation (hosting by default), as
	// funding lines name them.
	// +optional
	// +kubebuilder:default={hosting}
	// +kubebuilder:validation:MaxItems=8
	// +listType=set
	TierCategories []ExpenseCategory `json:"tierCategories,omitempty"`
}

// TierPrice is the yearly participation of the tenants of one tier.
type TierPrice struct {
	// tier is the name of a tier of the policy.
	// +required
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]{0,15}$`
	Tier string `json:"tier"`
	// commune is what a commune of the tier contributes a year.
	// +optional
	Commune Amount `json:"commune,omitempty"`
	// cpas is what a CPAS of the tier contributes a year.
	// +optional
	CPAS Amount `json:"cpas,omitempty"`
	// province is what a Province of the tier contributes a year; empty: what a commune does.
	// +optional
	Province Amount `json:"province,omitempty"`
}

// ApplicationPrice is the yearly price of one application.
type ApplicationPrice struct {
	// application is the name of a SharedApplication.
	// +required
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Application string `json:"application"`
	// perTenant is the yearly price for each tenant that subscribes.
	// +optional
	PerTenant Amount `json:"perTenant,omitempty"`
	// perSeat is the yearly price of each licence seat granted to a tenant.
	// +optional
	PerSeat Amount `json:"perSeat,omitempty"`
}

// Tier is a size class of tenant with its quota and limits.
type Tier struct {
	// name of the tier, such as S or XL.
	// +required
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]{0,15}$`
	Name string `json:"name"`

	// maxPopulation is the largest population of the tier; unset means no upper bound.
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxPopulation *int32 `json:"maxPopulation,omitempty"`

	// quota is the hard limit of the tenant's ResourceQuota.
	// +optional
	Quota corev1.ResourceList `json:"quota,omitempty"`

	// defaultRequest is the LimitRange's default container request.
	// +optional
	DefaultRequest corev1.ResourceList `json:"defaultRequest,omitempty"`

	// defaultLimit is the LimitRange's default container limit.
	// +optional
	DefaultLimit corev1.ResourceList `json:"defaultLimit,omitempty"`
}

// PolicyNetwork names the platform namespaces that tenants talk to.
type PolicyNetwork struct {
	// ingressNamespace is where the ingress controller runs; it may reach exposed ports.
	// +optional
	// +kubebuilder:default=ingress-nginx
	IngressNamespace string `json:"ingressNamespace,omitempty"`
	// dnsNamespace is where the cluster DNS runs; every tenant may reach it on port 53.
	// +optional
	// +kubebuilder:default=kube-system
	DNSNamespace string `json:"dnsNamespace,omitempty"`
	// sharedServicesNamespace holds services every tenant may reach (SMTP relay, identity provider).
	// +optional
	// +kubebuilder:default=mutualis-shared
	SharedServicesNamespace string `json:"sharedServicesNamespace,omitempty"`
	// clusterCIDRs are the cluster's own networks (pods, Services, nodes, the API server, cloud
	// metadata) that a tenant's spec.network.egressCIDRs may neither cover nor fall into: a tenant
	// reaches the cluster only through the tenant contract. Empty: the private, shared, link-local
	// and loopback ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10,
	// 169.254.0.0/16, 127.0.0.0/8, fc00::/7, fe80::/10, ::1/128), where nearly every cluster's
	// networks lie; a cell whose communes reach a private network of their own names its cluster's
	// networks exactly instead.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	ClusterCIDRs []CIDR `json:"clusterCIDRs,omitempty"`
	// externalEndpoints are the endpoints outside the cluster that the cell approves for the
	// applications that declare them (SharedApplication spec.externalEndpoints). With cidrs, the
	// network policies of the namespaces running such an application open those networks on the
	// endpoint's port; without, the endpoint is reached through the cell's egress proxy in the
	// shared-services namespace, whose allow-list the operator writes there (ConfigMap
	// mutualis-egress-allowlist): for a host whose addresses change.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// One entry per host and port (a map list, so that two appliers of the same list, as a
	// GitOps engine and a person, own its entries rather than conflict over the defaulted
	// protocol of an atomic list).
	// +listType=map
	// +listMapKey=host
	// +listMapKey=port
	ExternalEndpoints []ApprovedEndpoint `json:"externalEndpoints,omitempty"`
}

// ApprovedEndpoint is an endpoint outside the cluster that the cell lets applications reach.
type ApprovedEndpoint struct {
	Endpoint `json:",inline"`
	// cidrs are the networks the host's addresses lie in; none may touch the cluster's own
	// networks (clusterCIDRs). Empty: through the egress proxy.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	CIDRs []CIDR `json:"cidrs,omitempty"`
}

// PolicyBackup holds the backup defaults.
type PolicyBackup struct {
	// veleroNamespace is where Velero runs and where Schedules are created.
	// +optional
	// +kubebuilder:default=velero
	VeleroNamespace string `json:"veleroNamespace,omitempty"`
	// storageLocation is the Velero BackupStorageLocation to use; empty means Velero's default.
	// +optional
	StorageLocation string `json:"storageLocation,omitempty"`
	// schedule is the default cron schedule.
	// +optional
	// +kubebuilder:default="0 2 * * *"
	Schedule CronSchedule `json:"schedule,omitempty"`
	// retention is the default time a backup is kept.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$`
	Retention *metav1.Duration `json:"retention,omitempty"`
	// restoreDrills prove that each tenant's backups restore: once per period, the operator
	// restores the tenant's latest completed backup into a scratch namespace of its own, checks
	// that what the tenant held before that backup is there, records the outcome in the tenant's
	// status (RestoreVerified, status.backup.lastRestoreDrill) and deletes the scratch namespace.
	// +optional
	RestoreDrills PolicyRestoreDrills `json:"restoreDrills,omitempty"`
}

// PolicyRestoreDrills governs the restore drills of every tenant.
type PolicyRestoreDrills struct {
	// disabled stops the scheduled drills; a drill asked for with the annotation
	// mutualis.crtpl.be/restore-drill-now still runs.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
	// period is how often each tenant is drilled. Each tenant has its own moment in the period
	// (from a hash of its namespace), so that the drills of all tenants are spread over it rather
	// than run together. Defaults to 720h (30 days).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$`
	Period *metav1.Duration `json:"period,omitempty"`
	// concurrency is how many drills may run at once across the cell: each one restores a
	// tenant's objects into the cluster for a few minutes. Defaults to 2.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=50
	Concurrency int32 `json:"concurrency,omitempty"`
	// timeout is how long a drill's Velero Restore may run before the drill counts as failed and
	// its scratch namespace is deleted. Defaults to 1h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$`
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// PolicyRetainedNamespaces governs the namespaces kept after their Retain tenant was deleted.
type PolicyRetainedNamespaces struct {
	// reviewAfter is how long a kept namespace may stay before the cell is told to review it
	// (keep it on purpose, export it, or delete it): the metric
	// mutualis_retained_namespaces_overdue counts those past it, and the cell's kubectl mutualis
	// audit of every tenant (not of named tenants) names each one, so that no commune's data is
	// kept for ever by accident. Defaults to 2160h (90 days).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$`
	ReviewAfter *metav1.Duration `json:"reviewAfter,omitempty"`
}

// TenancyPolicyStatus is the observed state of the policy.
type TenancyPolicyStatus struct {
	// observedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TenancyPolicy holds the cluster-wide tenancy settings: tiers, network, Pod Security, backups. It
// is a singleton named default; without it the built-in defaults apply.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=tp,categories=mutualis
// +kubebuilder:printcolumn:name="Pod security",type=string,JSONPath=`.spec.podSecurity`
// +kubebuilder:printcolumn:name="Registry",type=string,JSONPath=`.spec.nisRegistry`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'default'",message="TenancyPolicy is a singleton: its name must be default"
type TenancyPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec holds the settings.
	// +optional
	Spec TenancyPolicySpec `json:"spec,omitempty"`

	// status is what the operator observed.
	// +optional
	Status TenancyPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// TenancyPolicyList is a list of TenancyPolicies.
type TenancyPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenancyPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TenancyPolicy{}, &TenancyPolicyList{})
}
