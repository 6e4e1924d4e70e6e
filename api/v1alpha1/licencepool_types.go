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

	// reservations hold seats back for the tenants of a tier, so that the communes that join late,
	// often the smallest, still find seats when larger ones came first: a tenant of another tier is
	// granted only what no reservation holds back. The seats a tier's tenants hold count towards
	// its reservation. Grants already made are kept.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=tier
	Reservations []SeatReservation `json:"reservations,omitempty"`

	// procurement is how the seats were bought. kubectl mutualis report and report funding price
	// each seat at its unitPrice (rather than a second price typed into the TenancyPolicy's
	// pricing) and the justification annex cites the contract.
	// +optional
	Procurement *Procurement `json:"procurement,omitempty"`
}

// SeatReservation is the seats of a pool held back for one tier.
type SeatReservation struct {
	// tier is a tier of the TenancyPolicy (S, M, L, XL, XXL by default).
	// +required
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9-]{0,15}$`
	Tier string `json:"tier"`
	// seats held back for the tier's tenants.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000000
	Seats int32 `json:"seats"`
}

// Procurement is the purchase of a pool's seats.
type Procurement struct {
	// contract is the reference of the public contract or order.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Contract string `json:"contract"`
	// supplier is who sells the licences.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Supplier string `json:"supplier"`
	// purchasingCentral is the central purchasing body the cell bought through (IMIO for the
	// communes' cybersecurity), when it did.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	PurchasingCentral string `json:"purchasingCentral,omitempty"`
	// unitPrice is the yearly price of one seat, which tenants pay for each seat granted.
	// +required
	UnitPrice Amount `json:"unitPrice"`
	// contractEnd is the last day of the contract (the licence's own end is spec.validUntil).
	// +optional
	ContractEnd Date `json:"contractEnd,omitempty"`
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
	// reservations says, for each tier with a reservation, the seats held for it and those its
	// tenants hold.
	// +optional
	// +listType=map
	// +listMapKey=tier
	Reservations []SeatReservationStatus `json:"reservations,omitempty"`
	// conditions: Ready, and Expired or ExpiringSoon.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SeatReservationStatus is how much of a tier's reservation its tenants use.
type SeatReservationStatus struct {
	// tier of the reservation.
	// +required
	Tier string `json:"tier"`
	// seats reserved.
	// +required
	Seats int32 `json:"seats"`
	// used is the seats the tier's tenants hold.
	// +optional
	Used int32 `json:"used"`
}

// LicencePool is a stock of licence seats for one application, bought once by the cell and shared
// among tenants: oldest tenant first, within the reservations of each tier, and a tenant keeps
// what it was granted.
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
