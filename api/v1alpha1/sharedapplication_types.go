package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// LicenceModel says how an application is licensed.
// +kubebuilder:validation:Enum=OpenSource;PerSeat;PerInstance
type LicenceModel string

const (
	// LicenceOpenSource needs no seats.
	LicenceOpenSource LicenceModel = "OpenSource"
	// LicencePerSeat counts seats per user, granted from a LicencePool.
	LicencePerSeat LicenceModel = "PerSeat"
	// LicencePerInstance counts one seat per tenant instance, granted from a LicencePool.
	LicencePerInstance LicenceModel = "PerInstance"
)

// InstanceMode says whether an application runs once per tenant, once for the cell, or outside it.
// +kubebuilder:validation:Enum=PerTenant;Shared;External
type InstanceMode string

const (
	// InstancePerTenant renders the application into every subscribed tenant's namespace.
	InstancePerTenant InstanceMode = "PerTenant"
	// InstanceShared runs one instance for the cell in its own namespace, mutualis-app-<name>.
	InstanceShared InstanceMode = "Shared"
	// InstanceExternal is an application that iMio or a vendor hosts for the tenants, outside the
	// cell: mutualis runs nothing for it, and records its subscriptions for the barometer, the GDPR
	// record and the funding reports.
	InstanceExternal InstanceMode = "External"
)

// SharedInstanceSpec sizes and places the one instance of a Shared application.
type SharedInstanceSpec struct {
	// podSecurity is the Pod Security level of the instance's namespace: restricted (the default)
	// or baseline, for images that cannot run as restricted (Jitsi's). Tenants keep the policy's
	// level; only this namespace gets the exception.
	// +optional
	// +kubebuilder:default=restricted
	PodSecurity PodSecurityLevel `json:"podSecurity,omitempty"`
	// quota is the hard limit of the instance namespace's ResourceQuota; empty means the largest
	// built-in tier's.
	// +optional
	Quota corev1.ResourceList `json:"quota,omitempty"`
	// parameters are the instance's values of the parameters the application declares; the
	// subscribers' own values go to the subscribers list, not into the render.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Parameters map[string]string `json:"parameters,omitempty"`
	// scaling sets the replicas of the instance's workloads by the number of its subscribers, so
	// that one catalogue entry serves ten councils and five hundred: a video bridge for every so
	// many tenants. It overrides the replicas of the base and of its patches.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=workload
	Scaling []InstanceScaling `json:"scaling,omitempty"`
	// subscriberTokens makes the operator issue each subscribing tenant its own signed token
	// (a JSON Web Token, HS256) in a Secret of its namespace, scoped to that tenant: an
	// application that checks the token's subject (Jitsi's rooms <tenant>/<room>) opens a
	// tenant's rooms to that tenant's token only.
	// +optional
	SubscriberTokens *SubscriberTokens `json:"subscriberTokens,omitempty"`
	// generatedSecrets are Secrets of the instance's namespace that the operator creates with a
	// random value (32 random bytes, base64url) for each key that is missing, so that the
	// instance's passwords and signing secret are never typed by hand nor left out: an existing
	// value is never changed (to rotate one, delete its key or the Secret).
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	GeneratedSecrets []GeneratedSecret `json:"generatedSecrets,omitempty"`
}

// HostedBy is who runs an External application.
type HostedBy struct {
	// operator is the organisation that runs it (iMio, a vendor).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Operator string `json:"operator"`
	// country where its data lives, ISO 3166-1 alpha-2 (BE).
	// +required
	// +kubebuilder:validation:Pattern=`^[A-Z]{2}$`
	Country string `json:"country"`
	// url is where its users reach it.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^https://`
	URL string `json:"url,omitempty"`
	// contract is the contract or agreement under which it is hosted (the purchasing central's
	// reference).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Contract string `json:"contract,omitempty"`
}

