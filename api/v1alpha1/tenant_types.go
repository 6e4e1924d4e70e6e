package v1alpha1

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels, annotations and the finalizer that mutualis puts on, or reads from, the objects it manages.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedByValue = "mutualis"
	LabelTenant    = "mutualis.crtpl.be/tenant"
	LabelKind      = "mutualis.crtpl.be/kind"
	LabelNIS       = "mutualis.crtpl.be/nis"
	LabelTier      = "mutualis.crtpl.be/tier"
	LabelOrphaned  = "mutualis.crtpl.be/orphaned"
	// AnnotationOrphanedAt is when the tenant of a kept (orphaned) namespace was deleted, RFC 3339:
	// the cell reviews a namespace kept longer than the policy's retainedNamespaces.reviewAfter.
	AnnotationOrphanedAt = "mutualis.crtpl.be/orphaned-at"
	LabelPartOf          = "app.kubernetes.io/part-of"
	AnnotationAdopt      = "mutualis.crtpl.be/adopt"
	// AnnotationDomains, AnnotationPartner and AnnotationServiceTypes publish on a tenant namespace
	// what the admission policy needs to know of its tenant: the domains its Ingresses may use
	// (comma-separated), the namespace of its partner tenant, the Service types the policy allows.
	// Tenant admins cannot change a namespace, so they cannot change these.
	AnnotationDomains      = "mutualis.crtpl.be/domains"
	AnnotationPartner      = "mutualis.crtpl.be/partner"
	AnnotationServiceTypes = "mutualis.crtpl.be/service-types"
	// AnnotationSharedInstances lists the namespaces of the shared instances a tenant subscribes
	// to, towards which its ExternalName Services may point.
	AnnotationSharedInstances = "mutualis.crtpl.be/shared-instances"
	// AnnotationSubjects lists the people of the tenant's spec (admins and viewers) as Kind:name,
	// comma-separated: the only users and groups that a tenant's own RoleBindings may name. The
	// access step also reads it back to know whether the spec's people changed since it last
	// swept the tenant's own RoleBindings.
	AnnotationSubjects = "mutualis.crtpl.be/subjects"
	// AnnotationIngressAnnotations lists the annotation keys (or key prefixes ending in *) that
	// the tenant's Ingresses may carry: the policy's allowedIngressAnnotations.
	AnnotationIngressAnnotations = "mutualis.crtpl.be/ingress-annotations"
	// AnnotationPriorityClasses lists the PriorityClasses the tenant's pods may name: the policy's
	// allowedPriorityClasses.
	AnnotationPriorityClasses = "mutualis.crtpl.be/priority-classes"
	// AnnotationOffboarding is set by kubectl mutualis offboard on a tenant that leaves the cell,
	// with the step under way (export, purge, delete); the operator shows it as the condition
	// Offboarding.
	AnnotationOffboarding = "mutualis.crtpl.be/offboarding"
	Finalizer             = "mutualis.crtpl.be/finalizer"
	FieldOwner            = "mutualis"
	NamespacePrefixCom    = "commune-"
	NamespacePrefixCPAS   = "cpas-"
	// NamespacePrefixProvince prefixes a Province's namespace.
	NamespacePrefixProvince = "province-"
	// NamespacePrefixInstance prefixes the namespace of a Shared application's instance.
	NamespacePrefixInstance = "mutualis-app-"
	// NamespacePrefixRestoreDrill prefixes the scratch namespace a restore drill restores a
	// tenant's backup into; LabelRestoreDrill on it, and on the drill's Velero Restore, names the
	// tenant namespace drilled. A scratch namespace carries no tenant label: no tenant's network
	// policy, admission rule or role reaches it.
	NamespacePrefixRestoreDrill = "mutualis-drill-"
	LabelRestoreDrill           = "mutualis.crtpl.be/restore-drill"
	// LabelPrefixInstanceSubscriber, followed by a Shared application's name, labels the namespace
	// of each tenant that subscribes to its instance (value "true"): the instance's network policy
	// admits the namespaces that carry it, so that policy stays the same size and is not rewritten
	// when tenants come and go. Tenant admins cannot change a namespace, so they cannot forge it.
	LabelPrefixInstanceSubscriber = "mutualis.crtpl.be/instance-"
)

