package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProvinceSpec declares one of the five Walloon provinces as a tenant of the platform.
type ProvinceSpec struct {
	// nis is the province's Statbel code: 20002 (Brabant wallon), 50000 (Hainaut), 60000 (Liège),
	// 80000 (Luxembourg) or 90000 (Namur). It cannot change once set. The province's population,
	// which selects its tier, is the sum of its current communes' in the NIS registry.
	// +required
	// +kubebuilder:validation:Enum="20002";"50000";"60000";"80000";"90000"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="nis is immutable: create a new Province to change the code"
	NIS string `json:"nis"`

	// population selects the tier; it defaults to the sum of the province's communes in the NIS
	// registry.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000000
	Population *int32 `json:"population,omitempty"`

	// TenantSpec is the specification a Province shares with a Commune and a CPAS.
	TenantSpec `json:",inline"`
}

// ProvinceStatus is the observed state of a Province.
type ProvinceStatus struct {
	// TenantStatus is the status a Province shares with a Commune and a CPAS.
	TenantStatus `json:",inline"`
}

// Province is one Walloon province as a tenant: the provincial administration, a local authority
// of its own that the Region's barometer counts beside the communes and the CPAS. Its namespace
// province-<name> carries its applications, quota, network isolation, access and backups, as a
// Commune's does. It has no partner tenant.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=prov,categories=mutualis
// +kubebuilder:printcolumn:name="NIS",type=string,JSONPath=`.spec.nis`
// +kubebuilder:printcolumn:name="Tier",type=string,JSONPath=`.status.tier`
// +kubebuilder:printcolumn:name="Apps",type=string,JSONPath=`.status.applicationSummary`
// +kubebuilder:printcolumn:name="Last backup",type=date,JSONPath=`.status.backup.lastSuccessfulTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 54",message="a Province's name must be a DNS label of at most 54 characters (its namespace is province-<name>), such as namur or brabant-wallon"
type Province struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the province.
	// +required
	Spec ProvinceSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status ProvinceStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ProvinceList is a list of Provinces.
type ProvinceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Province `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Province{}, &ProvinceList{})
}