// Endpoint is a host name and port outside the cluster.
type Endpoint struct {
	// host is the DNS name the application calls, in lower case.
	// +required
	Host Domain `json:"host"`
	// port the application calls.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
	// protocol: TCP (the default) or UDP.
	// +optional
	// +kubebuilder:default=TCP
	// +kubebuilder:validation:Enum=TCP;UDP
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// ExternalEndpoint is a service outside the cluster that an application calls, and what it
// receives.
type ExternalEndpoint struct {
	Endpoint `json:",inline"`
	// recipient is who receives the data sent there, as the GDPR record names it (SPF BOSA, the
	// Banque-Carrefour de la Sécurité Sociale, a payment provider).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Recipient string `json:"recipient"`
	// purpose says what the application sends there and why.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Purpose string `json:"purpose,omitempty"`
}

// GeneratedSecret is a Secret of a shared instance whose keys the operator fills when missing.
type GeneratedSecret struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// keys that must hold a value.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[-._a-zA-Z0-9]+$`
	Keys []string `json:"keys"`
}

// InstanceScaling sets one workload's replicas from the number of subscribers.
// +kubebuilder:validation:XValidation:rule="!has(self.maxReplicas) || !has(self.minReplicas) || self.maxReplicas >= self.minReplicas",message="maxReplicas must be at least minReplicas"
type InstanceScaling struct {
	// workload is the name of a Deployment or StatefulSet of the base.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Workload string `json:"workload"`
	// subscribersPerReplica is how many subscribers one replica serves: replicas are the
	// subscribers divided by it, rounded up.
	// +required
	// +kubebuilder:validation:Minimum=1
	SubscribersPerReplica int32 `json:"subscribersPerReplica"`
	// minReplicas is the fewest replicas, whatever the subscribers (default 1).
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	MinReplicas int32 `json:"minReplicas,omitempty"`
	// maxReplicas is the most replicas; beyond it the instance's condition says that the
	// subscribers outgrow it (see docs/catalogue.md, sizing).
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxReplicas int32 `json:"maxReplicas"`
}

// SubscriberTokens says how the operator signs the token it gives each subscriber.
type SubscriberTokens struct {
	// signingSecret is the Secret in the instance's namespace, created by the cell, and its key
	// that holds the secret the application verifies tokens with (Jitsi's JWT_APP_SECRET).
	// +required
	SigningSecret SecretKey `json:"signingSecret"`
	// issuer is the token's iss claim (Jitsi's JWT_APP_ID).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Issuer string `json:"issuer"`
	// audience is the token's aud claim (Jitsi's JWT_ACCEPTED_AUDIENCES); empty: the issuer.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Audience string `json:"audience,omitempty"`
	// lifetime is how long a token is valid (default 30 days, between one hour and a year). The
	// operator issues a new one when a third of it is left, when the signing secret changes and
	// when the tenant stops subscribing (the Secret goes).
	// +optional
	Lifetime *metav1.Duration `json:"lifetime,omitempty"`
}

// SecretKey names a key of a Secret in a namespace the context gives.
type SecretKey struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// key in the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// ScaledWorkload is the replicas the operator set on one workload of a shared instance.
type ScaledWorkload struct {
	// workload is the Deployment or StatefulSet.
	Workload string `json:"workload"`
	// replicas the operator set.
	Replicas int32 `json:"replicas"`
	// capped is true when the subscribers would need more than maxReplicas.
	// +optional
	Capped bool `json:"capped,omitempty"`
}

// SharedInstanceStatus reports the one instance of a Shared application.
type SharedInstanceStatus struct {
	// namespace of the instance.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// ready is true when every workload of the instance is available.
	// +optional
	Ready bool `json:"ready"`
	// message says why the instance is not ready.
	// +optional
	Message string `json:"message,omitempty"`
	// subscribers counts the tenants that reach the instance.
	// +optional
	Subscribers int32 `json:"subscribers"`
	// resources is the inventory of what mutualis applied for the instance.
	// +optional
	// +kubebuilder:validation:MaxItems=512
	// +listType=atomic
	Resources []string `json:"resources,omitempty"`
	// scaled is the replicas spec.sharedInstance.scaling set, by workload.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	Scaled []ScaledWorkload `json:"scaled,omitempty"`
	// tokenKey identifies the key that signs the subscribers' tokens (the first 12 hexadecimal
	// digits of its SHA-256), never the key itself: when the cell rotates the key, this changes
	// and every subscriber's token is signed again at once.
	// +optional
	// +kubebuilder:validation:MaxLength=12
	TokenKey string `json:"tokenKey,omitempty"`
}

