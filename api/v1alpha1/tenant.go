package v1alpha1

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TenantKind names the kinds of tenant; it is the value of the mutualis.crtpl.be/kind label.
type TenantKind string

const (
	KindCommune  TenantKind = "commune"
	KindCPAS     TenantKind = "cpas"
	KindProvince TenantKind = "province"
	// KindSharedInstance is the kind label of a Shared application's instance namespace, and the
	// tenant kind its render sees (tenant.kind): it serves many tenants and is none of them.
	KindSharedInstance TenantKind = "shared-instance"
)

// Tenant is what a Commune, a CPAS and a Province have in common, so that one reconciler serves
// them all.
// +kubebuilder:object:generate=false
type Tenant interface {
	client.Object
	// TenantKind is commune, cpas or province.
	TenantKind() TenantKind
	// TenantNamespace is the name of the namespace the tenant owns.
	TenantNamespace() string
	// TenantSpec is the shared part of the spec.
	TenantSpec() *TenantSpec
	// TenantStatus is the shared part of the status.
	TenantStatus() *TenantStatus
}

// TenantKinds are the kinds of tenant, in the order tenants are listed.
var TenantKinds = []TenantKind{KindCommune, KindCPAS, KindProvince}

// Kind is the API kind of a tenant kind: Commune, CPAS or Province.
func (k TenantKind) Kind() string {
	switch k {
	case KindCPAS:
		return "CPAS"
	case KindProvince:
		return "Province"
	}
	return "Commune"
}

// Resource is the API resource of a tenant kind: communes, cpas or provinces.
func (k TenantKind) Resource() string {
	switch k {
	case KindCPAS:
		return "cpas"
	case KindProvince:
		return "provinces"
	}
	return "communes"
}

// New is an empty tenant of the kind, to read one into.
func (k TenantKind) New() Tenant {
	switch k {
	case KindCPAS:
		return &CPAS{}
	case KindProvince:
		return &Province{}
	}
	return &Commune{}
}

// NamespacePrefix is what the namespaces of a tenant kind start with.
func (k TenantKind) NamespacePrefix() string {
	switch k {
	case KindCPAS:
		return NamespacePrefixCPAS
	case KindProvince:
		return NamespacePrefixProvince
	}
	return NamespacePrefixCom
}

// TenantNamespaceName is the namespace of a tenant of a kind and name.
func TenantNamespaceName(kind TenantKind, name string) string {
	return kind.NamespacePrefix() + name
}

func (c *Commune) TenantKind() TenantKind       { return KindCommune }
func (c *Commune) TenantNamespace() string      { return TenantNamespaceName(KindCommune, c.Name) }
func (c *Commune) TenantSpec() *TenantSpec      { return &c.Spec.TenantSpec }
func (c *Commune) TenantStatus() *TenantStatus  { return &c.Status.TenantStatus }
func (c *CPAS) TenantKind() TenantKind          { return KindCPAS }
func (c *CPAS) TenantNamespace() string         { return TenantNamespaceName(KindCPAS, c.Name) }
func (c *CPAS) TenantSpec() *TenantSpec         { return &c.Spec.TenantSpec }
func (c *CPAS) TenantStatus() *TenantStatus     { return &c.Status.TenantStatus }
func (p *Province) TenantKind() TenantKind      { return KindProvince }
func (p *Province) TenantNamespace() string     { return TenantNamespaceName(KindProvince, p.Name) }
func (p *Province) TenantSpec() *TenantSpec     { return &p.Spec.TenantSpec }
func (p *Province) TenantStatus() *TenantStatus { return &p.Status.TenantStatus }

// ListTenants lists the Communes, then the CPAS, then the Provinces that opts select, as tenants.
// With client.UnsafeDisableDeepCopy the objects are the cache's own, to be read and never changed.
func ListTenants(ctx context.Context, c client.Reader, opts ...client.ListOption) ([]Tenant, error) {
	communes, cpas, provinces := &CommuneList{}, &CPASList{}, &ProvinceList{}
	if err := c.List(ctx, communes, opts...); err != nil {
		return nil, fmt.Errorf("listing Communes: %w", err)
	}
	if err := c.List(ctx, cpas, opts...); err != nil {
		return nil, fmt.Errorf("listing CPAS: %w", err)
	}
	if err := c.List(ctx, provinces, opts...); err != nil {
		return nil, fmt.Errorf("listing Provinces: %w", err)
	}
	out := make([]Tenant, 0, len(communes.Items)+len(cpas.Items)+len(provinces.Items))
	for i := range communes.Items {
		out = append(out, &communes.Items[i])
	}
	for i := range cpas.Items {
		out = append(out, &cpas.Items[i])
	}
	for i := range provinces.Items {
		out = append(out, &provinces.Items[i])
	}
	return out, nil
}

// NISOf is a tenant's NIS code: a Commune's or a Province's own, a CPAS's commune's as the operator last resolved
// it (empty before that).
func NISOf(t Tenant) string {
	switch o := t.(type) {
	case *Commune:
		return o.Spec.NIS
	case *CPAS:
		return o.Status.NIS
	case *Province:
		return o.Spec.NIS
	}
	return ""
}
