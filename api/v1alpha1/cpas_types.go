package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CPASSpec declares the public social-welfare centre (CPAS) of one commune as a tenant.
type CPASSpec struct {
	// communeRef is the name of the Commune this CPAS serves; the CPAS takes its NIS code,
	// population and tier from it. It cannot change once set.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=55
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="communeRef is immutable: create a new CPAS to serve another commune"
	CommuneRef string `json:"communeRef"`

	// synergy lists what the CPAS shares with its commune.
	// +optional
	Synergy SynergySpec `json:"synergy,omitempty"`

	TenantSpec `json:",inline"`
}

// SynergySpec lists what a CPAS shares with its commune.
type SynergySpec struct {
	// sharedApplications are applications of the commune that the CPAS uses instead of running its
	// own instance: the CPAS gets network access to the commune's instance and an ExternalName
	// Service of the same name in its namespace. A PerSeat application shared this way is also
	// listed in spec.applications with the seats the CPAS's staff need.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	SharedApplications []string `json:"sharedApplications,omitempty"`
}

// CPASStatus is the observed state of a CPAS.
type CPASStatus struct {
	TenantStatus `json:",inline"`

	// nis is the NIS code taken from the commune.
	// +optional
	NIS string `json:"nis,omitempty"`
}

// CPAS is the public social-welfare centre (centre public d'action sociale) of one commune, as a
// tenant with its own namespace cpas-<name>. One CPAS per commune.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,path=cpas,singular=cpas,categories=mutualis
// +kubebuilder:printcolumn:name="Commune",type=string,JSONPath=`.spec.communeRef`
// +kubebuilder:printcolumn:name="Tier",type=string,JSONPath=`.status.tier`
// +kubebuilder:printcolumn:name="Apps",type=string,JSONPath=`.status.applicationSummary`
// +kubebuilder:printcolumn:name="Last backup",type=date,JSONPath=`.status.backup.lastSuccessfulTime`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 58",message="a CPAS's name must be a DNS label of at most 58 characters (its namespace is cpas-<name>), such as liege"
type CPAS struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the CPAS.
	// +required
	Spec CPASSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	// The API server gives a new object an observedGeneration of 0 until the operator has seen
	// it: kstatus (Flux's wait, Argo CD's health) then reads it as in progress, not as Current.
	// +kubebuilder:default={observedGeneration: 0}
	Status CPASStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CPASList is a list of CPAS.
type CPASList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CPAS `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CPAS{}, &CPASList{})
}
