// Package controllers holds the reconcilers of mutualis and their wiring into a manager: one file
// per kind; tenant_controller.go serves both Commune and CPAS. Reconcilers stay thin: they read the
// world, call the pure builders of the sub-packages (tenant, render, apply, backup) and turn what
// they observed into status conditions.
package controllers