// InstanceSubscriberLabel is the label key that a subscriber's namespace carries for the instance
// of the Shared application app (at most 50 characters, so the key's name stays within 63).
func InstanceSubscriberLabel(app string) string { return LabelPrefixInstanceSubscriber + app }

// DeletionPolicy says what happens to a tenant's namespace when the tenant object is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionPolicyRetain keeps the namespace and its data, labelled as orphaned.
	DeletionPolicyRetain DeletionPolicy = "Retain"
	// DeletionPolicyDelete deletes the namespace (after a final backup when backups are on).
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// TenantSpec is the part of the specification that a Commune and a CPAS share.
type TenantSpec struct {
	// displayName is the name shown to people. It defaults to the name people use by the NIS
	// registry: the commune's ("Liège", and the German one in the German-speaking Community, "Amel"),
	// and for a CPAS its centre's ("CPAS de Liège", "CPAS d'Ans" with the elision, "ÖSHZ Amel").
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// enterpriseNumber is the tenant's own number in the Crossroads Bank for Enterprises (BCE/KBO):
	// ten digits starting with 0 or 1, optionally written with a BE prefix and dots
	// (0841.470.248). The last two digits must be 97 minus the first eight modulo 97.
	// +optional
	// +kubebuilder:validation:MaxLength=14
	// +kubebuilder:validation:Pattern=`^(BE)?[01][0-9]{3}\.?[0-9]{3}\.?[0-9]{3}$`
	// +kubebuilder:validation:XValidation:rule="97 - int(self.replace('BE', '').replace('.', '').substring(0, 8)) % 97 == int(self.replace('BE', '').replace('.', '').substring(8, 10))",message="enterpriseNumber fails the BCE check: the last two digits must be 97 minus the first eight modulo 97; copy the number from the Crossroads Bank for Enterprises"
	EnterpriseNumber string `json:"enterpriseNumber,omitempty"`

	// tier overrides the tier that the population selects. It must name a tier of the
	// TenancyPolicy (S, M, L, XL, XXL by default); an unknown name stalls the tenant.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]{0,15}$`
	Tier string `json:"tier,omitempty"`

	// admins are the users and groups bound to the mutualis-tenant-admin ClusterRole in the tenant
	// namespace: they run the tenant's applications but cannot change its quota, network policies,
	// role bindings or namespace. Never a system: user or group. Removing one takes its access away
	// at the next reconcile, whatever the tenant's state, with every RoleBinding of the tenant's own
	// that named it.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(s, s.kind == 'User' || s.kind == 'Group')",message="admins may only be of kind User or Group"
	// +kubebuilder:validation:XValidation:rule="self.all(s, size(s.name) > 0)",message="each admin needs a name: a user or a group of the cell's identity provider"
	// +kubebuilder:validation:XValidation:rule="self.all(s, !s.name.startsWith('system:'))",message="admins may not name a system: user or group: system:authenticated, system:serviceaccounts and the like are every user or every ServiceAccount of the cluster, system:masters the cluster's own administrators; name the commune's people or its own group"
	// +listType=atomic
	Admins []rbacv1.Subject `json:"admins,omitempty"`

	// viewers are the users and groups bound to the read-only mutualis-tenant-viewer ClusterRole in
	// the tenant namespace.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(s, s.kind == 'User' || s.kind == 'Group')",message="viewers may only be of kind User or Group"
	// +kubebuilder:validation:XValidation:rule="self.all(s, size(s.name) > 0)",message="each viewer needs a name: a user or a group of the cell's identity provider"
	// +kubebuilder:validation:XValidation:rule="self.all(s, !s.name.startsWith('system:'))",message="viewers may not name a system: user or group: system:authenticated, system:serviceaccounts and the like are every user or every ServiceAccount of the cluster; name the commune's people or its own group"
	// +listType=atomic
	Viewers []rbacv1.Subject `json:"viewers,omitempty"`

	// applications are the SharedApplications of the catalogue that this tenant subscribes to.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	Applications []ApplicationSubscription `json:"applications,omitempty"`

	// network holds the tenant's extra network allowances.
	// +optional
	Network NetworkSpec `json:"network,omitempty"`

	// domains are the host names the tenant may publish in Ingresses, such as liege.be and
	// *.liege.be (a wildcard covers one label). Each must be unique across tenants: a tenant whose
	// domain another, older tenant holds is Stalled. A domain may not lie under the TenancyPolicy's
	// baseDomain, which the cell allocates itself. Empty: the tenant's default domain under the
	// baseDomain (<name>.<baseDomain> for a Commune, cpas-<name>.<baseDomain> for a CPAS), or none
	// when the policy sets no baseDomain.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	Domains []Domain `json:"domains,omitempty"`

	// backup overrides the policy's backup defaults for this tenant.
	// +optional
	Backup BackupSpec `json:"backup,omitempty"`

	// deletionPolicy says what happens to the namespace when this object is deleted: Retain (the
	// default) keeps it and its data, labelled mutualis.crtpl.be/orphaned; Delete removes it after
	// the final backup.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// suspend stops applying changes to the tenant and scales its workloads to zero; data is kept.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// contacts are the tenant's people the cell writes to: its record of processing activities
	// (kubectl mutualis report gdpr) names them as the controller's contacts.
	// +optional
	Contacts *TenantContacts `json:"contacts,omitempty"`

	// joinedOn is the day the tenant joined the cell: its participation, and what a funding line
	// counts of it, run from that day (kubectl mutualis report funding). Empty: the day this object
	// was created, which a tenant recreated from Git would lose; set it when the tenant joins.
	// +optional
	JoinedOn Date `json:"joinedOn,omitempty"`

	// councillors is the number of members of the tenant's council (the communal council, or the
	// CPAS's council of social action): the key by which a funding line may share its envelope
	// (remote council meetings were funded per councillor). The operator does not read it.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Councillors *int32 `json:"councillors,omitempty"`
}

