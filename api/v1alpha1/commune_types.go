package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CommuneSpec declares a Walloon commune as a tenant of the platform.
type CommuneSpec struct {
	// nis is the commune's five-digit NIS (INS/REFNIS) code from Statbel. It cannot change once set.
	// It must be a current code of the NIS registry; a retired code keeps working but is reported
	// with its successor.
	// +required
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:XValidation:rule="self.matches('^[1-9][0-9]{4}$')",message="nis must be the five-digit Statbel code of the commune, such as 62063 for Liège"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="nis is immutable: create a new Commune to change the code"
	NIS string `json:"nis"`

	// population selects the tier; it defaults to the figure in the NIS registry.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000000
	Population *int32 `json:"population,omitempty"`

	// TenantSpec is the specification a Commune shares with a CPAS.
	TenantSpec `json:",inline"`
}

// CommuneStatus is the observed state of a Commune.
type CommuneStatus struct {
	// TenantStatus is the status a Commune shares with a CPAS.
	TenantStatus `json:",inline"`
}

// Commune is one Walloon commune as a tenant: its namespace commune-<name> carries its applications,
// quota, network isolation, access and backups. The name is the slug of the commune's name
// (liege, braine-l-alleud).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=com,categories=mutualis
// +kubebuilder:printcolumn:name="NIS",type=string,JSONPath=`.spec.nis`
// +kubebuilder:printcolumn:name="Tier",type=string,JSONPath=`.status.tier`
// +kubebuilder:printcolumn:name="Apps",type=string,JSONPath=`.status.applicationSummary`
// +kubebuilder:printcolumn:name="Last backup",type=date,JSONPath=`.status.backup.lastSuccessfulTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 55",message="a Commune's name must be a DNS label of at most 55 characters (its namespace is commune-<name>), such as braine-l-alleud"
// +kubebuilder:validation:XValidation:rule="!self.metadata.name.startsWith('cpas-')",message="a Commune's name may not start with cpas-: its default domain <name>.<baseDomain> would be the default domain of the CPAS of another commune"
// +kubebuilder:validation:XValidation:rule="!self.metadata.name.startsWith('province-')",message="a Commune's name may not start with province-: its default domain <name>.<baseDomain> would be the default domain of a Province"
type Commune struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the commune.
	// +required
	Spec CommuneSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	// The API server gives a new object an observedGeneration of 0 until the operator has seen
	// it: kstatus (Flux's wait, Argo CD's health) then reads it as in progress, not as Current.
	// +kubebuilder:default={observedGeneration: 0}
	Status CommuneStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CommuneList is a list of Communes.
type CommuneList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Commune `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Commune{}, &CommuneList{})
}