// SharedApplicationSpec is one entry of the catalogue: a kustomize base written inline.
type SharedApplicationSpec struct {
	// displayName is the name shown to people.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DisplayName string `json:"displayName,omitempty"`

	// description says what the application is for.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Description string `json:"description,omitempty"`

	// version is the application's version, reported in the tenants' status.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Version string `json:"version"`

	// resources is the kustomize base: namespaced Kubernetes objects without a namespace. Never a
	// Namespace, ResourceQuota, LimitRange, NetworkPolicy or cluster-scoped kind. Required, but
	// for an External application, which has none.
	// +optional
	// +kubebuilder:validation:MaxItems=128
	// +listType=atomic
	Resources []Resource `json:"resources,omitempty"`

	// images rewrites image names, tags or digests, as kustomize's images field.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Images []Image `json:"images,omitempty"`

	// patches are strategic-merge or JSON 6902 patches, as kustomize's patches field.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Patches []Patch `json:"patches,omitempty"`

	// replacements copy fields, notably from the generated ConfigMap mutualis-parameters into the
	// base, as kustomize's replacements field.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Replacements []Replacement `json:"replacements,omitempty"`

	// parameters are the values that a tenant may or must give in its subscription.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	Parameters []ParameterSpec `json:"parameters,omitempty"`

	// exposes lists the Services and ports that the ingress controller and, for synergy, the
	// partner tenant may reach.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Exposes []ExposedPort `json:"exposes,omitempty"`

	// externalEndpoints are the services outside the cluster the application calls (a federal
	// API, a payment provider, its publisher's support). The cell approves each one in the
	// TenancyPolicy (spec.network.externalEndpoints); an approved endpoint is opened to the
	// namespaces that run the application (its subscribers', or its shared instance's), and
	// only to them; one not approved stays closed, which the entry's EndpointsApproved condition
	// says. The GDPR record lists them as recipients.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// One entry per host and port (a map list, so that two appliers of the same list, as a
	// GitOps engine and a person, own its entries rather than conflict over the defaulted
	// protocol of an atomic list).
	// +listType=map
	// +listMapKey=host
	// +listMapKey=port
	ExternalEndpoints []ExternalEndpoint `json:"externalEndpoints,omitempty"`

	// licence says how the application is licensed.
	// +optional
	Licence LicenceSpec `json:"licence,omitempty"`

	// dataProtection describes the processing of personal data the application does for a tenant,
	// from which kubectl mutualis report gdpr writes the tenant's record of processing activities
	// (GDPR article 30). kubectl mutualis validate warns when a subscribed application has none.
	// +optional
	DataProtection *DataProtection `json:"dataProtection,omitempty"`

	// expenseCategories are the kinds of expense a subscription to this application is, in the
	// words funding lines use (TenancyPolicy spec.funding[].categories): remote-meetings for a
	// video bridge of council sittings, cybersecurity, dematerialisation, participation,
	// open-data. A funding line pays for the applications whose categories it lists.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=set
	ExpenseCategories []ExpenseCategory `json:"expenseCategories,omitempty"`

	// sizes are kustomize patches chosen by the tenant's tier, applied after spec.patches, so that
	// one catalogue entry serves a village and a city: fewer replicas and smaller limits for S,
	// more for XXL. Each names a tier of the TenancyPolicy; a tier without an entry gets the base as
	// it is. The status says, for each tier, whether the render fits the quota of a commune and of
	// a CPAS of that tier.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=tier
	Sizes []TierSize `json:"sizes,omitempty"`

	// instance is PerTenant (the default: one copy in each subscribed tenant's namespace) or
	// Shared (one instance for the cell, in the namespace mutualis-app-<name>, which mutualis
	// creates and isolates like a tenant's; each subscriber gets a Service of the same name in its
	// own namespace that leads to it, network access to its exposed ports and nothing else, and the
	// instance reads the list of its subscribers in the ConfigMap mutualis-subscribers).
	// External is an application hosted outside the cell (spec.hostedBy): nothing is rendered.
	// +optional
	// +kubebuilder:default=PerTenant
	Instance InstanceMode `json:"instance,omitempty"`

	// hostedBy says who runs an External application, and where, for the GDPR record and the
	// tenants' status.
	// +optional
	HostedBy *HostedBy `json:"hostedBy,omitempty"`

	// sharedInstance sizes and places the instance of a Shared application.
	// +optional
	SharedInstance SharedInstanceSpec `json:"sharedInstance,omitempty"`

	// dataHooks are the programs that export and delete one tenant's records in the instance of a
	// Shared application (an organisation of a shared Decidim, a publisher of a shared CKAN):
	// unsubscribing never touches them, and kubectl mutualis offboard runs these hooks, in the
	// instance's namespace, for a commune or CPAS that leaves the cell.
	// +optional
	DataHooks *DataHooks `json:"dataHooks,omitempty"`
}