// Date is a calendar day written YYYY-MM-DD, such as 2021-10-01.
// +kubebuilder:validation:Format=date
// +kubebuilder:validation:MaxLength=10
type Date string

// TenantContacts are the people of a commune or CPAS whom the cell addresses.
type TenantContacts struct {
	// it is the tenant's IT contact: the cell's counterpart for the service.
	// +optional
	IT *Contact `json:"it,omitempty"`
	// dpo is the tenant's data protection officer (GDPR art. 37): the record names them, and the
	// cell tells them of an incident that touches the tenant's data.
	// +optional
	DPO *Contact `json:"dpo,omitempty"`
	// directorGeneral is the commune's or CPAS's director general (directeur général), who signs
	// for the controller.
	// +optional
	DirectorGeneral *Contact `json:"directorGeneral,omitempty"`
	// language is the language the tenant is written to in, and of its reports when --lang is not
	// given: fr or de (the communes of the German-speaking Community and their ÖSHZ).
	// +optional
	// +kubebuilder:validation:Enum=fr;de
	Language string `json:"language,omitempty"`
}

// Contact is one person, or one function's shared address.
type Contact struct {
	// name of the person or of the function (Service informatique).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// email address.
	// +required
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+\.[^@\s]+$`
	Email string `json:"email"`
	// phone number, as people dial it (+32 81 24 60 00).
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^\+?[0-9 ./()-]{6,32}$`
	Phone string `json:"phone,omitempty"`
}

