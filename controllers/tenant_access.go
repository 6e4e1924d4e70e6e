package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// The access step: who may enter a tenant namespace is a function of the tenant's spec at every
// moment. It runs first in every reconcile, whatever the tenant's state (stalled, suspended, an
// application failing), on a namespace that already exists and is this tenant's; a new namespace
// gets its bindings right after the namespace step created it.

// reconcileAccess applies the cell's bindings from the spec and revokes what the spec no longer
// allows, when the tenant's namespace is there. Otherwise it leaves the part to
// reconcileAccessOfNewNamespace.
func (r *TenantReconciler) reconcileAccess(ctx context.Context, s *scope) error {
	live := &corev1.Namespace{}
	switch err := r.Get(ctx, client.ObjectKey{Name: s.res.Namespace}, live); {
	case apierrors.IsNotFound(err):
		s.accessPending = true
		return nil
	case err != nil:
		return err
	}
	if !isManagedNamespace(live, s.res) || live.DeletionTimestamp != nil {
		// a foreign namespace is not this tenant's to bind; a namespace being deleted takes its
		// bindings with it
		s.accessPending = true
		return nil
	}
	// the people published on the namespace are those the tenant's own RoleBindings were last
	// checked against: when the spec names others now, sweep them
	published, ok := live.Annotations[v1alpha1.AnnotationSubjects]
	if err := r.applyAccess(ctx, s, !ok || published != tenant.SpecSubjects(s.res)); err != nil || s.FailedPart(v1alpha1.ConditionAccessReady) {
		return err
	}
	if s.Blocked() || s.tenant.TenantSpec().Suspend {
		// the namespace step will not run in this reconcile, and the admission policies read the
		// tenant's people, domains and instances from the namespace
		return r.publishWhileBlocked(ctx, s, live)
	}
	return nil
}

// reconcileAccessOfNewNamespace binds the people of a namespace that the namespace step has just
// created or adopted. An adopted namespace may hold RoleBindings of its past: they are swept.
func (r *TenantReconciler) reconcileAccessOfNewNamespace(ctx context.Context, s *scope) error {
	if !s.accessPending {
		return nil
	}
	return r.applyAccess(ctx, s, !s.namespaceCreated)
}

// applyAccess applies the RoleBindings of the spec's admins and viewers and the ClusterRole that
// lets them read their own tenant object, then, when sweep is set, deletes the tenant's own
// RoleBindings that name someone the spec no longer names.
func (r *TenantReconciler) applyAccess(ctx context.Context, s *scope, sweep bool) error {
	for _, name := range []string{tenant.AdminRoleName, tenant.ViewerRoleName} {
		if err := r.Get(ctx, client.ObjectKey{Name: name}, &rbacv1.ClusterRole{}); apierrors.IsNotFound(err) {
			s.Wait(v1alpha1.ConditionAccessReady, v1alpha1.ReasonTenantRolesAbsent,
				"ClusterRole %s is missing: install config/rbac/tenant-roles.yaml (make install, or the Helm chart)", name)
			s.requeueAfter(time.Minute)
			return nil
		} else if err != nil {
			return err
		}
	}
	// one after the other: binding the tenant's ClusterRole needs it to exist (the API server's
	// escalation check reads its rules), so applying them at once failed now and then
	ns := s.res.Namespace
	for _, rb := range tenant.RoleBindings(s.res) {
		if err := r.applyOwned(ctx, s, v1alpha1.ConditionAccessReady, rb, &rbacv1.RoleBinding{}); err != nil || s.FailedPart(v1alpha1.ConditionAccessReady) {
			return err
		}
	}
	if err := r.applyOwned(ctx, s, v1alpha1.ConditionAccessReady, tenant.AccessClusterRole(s.res), &rbacv1.ClusterRole{}); err != nil || s.FailedPart(v1alpha1.ConditionAccessReady) {
		return err
	}
	if err := r.applyOwned(ctx, s, v1alpha1.ConditionAccessReady, tenant.AccessClusterRoleBinding(s.res), &rbacv1.ClusterRoleBinding{}); err != nil || s.FailedPart(v1alpha1.ConditionAccessReady) {
		return err
	}
	revoked := 0
	if sweep {
		var err error
		if revoked, err = r.sweepRoleBindings(ctx, s.tenant, ns, tenant.SpecSubjects(s.res), false); err != nil {
			return s.Failed(v1alpha1.ConditionAccessReady, err)
		}
	}
	spec := s.tenant.TenantSpec()
	if revoked > 0 {
		s.OK(v1alpha1.ConditionAccessReady, "%d admin and %d viewer subjects are bound; %d RoleBinding(s) naming people no longer in the spec were deleted (see the tenant's AccessRevoked events)",
			len(spec.Admins), len(spec.Viewers), revoked)
		return nil
	}
	s.OK(v1alpha1.ConditionAccessReady, "%d admin and %d viewer subjects are bound", len(spec.Admins), len(spec.Viewers))
	return nil
}

// revokeAccess takes every person's access away from the namespace a Retain tenant leaves behind:
// the cell's bindings and every RoleBinding that names a user or a group. The data stays, readable
// by the cell only, until a new tenant adopts the namespace and binds its own people.
func (r *TenantReconciler) revokeAccess(ctx context.Context, t v1alpha1.Tenant, res *tenant.Resolved) error {
	_, err := r.sweepRoleBindings(ctx, t, res.Namespace, "", true)
	return err
}

// sweepRoleBindings deletes the RoleBindings of a tenant namespace that name a subject the spec no
// longer allows (tenant.RevokedSubjects), whoever made them: Kubernetes records no author of a
// binding, so the whole binding goes and the remaining admins re-create what they still want. The
// cell's own bindings, applied from the spec just before, are left alone unless withCell is set.
// It reads around the cache, which keeps only what mutualis labels.
func (r *TenantReconciler) sweepRoleBindings(ctx context.Context, t v1alpha1.Tenant, namespace, allowed string, withCell bool) (int, error) {
	list := &rbacv1.RoleBindingList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return 0, err
	}
	deleted := 0
	for i := range list.Items {
		rb := &list.Items[i]
		if !withCell && (rb.Name == tenant.AdminsBindingName || rb.Name == tenant.ViewersBindingName) {
			continue
		}
		revoked, _ := tenant.RevokedSubjects(namespace, rb.Subjects, allowed)
		if len(revoked) == 0 {
			continue
		}
		if err := r.Delete(ctx, rb, client.Preconditions{UID: &rb.UID, ResourceVersion: &rb.ResourceVersion}); client.IgnoreNotFound(err) != nil {
			return deleted, err
		}
		deleted++
		ctrl.LoggerFrom(ctx).Info("revoked access", "namespace", namespace, "roleBinding", rb.Name, "subjects", tenant.SubjectNames(revoked))
		r.event(t, corev1.EventTypeNormal, v1alpha1.ReasonAccessRevoked, "Revoke",
			"deleted RoleBinding %s/%s, which named %s: not among spec.admins or spec.viewers any more", namespace, rb.Name, tenant.SubjectNames(revoked))
	}
	return deleted, nil
}
