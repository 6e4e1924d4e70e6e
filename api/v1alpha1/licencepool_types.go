package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LicencePoolSpec is a stock of seats bought once for all tenants.
type LicencePoolSpec struct {
	// application is the name of the PerSeat or PerInstance SharedApplication the seats are for.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Application string `json:"application"`

	// seats is the number of seats bought.
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000000
	Seats int32 `json:"seats"`

	// validUntil is when the licence ends; an expired pool grants no new seats.
	// +optional
	ValidUntil *metav1.Time `json:"validUntil,omitempty"`
}

// LicenceAllocation is the seats granted to one tenant.
type LicenceAllocation struct {
	// tenant is the tenant namespace.
	// +required
	Tenant string `json:"tenant"`
	// seats granted.
	// +required
	Seats int32 `json:"seats"`
}

// LicencePoolStatus is the observed state of a pool.
type LicencePoolStatus struct {
	// observedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// allocations lists the seats granted, per tenant.
	// +optional
	// +listType=map
	// +listMapKey=tenant
	Allocations []LicenceAllocation `json:"allocations,omitempty"`
	// allocatedSeats is the sum of the allocations.
	// +optional
	AllocatedSeats int32 `json:"allocatedSeats"`
	// availableSeats is what remains.
	// +optional
	AvailableSeats int32 `json:"availableSeats"`
	// conditions: Ready, and Expired or ExpiringSoon.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// LicencePool is a stock of licence seats for one application, bought once by the cell and shared
// among tenants: oldest tenant first, and a tenant keeps what it was granted.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=lp,categories=mutualis
// +kubebuilder:printcolumn:name="Application",type=string,JSONPath=`.spec.application`
// +kubebuilder:printcolumn:name="Seats",type=integer,JSONPath=`.spec.seats`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.availableSeats`
// +kubebuilder:printcolumn:name="Valid until",type=string,JSONPath=`.spec.validUntil`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LicencePool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the pool.
	// +required
	Spec LicencePoolSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	// The API server gives a new object an observedGeneration of 0 until the operator has seen
	// it: kstatus (Flux's wait, Argo CD's health) then reads it as in progress, not as Current.
	// +kubebuilder:default={observedGeneration: 0}
	Status LicencePoolStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// LicencePoolList is a list of LicencePools.
type LicencePoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LicencePool `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LicencePool{}, &LicencePoolList{})
}
