// Package v1alpha1 holds the mutualis API (group mutualis.crtpl.be, version v1alpha1): the tenant
// kinds Commune and CPAS, the catalogue (SharedApplication), licence pools (LicencePool) and the
// cluster-wide TenancyPolicy. Validation lives in the markers, so the API server enforces it at
// admission without a webhook.
//
// +kubebuilder:object:generate=true
// +groupName=mutualis.crtpl.be
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every mutualis kind.
	GroupVersion = schema.GroupVersion{Group: "mutualis.crtpl.be", Version: "v1alpha1"}

	// SchemeBuilder registers the mutualis kinds into a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the mutualis kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