// ApplicationSubscription subscribes a tenant to one SharedApplication of the catalogue.
type ApplicationSubscription struct {
	// name is the name of a SharedApplication.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// seats is the number of licence seats requested of a PerSeat application, where it is required,
	// also for a CPAS that uses the commune's copy through synergy (its staff are users of the
	// licence). An OpenSource application refuses it; a PerInstance one takes one seat per copy
	// that runs and does not read it.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Seats *int32 `json:"seats,omitempty"`

	// parameters are the tenant's values for the parameters that the application declares, each at
	// most 1024 characters. A shared instance reads its subscribers' parameters from one
	// ConfigMap: when they do not all fit in it, the largest are left out of it (and the
	// SharedApplication's InstanceReady condition says whose), never the other subscribers.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 1024)",message="a parameter value may be at most 1024 characters: larger configuration belongs in the catalogue entry"
	Parameters map[string]string `json:"parameters,omitempty"`

	// since is the day the subscription began: its price, and what a funding line counts of it, run
	// from that day. Empty: the tenant's joinedOn. Add it with an application subscribed after
	// the tenant joined.
	// +optional
	Since Date `json:"since,omitempty"`
}

// Domain is a DNS host name in lower case, optionally a wildcard of one label: liege.be, *.liege.be.
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`
type Domain string

// CIDR is an IPv4 or IPv6 network in CIDR notation, such as 192.0.2.0/24.
// +kubebuilder:validation:MaxLength=43
// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="must be a network in CIDR notation, such as 192.0.2.0/24"
type CIDR string

// NetworkSpec holds a tenant's extra network allowances on top of the tenant contract.
type NetworkSpec struct {
	// egressCIDRs are networks outside the cluster that the tenant's pods may reach.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	EgressCIDRs []CIDR `json:"egressCIDRs,omitempty"`
}

// CronSchedule is a five-field cron expression (minute hour day-of-month month day-of-week) or one
// of the macros @hourly, @daily, @weekly, @monthly, @yearly.
// +kubebuilder:validation:MaxLength=100
// +kubebuilder:validation:Pattern=`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9*,/?LW#-]+|[A-Za-z]{3}) +([0-9*,/?LW#-]+) +([0-9*,/?LW#-]+) +([0-9*,/?LW#-]+|[A-Za-z]{3}) +([0-9*,/?LW#-]+|[A-Za-z]{3}(-[A-Za-z]{3})?))$`
type CronSchedule string

// BackupSpec holds a tenant's backup settings; empty fields take the TenancyPolicy's defaults.
type BackupSpec struct {
	// schedule is when Velero backs the tenant namespace up, as a cron expression.
	// +optional
	Schedule CronSchedule `json:"schedule,omitempty"`

	// retention is how long each backup is kept, as a duration such as 720h.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$`
	Retention *metav1.Duration `json:"retention,omitempty"`

	// disabled turns scheduled backups off for this tenant.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
}