// DataHooks export and purge one tenant's records in a Shared application's instance. Each runs
// as a Job in the instance's namespace, at the restricted Pod Security level, with the tenant's
// identity in its environment: MUTUALIS_TENANT_KIND (commune or cpas), MUTUALIS_TENANT_NAME,
// MUTUALIS_TENANT_NAMESPACE and MUTUALIS_NIS.
// +kubebuilder:validation:XValidation:rule="!has(self.purge) || has(self.export)",message="a purge hook needs an export hook: a commune's records are deleted only once they were exported"
type DataHooks struct {
	// export writes the tenant's records on its standard output, which kubectl mutualis offboard
	// keeps in the tenant's export archive; it exits non-zero when it cannot.
	// +optional
	Export *DataHook `json:"export,omitempty"`
	// purge deletes the tenant's records from the instance, and exits zero only once they are gone.
	// +optional
	Purge *DataHook `json:"purge,omitempty"`
}

// DataHook is one program of a DataHooks.
type DataHook struct {
	// image of the program, by tag and digest preferably.
	// +required
	// +kubebuilder:validation:MinLength=1
	Image string `json:"image"`
	// command and args of its container.
	// +optional
	Command []string `json:"command,omitempty"`
	// +optional
	Args []string `json:"args,omitempty"`
	// timeout is how long it may run. Defaults to 10m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$`
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// TierSize holds the patches of one tier.
type TierSize struct {
	// tier is the name of a tier of the TenancyPolicy, such as S.
	// +required
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]{0,15}$`
	Tier string `json:"tier"`
	// patches are applied, after spec.patches, for tenants of this tier.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Patches []Patch `json:"patches"`
}

// TierFit says whether the render of an application for a tier fits that tier's quota.
type TierFit struct {
	// tier is the name of the tier.
	// +required
	Tier string `json:"tier"`
	// commune is true when the render for a commune of the tier fits its quota.
	// +optional
	Commune bool `json:"commune"`
	// cpas is true when the render for a CPAS of the tier fits its (scaled) quota.
	// +optional
	CPAS bool `json:"cpas"`
	// message says what does not fit, such as "commune needs limits.cpu 11, the quota allows 8".
	// +optional
	Message string `json:"message,omitempty"`
}

// Resource is one Kubernetes object of a base, with apiVersion, kind and metadata.name.
// +kubebuilder:pruning:PreserveUnknownFields
// +kubebuilder:validation:EmbeddedResource
// +kubebuilder:validation:Type=object
type Resource struct {
	runtime.RawExtension `json:",inline"`
}

// Image rewrites one image of the base.
type Image struct {
	// name is the image name in the base.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// newName replaces the image name.
	// +optional
	NewName string `json:"newName,omitempty"`
	// newTag replaces the tag.
	// +optional
	NewTag string `json:"newTag,omitempty"`
	// digest replaces the tag with a digest.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// Selector selects objects of the base, as kustomize's selector.
type Selector struct {
	// group of the objects, empty for the core group.
	// +optional
	Group string `json:"group,omitempty"`
	// version of the objects.
	// +optional
	Version string `json:"version,omitempty"`
	// kind of the objects, such as Deployment.
	// +optional
	Kind string `json:"kind,omitempty"`
	// name of the objects; a regular expression.
	// +optional
	Name string `json:"name,omitempty"`
	// labelSelector selects by labels, such as app=nextcloud.
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
	// annotationSelector selects by annotations.
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// Patch is one kustomize patch.
type Patch struct {
	// patch is a strategic-merge patch or a JSON 6902 patch, in YAML or JSON.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Patch string `json:"patch"`
	// target selects the objects to patch; required for JSON 6902 patches.
	// +optional
	Target *Selector `json:"target,omitempty"`
}

// ReplacementSource is where a replacement reads its value.
type ReplacementSource struct {
	// group of the source object, empty for the core group.
	// +optional
	Group string `json:"group,omitempty"`
	// version of the source object.
	// +optional
	Version string `json:"version,omitempty"`
	// kind of the source object, such as ConfigMap.
	// +optional
	Kind string `json:"kind,omitempty"`
	// name of the source object, such as mutualis-parameters.
	// +optional
	Name string `json:"name,omitempty"`
	// fieldPath is the field to read, such as data.[tenant.name]; defaults to metadata.name.
	// +optional
	FieldPath string `json:"fieldPath,omitempty"`
	// options cut the value.
	// +optional
	Options *FieldOptions `json:"options,omitempty"`
}

// FieldOptions cut or place a value within a delimited string, as kustomize's field options.
type FieldOptions struct {
	// delimiter splits the field's value into parts.
	// +optional
	Delimiter string `json:"delimiter,omitempty"`
	// index is the part of the split value to read or replace.
	// +optional
	Index int32 `json:"index,omitempty"`
	// create makes the target field when it does not exist.
	// +optional
	Create bool `json:"create,omitempty"`
}

// ReplacementTarget is where a replacement writes its value.
type ReplacementTarget struct {
	// select picks the objects to write to.
	// +required
	Select Selector `json:"select"`
	// reject excludes objects from select.
	// +optional
	Reject []Selector `json:"reject,omitempty"`
	// fieldPaths are the fields to write.
	// +required
	// +kubebuilder:validation:MinItems=1
	FieldPaths []string `json:"fieldPaths"`
	// options place the value.
	// +optional
	Options *FieldOptions `json:"options,omitempty"`
}

// Replacement copies one field to others, as kustomize's replacements entry.
type Replacement struct {
	// source is the field to copy.
	// +required
	Source ReplacementSource `json:"source"`
	// targets are the fields to write.
	// +required
	// +kubebuilder:validation:MinItems=1
	Targets []ReplacementTarget `json:"targets"`
}

// ParameterSpec declares one parameter of an application.
type ParameterSpec struct {
	// name of the parameter, as a key of the ConfigMap mutualis-parameters.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-zA-Z][-._a-zA-Z0-9]*$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// default value when the tenant gives none.
	// +optional
	Default string `json:"default,omitempty"`
	// required parameters must be given by every subscribing tenant.
	// +optional
	Required bool `json:"required,omitempty"`
	// description says what the parameter does.
	// +optional
	Description string `json:"description,omitempty"`
}

// ExposedPort is one Service port of an application that others may reach.
type ExposedPort struct {
	// service is the name of a Service of the base.
	// +required
	// +kubebuilder:validation:MinLength=1
	Service string `json:"service"`
	// port is the Service port.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
	// targetPort is the port the pods listen on, used in network policies; defaults to port.
	// +optional
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`
}

