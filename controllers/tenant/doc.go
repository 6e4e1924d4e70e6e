// Package tenant holds the pure builders of the tenant contract: from a resolved tenant and the
// tenancy policy they compute the desired namespace, quota, limits, role bindings, access role and
// network policies as server-side apply configurations. Nothing here talks to the API server, so
// every rule of the contract is tested with tables and golden files.
package tenant