// TenantStatus is the observed state that a Commune and a CPAS share.
type TenantStatus struct {
	// observedGeneration is the generation of the spec that this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// namespace is the tenant namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// tier is the tier in force.
	// +optional
	Tier string `json:"tier,omitempty"`

	// applicationSummary is "ready/total" over the subscribed applications, for kubectl get.
	// +optional
	ApplicationSummary string `json:"applicationSummary,omitempty"`

	// applications reports each subscription.
	// +optional
	// +listType=map
	// +listMapKey=name
	Applications []ApplicationStatus `json:"applications,omitempty"`

	// licences reports the seats requested and granted per licensed application.
	// +optional
	// +listType=map
	// +listMapKey=application
	Licences []LicenceStatus `json:"licences,omitempty"`

	// backup reports the tenant's Velero backups.
	// +optional
	Backup *BackupStatus `json:"backup,omitempty"`

	// audit summarises the latest security audit of the tenant (kubectl mutualis audit lists the
	// findings themselves).
	// +optional
	Audit *AuditSummary `json:"audit,omitempty"`

	// conditions: Ready, Reconciling and Stalled (the kstatus set that GitOps tools read), and one
	// per part of the tenant: NamespaceReady, QuotaReady, NetworkReady, AccessReady,
	// ApplicationsReady, LicencesReady, BackupReady; plus NISCurrent for a Commune, AuditClean and
	// RestoreVerified (the latest restore drill), which do not count towards Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ApplicationStatus reports one subscribed application.
type ApplicationStatus struct {
	// name of the SharedApplication.
	// +required
	Name string `json:"name"`
	// version of the SharedApplication applied.
	// +optional
	Version string `json:"version,omitempty"`
	// observedGeneration is the generation of the SharedApplication applied.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// ready is true when every workload of the application is available.
	// +optional
	Ready bool `json:"ready"`
	// message says why the application is not ready.
	// +optional
	Message string `json:"message,omitempty"`
	// resources is the inventory of the objects mutualis applied for this application
	// (Kind.group/name): when they leave the render, mutualis prunes them from this list and from
	// nothing else.
	// +optional
	// +kubebuilder:validation:MaxItems=512
	// +listType=atomic
	Resources []string `json:"resources,omitempty"`
}

// LicenceStatus reports the seats of one licensed application.
type LicenceStatus struct {
	// application is the SharedApplication name.
	// +required
	Application string `json:"application"`
	// requested seats.
	// +optional
	Requested int32 `json:"requested"`
	// granted seats.
	// +optional
	Granted int32 `json:"granted"`
}

// BackupStatus reports the tenant's Velero backups.
type BackupStatus struct {
	// lastSuccessfulTime is when the latest completed backup finished.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`
	// lastPhase is the Velero phase of the latest backup.
	// +optional
	LastPhase string `json:"lastPhase,omitempty"`
	// lastBackup is the name of the latest Velero Backup.
	// +optional
	LastBackup string `json:"lastBackup,omitempty"`
	// lastVerifiedRestore is when a restore drill last proved that this tenant's backups restore.
	// +optional
	LastVerifiedRestore *metav1.Time `json:"lastVerifiedRestore,omitempty"`
	// lastRestoreDrill is the outcome of the latest restore drill, passed or failed.
	// +optional
	LastRestoreDrill *RestoreDrillStatus `json:"lastRestoreDrill,omitempty"`
}

// RestoreDrillResult is the outcome of a restore drill.
// +kubebuilder:validation:Enum=Passed;Failed
type RestoreDrillResult string

const (
	RestoreDrillPassed RestoreDrillResult = "Passed"
	RestoreDrillFailed RestoreDrillResult = "Failed"
)

// RestoreDrillStatus records one restore drill of a tenant.
type RestoreDrillStatus struct {
	// restore is the Velero Restore of the drill, kept in Velero's namespace until the next drill
	// (velero restore describe <restore> --details).
	// +required
	Restore string `json:"restore"`
	// backup is the Velero Backup it restored.
	// +required
	Backup string `json:"backup"`
	// startTime is when the drill began, completionTime when its outcome was recorded.
	// +required
	StartTime metav1.Time `json:"startTime"`
	// +required
	CompletionTime metav1.Time `json:"completionTime"`
	// result is Passed or Failed.
	// +required
	Result RestoreDrillResult `json:"result"`
	// message says what was checked, or what was missing and what to do.
	// +optional
	Message string `json:"message,omitempty"`
	// objects is how many of the tenant's ConfigMaps, Secrets and PersistentVolumeClaims older than
	// the backup were looked for in the restore.
	// +optional
	Objects int32 `json:"objects,omitempty"`
	// token is the value of the mutualis.crtpl.be/restore-drill-now annotation that asked for the
	// drill, when one did: the same value never asks twice.
	// +optional
	Token string `json:"token,omitempty"`
}

// AuditSummary counts the findings of a tenant's latest security audit by severity.
type AuditSummary struct {
	// lastEvaluationTime is when the operator last evaluated the audit.
	// +required
	LastEvaluationTime metav1.Time `json:"lastEvaluationTime"`

	// observedGeneration is the tenant's generation at that evaluation.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// high findings break the tenant's isolation or data safety: fix them now.
	// +optional
	High int32 `json:"high,omitempty"`

	// medium findings weaken the tenant's security: plan their fix.
	// +optional
	Medium int32 `json:"medium,omitempty"`

	// low findings are good practice not followed.
	// +optional
	Low int32 `json:"low,omitempty"`

	// info findings are facts to review, such as who has access to the namespace.
	// +optional
	Info int32 `json:"info,omitempty"`
}