// LicenceSpec says how an application is licensed.
type LicenceSpec struct {
	// model is OpenSource (the default: no seats), PerSeat or PerInstance (seats from a LicencePool).
	// +optional
	// +kubebuilder:default=OpenSource
	Model LicenceModel `json:"model,omitempty"`
	// spdx is the SPDX identifier of the licence, such as AGPL-3.0-only.
	// +optional
	SPDX string `json:"spdx,omitempty"`
}

// SharedApplicationStatus is the observed state of a catalogue entry.
type SharedApplicationStatus struct {
	// observedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// subscribed counts the tenants that subscribe to the application.
	// +optional
	Subscribed int32 `json:"subscribed"`
	// updated counts the tenants running the current generation.
	// +optional
	Updated int32 `json:"updated"`
	// ready counts the tenants where the application is ready.
	// +optional
	Ready int32 `json:"ready"`
	// instance reports the instance of a Shared application.
	// +optional
	Instance *SharedInstanceStatus `json:"instance,omitempty"`
	// tiers says, for each tier of the policy, whether the application alone fits the quota of a
	// commune and of a CPAS of that tier.
	// +optional
	// +listType=map
	// +listMapKey=tier
	Tiers []TierFit `json:"tiers,omitempty"`
	// conditions: Ready and, when the base breaks a rule, BaseValid=False with the reason.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SharedApplication is one open-source application of the cell's catalogue, as an inline kustomize
// base that mutualis renders into every subscribed tenant's namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=sapp,categories=mutualis
// +kubebuilder:validation:XValidation:rule="has(self.spec.instance) && self.spec.instance == 'External' ? (!has(self.spec.resources) || size(self.spec.resources) == 0) && has(self.spec.hostedBy) : has(self.spec.resources) && size(self.spec.resources) > 0",message="an External application has no resources and says who hosts it (spec.hostedBy); any other needs at least one resource"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.dataHooks) || (has(self.spec.instance) && self.spec.instance == 'Shared')",message="spec.dataHooks belong to a Shared application: a PerTenant one keeps its data in the tenant's namespace, which kubectl mutualis export holds whole"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.instance) || self.spec.instance != 'Shared' || (self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 50)",message="a Shared application's name must be a DNS label of at most 50 characters: its instance runs in the namespace mutualis-app-<name>"
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Licence",type=string,JSONPath=`.spec.licence.model`
// +kubebuilder:printcolumn:name="Instance",type=string,JSONPath=`.spec.instance`
// +kubebuilder:printcolumn:name="Subscribed",type=integer,JSONPath=`.status.subscribed`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SharedApplication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the catalogue entry.
	// +required
	Spec SharedApplicationSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	// The API server gives a new object an observedGeneration of 0 until the operator has seen
	// it: kstatus (Flux's wait, Argo CD's health) then reads it as in progress, not as Current.
	// +kubebuilder:default={observedGeneration: 0}
	Status SharedApplicationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SharedApplicationList is a list of SharedApplications.
type SharedApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SharedApplication `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SharedApplication{}, &SharedApplicationList{})
}

// LegalBasis is a lawful basis of GDPR article 6(1).
// +kubebuilder:validation:Enum=Consent;Contract;LegalObligation;VitalInterests;PublicTask;LegitimateInterests
type LegalBasis string

// The lawful bases of GDPR article 6(1), (a) to (f).
const (
	LegalBasisConsent             LegalBasis = "Consent"
	LegalBasisContract            LegalBasis = "Contract"
	LegalBasisLegalObligation     LegalBasis = "LegalObligation"
	LegalBasisVitalInterests      LegalBasis = "VitalInterests"
	LegalBasisPublicTask          LegalBasis = "PublicTask"
	LegalBasisLegitimateInterests LegalBasis = "LegitimateInterests"
)

// DataProtection is what an application does with personal data on a tenant's behalf: the
// entries of its record of processing activities. The tenant (the commune or the CPAS) is the
// controller; the cell is its processor.
// +kubebuilder:validation:XValidation:rule="!has(self.specialCategories) || !self.specialCategories || (has(self.specialCategoriesDetail) && size(self.specialCategoriesDetail) > 0)",message="specialCategoriesDetail must say which special categories (article 9) are processed, and on what ground"
type DataProtection struct {
	// purposes of the processing, in the language of the record (French for Wallonia).
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=512
	// +listType=atomic
	Purposes []string `json:"purposes"`

	// legalBasis are the lawful bases of the processing (article 6(1)).
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=6
	// +listType=set
	LegalBasis []LegalBasis `json:"legalBasis"`

	// legalBasisDetail names the law or the task behind the basis, such as "Code de la démocratie
	// locale, art. L1122-16".
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	LegalBasisDetail string `json:"legalBasisDetail,omitempty"`

	// dataSubjects are the categories of people whose data is processed (citizens, staff,
	// councillors...).
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	DataSubjects []string `json:"dataSubjects"`

	// categories of personal data processed (identity, contact details, documents...).
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	Categories []string `json:"categories"`

	// specialCategories is true when the application processes special categories of personal data
	// (article 9: health, beliefs, ...), as a CPAS's social files do.
	// +optional
	SpecialCategories bool `json:"specialCategories,omitempty"`

	// specialCategoriesDetail says which special categories and on what ground of article 9(2).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	SpecialCategoriesDetail string `json:"specialCategoriesDetail,omitempty"`

	// retention is how long the data is kept, or the rule that sets it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Retention string `json:"retention"`

	// recipients are who the data is disclosed to, besides the tenant's own staff.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	Recipients []string `json:"recipients,omitempty"`

	// processors are the subcontractors that process the data on the tenant's behalf (the cell
	// itself, a licence holder's support...).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	Processors []string `json:"processors,omitempty"`

	// transfers outside the European Economic Area, and their safeguards; empty when there is none.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Transfers string `json:"transfers,omitempty"`

	// securityMeasures are the technical and organisational measures specific to the application,
	// besides those of the cell (isolation, backups, audit).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=512
	// +listType=atomic
	SecurityMeasures []string `json:"securityMeasures,omitempty"`
}
