// Package controllers holds the reconcilers of mutualis and their wiring into a manager: one file
// per kind; tenant_controller.go serves both Commune and CPAS, one file per step (tenant_access,
// tenant_applications, tenant_backup, tenant_audit...), watches.go what wakes a tenant. Reconcilers
// stay thin: they read the world, decide through plan, build through tenant, render and backup,
// write through apply (which returns what it changed), and record observations that the status
// package turns into conditions.
package controllers
