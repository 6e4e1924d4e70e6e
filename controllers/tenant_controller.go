package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/incident"
	"github.com/crtpl/mutualis/controllers/render"
	"github.com/crtpl/mutualis/controllers/tenant"
	"github.com/prometheus/client_golang/prometheus"
)

// TenantReconciler turns a Commune or a CPAS into its tenant namespace and everything in it. One
// instance serves one kind; the logic is the same for both.
type TenantReconciler struct {
	client.Client
	// APIReader reads around the cache, for namespaces that mutualis does not manage (yet).
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// Incidents delivers the notices of incidents touching a tenant's data to the cell's hook; nil:
	// the Warning event alone.
	Incidents *incident.Hook
	Kind      v1alpha1.TenantKind
	// ConflictRetry is how often a tenant in NamespaceConflict looks at the namespace again.
	ConflictRetry time.Duration
	// Workers is how many tenants are reconciled at once (never the same one twice at once).
	Workers int
	// AuditInterval is how often a tenant that did not change is audited (audit.DefaultInterval
	// when zero).
	AuditInterval time.Duration
	// lastAudit is the latest audit summary this process computed, by tenant UID.
	lastAudit sync.Map
	// Renders keeps each subscription's last render; nil renders every time.
	Renders *render.Memo

	// controller and cache serve the watches on Velero's kinds, added once Velero is installed.
	controller    controller.Controller
	cache         cache.Cache
	veleroMu      sync.Mutex
	veleroWatched map[string]bool

	// histories are the JSON of the records of service this process wrote last, by tenant UID.
	histories sync.Map

	// Drills bounds the restore drills running at once; Setup gives both kinds the same.
	Drills    *DrillSlots
	drillOnce sync.Once
}

// +kubebuilder:rbac:groups=mutualis.crtpl.be,resources=communes;cpas;provinces,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mutualis.crtpl.be,resources=communes/status;cpas/status;provinces/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mutualis.crtpl.be,resources=communes/finalizers;cpas/finalizers;provinces/finalizers,verbs=update
// +kubebuilder:rbac:groups=mutualis.crtpl.be,resources=sharedapplications;licencepools;tenancypolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings;clusterroles;clusterrolebindings,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=mutualis-tenant-admin;mutualis-tenant-viewer
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=configmaps;secrets;services;serviceaccounts;persistentvolumeclaims,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=daemonsets,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=velero.io,resources=schedules,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=velero.io,resources=backups,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=velero.io,resources=restores,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Writes are server-side applies (patch, and create for a new object); update only where the
// admission policy of the cell's objects asks for it (communes) and where a status is written whole.
// The operator holds no escalate and binds only the two tenant ClusterRoles: the per-tenant access
// ClusterRoles and the Roles of applications grant nothing it does not hold itself, which is what
// RBAC asks of whoever creates or binds a role without those verbs.

func (r *TenantReconciler) newTenant() v1alpha1.Tenant { return r.Kind.New() }

func (r *TenantReconciler) newTenantList() client.ObjectList {
	switch r.Kind {
	case v1alpha1.KindCPAS:
		return &v1alpha1.CPASList{}
	case v1alpha1.KindProvince:
		return &v1alpha1.ProvinceList{}
	}
	return &v1alpha1.CommuneList{}
}

// tenantsOf are the items of a list of tenants of one kind.
func tenantsOf(list client.ObjectList) []v1alpha1.Tenant {
	var out []v1alpha1.Tenant
	switch l := list.(type) {
	case *v1alpha1.CommuneList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *v1alpha1.CPASList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *v1alpha1.ProvinceList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out
}

// Reconcile runs the ordered steps of the tenant contract and writes the status once, at the end,
// when it changed.
func (r *TenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	t := r.newTenant()
	if err := r.Get(ctx, req.NamespacedName, t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := newScope(t)
	defer func() {
		if p := recover(); p != nil {
			panic(p) // a status computed half-way through a panic would lie: write none
		}
		r.reportChanges(ctx, s)
		if perr := r.writeStatus(ctx, s); perr != nil && err == nil {
			err = perr
		}
		// the record of service reads the status just computed
		if herr := r.recordHistory(ctx, s); herr != nil && err == nil {
			err = herr
		}
	}()

	// before anything else, in every state of the tenant: a namespace that the garbage collector
	// can reach is a namespace that a foreground cascade deletes before the final backup
	if err := r.releaseNamespace(ctx, t); err != nil {
		return ctrl.Result{}, err
	}
	if !t.GetDeletionTimestamp().IsZero() {
		return r.finalize(ctx, s)
	}
	if !controllerutil.ContainsFinalizer(t, v1alpha1.Finalizer) {
		patch := client.MergeFrom(t.DeepCopyObject().(client.Object))
		controllerutil.AddFinalizer(t, v1alpha1.Finalizer)
		if err := r.Patch(ctx, t, patch); err != nil {
			return ctrl.Result{}, err
		}
	}

	if err := r.resolve(ctx, s); err != nil {
		reconcileErrors.WithLabelValues(r.Kind.Kind(), "resolve").Inc()
		return ctrl.Result{}, err
	}
	identified := !s.Blocked()
	// who may enter the namespace follows the spec in every state: access runs before anything that
	// can stop this reconcile (a stalled or suspended tenant, a failing application), on the
	// namespace as it already is
	if err := r.reconcileAccess(ctx, s); err != nil {
		reconcileErrors.WithLabelValues(r.Kind.Kind(), "access").Inc()
		return ctrl.Result{}, err
	}
	if !identified {
		return s.result(), nil
	}
	if t.TenantSpec().Suspend {
		s.Suspended = true
		return ctrl.Result{}, r.suspendWorkloads(ctx, s)
	}
	// everything lives in the namespace: without it, nothing else is done
	if err := r.reconcileNamespace(ctx, s); err != nil || !s.PartReady(v1alpha1.ConditionNamespaceReady) {
		if err != nil {
			reconcileErrors.WithLabelValues(r.Kind.Kind(), "namespace").Inc()
		}
		return s.result(), err
	}
	// the other parts stand on their own: an application that waits or a role that is missing
	// never holds back the quota, the isolation or the backups
	for _, step := range []struct {
		name string
		run  func(context.Context, *scope) error
	}{
		{"quota", r.reconcileQuota},
		{"access", r.reconcileAccessOfNewNamespace},
		{"network", r.reconcileNetwork},
		{"applications", r.reconcileApplications},
		{"backup", r.reconcileBackup},
		{"restore drill", r.reconcileRestoreDrill},
	} {
		if err := step.run(ctx, s); err != nil {
			reconcileErrors.WithLabelValues(r.Kind.Kind(), step.name).Inc()
			return ctrl.Result{}, err
		}
	}
	// last, and outside Ready: what the audit finds is for people to act on
	r.reconcileAudit(ctx, s)
	return s.result(), nil
}

// reconcileNamespace creates or adopts the namespace. An existing namespace that mutualis does not
// manage is taken only when it carries the adopt annotation naming this tenant.
func (r *TenantReconciler) reconcileNamespace(ctx context.Context, s *scope) error {
	live, err := r.liveNamespace(ctx, s.res.Namespace)
	if err != nil {
		return err
	}
	if live != nil {
		if !isManagedNamespace(live, s.res) {
			want := fmt.Sprintf("%s/%s", s.res.Kind, s.res.Name)
			if live.Annotations[v1alpha1.AnnotationAdopt] != want {
				s.Stall(v1alpha1.ConditionNamespaceReady, v1alpha1.ReasonNamespaceConflict,
					"namespace %s already exists and is not managed by mutualis: annotate it with %s=%s to adopt it, or rename this %s",
					s.res.Namespace, v1alpha1.AnnotationAdopt, want, s.res.Kind)
				s.requeueAfter(r.ConflictRetry)
				return nil
			}
			r.event(s.tenant, corev1.EventTypeNormal, v1alpha1.ReasonNamespaceAdopted, "Adopt", "adopting existing namespace %s as annotated", s.res.Namespace)
		}
		if live.DeletionTimestamp != nil {
			s.Wait(v1alpha1.ConditionNamespaceReady, v1alpha1.ReasonNamespaceDeleting,
				"namespace %s is being deleted; the tenant re-creates it once it is gone", s.res.Namespace)
			s.requeueAfter(5 * time.Second)
			return nil
		}
	}
	// a domain another namespace still publishes waits until that namespace let it go
	var published []string
	if live != nil {
		published = splitList(live.Annotations[v1alpha1.AnnotationDomains])
	}
	domains, held, err := r.stillPublished(ctx, s.res.Namespace, published, s.res.Domains)
	if err != nil {
		return err
	}
	s.res.Domains = domains
	for _, d := range slices.Sorted(maps.Keys(held)) {
		s.Wait("", v1alpha1.ReasonDomainReleasing, "domain %s is still published by namespace %s, which withdraws its Ingresses for it first; it is published here once it is released", d, held[d])
		s.requeueAfter(2 * time.Second)
	}
	var current client.Object // nil: no namespace yet
	if live != nil {
		current = live
		// before the namespace publishes less, what the tenant may no longer have goes
		before, after := publicationOf(live), desiredPublication(s.res)
		after.instances = append(after.instances, stillSubscribed(s.tenant, before.instances)...)
		removed, err := r.withdraw(ctx, s, before, after)
		if err != nil {
			return s.Failed(v1alpha1.ConditionNamespaceReady, err)
		}
		s.withdrawn = append(s.withdrawn, removed...)
	}
	change, err := apply.TypedOn(ctx, r.Client, tenant.Namespace(s.res, s.policy), current)
	if err != nil {
		return s.Failed(v1alpha1.ConditionNamespaceReady, err)
	}
	s.changes.Add(change)
	if change.Action == apply.Created {
		s.namespaceCreated = true
		r.event(s.tenant, corev1.EventTypeNormal, v1alpha1.ReasonNamespaceCreated, "Create", "created namespace %s", s.res.Namespace)
	}
	if len(s.withdrawn) > 0 {
		s.OK(v1alpha1.ConditionNamespaceReady, "namespace %s is in place with Pod Security %s; withdrawn: %s", s.res.Namespace, s.policy.PodSecurity, strings.Join(s.withdrawn, "; "))
		return nil
	}
	s.OK(v1alpha1.ConditionNamespaceReady, "namespace %s is in place with Pod Security %s", s.res.Namespace, s.policy.PodSecurity)
	return nil
}

// releaseNamespace removes from the tenant namespace every owner reference to a Commune or a CPAS.
// Earlier versions of mutualis put one on the namespaces of Delete tenants; with it, a foreground
// cascade lets the garbage collector delete the namespace before the final backup, and a reference
// to a tenant that no longer exists lets it delete the namespace at any time.
func (r *TenantReconciler) releaseNamespace(ctx context.Context, t v1alpha1.Tenant) error {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: t.TenantNamespace()}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}
	var kept []metav1.OwnerReference
	for _, ref := range ns.OwnerReferences {
		if !isTenantReference(ref) {
			kept = append(kept, ref)
		}
	}
	if len(kept) == len(ns.OwnerReferences) {
		return nil
	}
	before := ns.DeepCopy()
	ns.OwnerReferences = kept
	if err := r.Patch(ctx, ns, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("removing the owner reference from namespace %s: %w", ns.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("removed the owner reference of an earlier version from the tenant namespace", "namespace", ns.Name)
	r.event(t, corev1.EventTypeNormal, v1alpha1.ReasonNamespaceReleased, "Release",
		"removed the owner reference from namespace %s: only the finalizer deletes a tenant namespace, after the final backup", ns.Name)
	return nil
}

func isTenantReference(ref metav1.OwnerReference) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == v1alpha1.GroupVersion.Group && (ref.Kind == "Commune" || ref.Kind == "CPAS")
}

// suspendWorkloads scales to zero every Deployment and StatefulSet that the tenant's applications
// applied, from their inventories.
func (r *TenantReconciler) suspendWorkloads(ctx context.Context, s *scope) error {
	for _, app := range s.tenant.TenantStatus().Applications {
		for _, ref := range apply.Refs(app.Resources) {
			gk, name, err := ref.Parse()
			if err != nil || gk.Group != "apps" || (gk.Kind != "Deployment" && gk.Kind != "StatefulSet") {
				continue
			}
			w := &unstructured.Unstructured{}
			w.SetGroupVersionKind(gk.WithVersion("v1"))
			w.SetNamespace(s.tenant.TenantNamespace())
			w.SetName(name)
			if _, err := apply.Suspend(ctx, r.Client, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// liveNamespace reads the namespace from the cache, which holds managed namespaces only, and falls
// back to the API server to see an unmanaged one before creating it.
func (r *TenantReconciler) liveNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns := &corev1.Namespace{}
	err := r.Get(ctx, types.NamespacedName{Name: name}, ns)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, types.NamespacedName{Name: name}, ns)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ns, nil
}

// isManagedNamespace tells a namespace of this tenant from a foreign one: it carries the tenant's
// labels, or mutualis has applied it before and someone stripped the labels (drift, not a conflict).
func isManagedNamespace(ns *corev1.Namespace, t *tenant.Resolved) bool {
	l := ns.Labels
	if l[v1alpha1.LabelManagedBy] == v1alpha1.ManagedByValue &&
		l[v1alpha1.LabelTenant] == t.Namespace &&
		l[v1alpha1.LabelKind] == string(t.Kind) {
		return true
	}
	return apply.AppliedByMutualis(ns)
}

func (r *TenantReconciler) reconcileQuota(ctx context.Context, s *scope) error {
	quota := &corev1.ResourceQuota{}
	if err := r.applyOwned(ctx, s, v1alpha1.ConditionQuotaReady, tenant.ResourceQuota(s.res), quota); err != nil || s.FailedPart(v1alpha1.ConditionQuotaReady) {
		return err
	}
	limits := &corev1.LimitRange{}
	if err := r.applyOwned(ctx, s, v1alpha1.ConditionQuotaReady, tenant.LimitRange(s.res), limits); err != nil || s.FailedPart(v1alpha1.ConditionQuotaReady) {
		return err
	}
	s.OK(v1alpha1.ConditionQuotaReady, "quota and limits of tier %s are in force", s.res.Tier.Name)
	return nil
}

func (r *TenantReconciler) reconcileNetwork(ctx context.Context, s *scope) error {
	// the policies are independent of each other: a first reconcile applies them at once
	// rather than waiting for the API server eight times in a row
	policies := tenant.NetworkPolicies(s.res, s.policy)
	if err := apply.AtOnce(ctx, len(policies), func(ctx context.Context, i int) error {
		change, err := apply.Typed(ctx, r.Client, policies[i], &networkingv1.NetworkPolicy{})
		s.changes.Add(change)
		return err
	}); err != nil {
		return s.Failed(v1alpha1.ConditionNetworkReady, err)
	}
	peer := "no partner tenant"
	if s.res.Partner != "" {
		peer = "partner " + s.res.Partner
	}
	if n := len(s.res.ExternalEndpoints); n > 0 {
		peer += fmt.Sprintf("; %d approved external endpoints open", n)
	}
	s.OK(v1alpha1.ConditionNetworkReady, "namespace isolated by default-deny network policies (%s)", peer)
	return nil
}

// applyOwned applies an object of the tenant contract, read into live from the cache, when it
// differs from the desired one; the change goes to the reconcile's change set, an error to the part.
func (r *TenantReconciler) applyOwned(ctx context.Context, s *scope, part string, desired runtime.ApplyConfiguration, live client.Object) error {
	change, err := apply.Typed(ctx, r.Client, desired, live)
	if err != nil {
		return s.Failed(part, err)
	}
	s.changes.Add(change)
	return nil
}

// finalize lets a tenant go: Retain keeps the namespace, without any owner reference that the
// garbage collector could follow, and labelled as orphaned; Delete deletes the namespace and waits
// until it is gone.
func (r *TenantReconciler) finalize(ctx context.Context, s *scope) (ctrl.Result, error) {
	t := s.tenant
	r.lastAudit.Delete(t.GetUID())
	r.histories.Delete(t.GetUID())
	if !controllerutil.ContainsFinalizer(t, v1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx)
	nsName := t.TenantNamespace()
	// a drill under way ends with its tenant: its scratch namespace holds a copy of the data
	if err := r.dropScratch(ctx, nsName); err != nil {
		return ctrl.Result{}, err
	}
	live, err := r.liveNamespace(ctx, nsName)
	if err != nil {
		return ctrl.Result{}, err
	}
	res := &tenant.Resolved{Kind: r.Kind, Name: t.GetName(), UID: t.GetUID(), Namespace: nsName, Spec: t.TenantSpec()}
	policy := &v1alpha1.TenancyPolicy{}
	if err := r.Get(ctx, client.ObjectKey{Name: v1alpha1.TenancyPolicyName}, policy); apierrors.IsNotFound(err) {
		policy = nil
	} else if err != nil {
		return ctrl.Result{}, err
	}
	settings := backup.EffectiveSettings(t.TenantSpec().Backup, tenant.EffectivePolicy(policy))
	if live != nil && isManagedNamespace(live, res) {
		switch t.TenantSpec().DeletionPolicy {
		case v1alpha1.DeletionPolicyDelete:
			if live.DeletionTimestamp == nil {
				done, err := r.finalBackup(ctx, s, settings)
				if err != nil || !done {
					return s.result(), err
				}
				log.Info("deleting tenant namespace", "namespace", nsName, "deletionPolicy", v1alpha1.DeletionPolicyDelete)
				if err := r.Delete(ctx, live, client.Preconditions{UID: &live.UID}); client.IgnoreNotFound(err) != nil {
					return ctrl.Result{}, err
				}
				r.event(t, corev1.EventTypeNormal, v1alpha1.ReasonNamespaceDeleted, "Delete", "deleting namespace %s (deletionPolicy Delete)", nsName)
			}
			s.Wait(v1alpha1.ConditionNamespaceReady, v1alpha1.ReasonDeleting, "waiting for namespace %s to finish deleting", nsName)
			return ctrl.Result{RequeueAfter: 2 * time.Second}, nil
		default:
			res.OrphanedAt = t.GetDeletionTimestamp().Time
			if err := r.orphanNamespace(ctx, res, live); err != nil {
				return ctrl.Result{}, err
			}
			// the data stays, the people go: nothing watches this namespace any more
			if err := r.revokeAccess(ctx, t, res); err != nil {
				return ctrl.Result{}, err
			}
			log.Info("kept tenant namespace", "namespace", nsName, "deletionPolicy", v1alpha1.DeletionPolicyRetain)
			r.event(t, corev1.EventTypeNormal, v1alpha1.ReasonNamespaceRetained, "Retain", "namespace %s and its data are kept, labelled %s", nsName, v1alpha1.LabelOrphaned)
		}
	}
	if err := r.deleteSchedule(ctx, nsName, settings); err != nil {
		return ctrl.Result{}, err
	}
	for _, obj := range []client.Object{
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: tenant.AccessRoleName(nsName)}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: tenant.AccessRoleName(nsName)}},
	} {
		if err := r.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
	}
	patch := client.MergeFrom(t.DeepCopyObject().(client.Object))
	controllerutil.RemoveFinalizer(t, v1alpha1.Finalizer)
	s.released = true
	r.Renders.Forget(nsName)
	return ctrl.Result{}, r.Patch(ctx, t, patch)
}

// orphanNamespace applies the namespace without owner reference and with the orphaned label, then
// checks on the API server that no reference to the tenant is left before the finalizer goes.
func (r *TenantReconciler) orphanNamespace(ctx context.Context, res *tenant.Resolved, live *corev1.Namespace) error {
	res.Orphaned = true
	res.NIS = live.Labels[v1alpha1.LabelNIS]
	res.Tier = v1alpha1.Tier{Name: live.Labels[v1alpha1.LabelTier]}
	level := live.Labels[tenant.LabelPodSecurityEnforce]
	policy := v1alpha1.TenancyPolicySpec{PodSecurity: v1alpha1.PodSecurityLevel(level)}
	if err := r.Apply(ctx, tenant.Namespace(res, policy), apply.Options...); err != nil {
		return err
	}
	fresh := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: res.Namespace}, fresh); err != nil {
		return err
	}
	for _, ref := range fresh.OwnerReferences {
		if ref.UID == res.UID {
			return fmt.Errorf("namespace %s still references %s %s: not releasing the tenant", res.Namespace, res.Kind, res.Name)
		}
	}
	// what a blocked tenant published with a patch (publishWhileBlocked) is not the apply's to
	// remove: a kept namespace publishes nothing
	patch := client.MergeFrom(fresh.DeepCopy())
	left := false
	for _, key := range publishedAnnotations {
		if _, ok := fresh.Annotations[key]; ok {
			delete(fresh.Annotations, key)
			left = true
		}
	}
	if !left {
		return nil
	}
	return client.IgnoreNotFound(r.Patch(ctx, fresh, patch, client.FieldOwner(v1alpha1.FieldOwner)))
}

// publishedAnnotations are what a tenant namespace publishes for the admission policies.
var publishedAnnotations = []string{
	v1alpha1.AnnotationDomains, v1alpha1.AnnotationPartner, v1alpha1.AnnotationServiceTypes, v1alpha1.AnnotationSharedInstances,
	v1alpha1.AnnotationSubjects, v1alpha1.AnnotationIngressAnnotations, v1alpha1.AnnotationPriorityClasses,
}

// reportedChanges is how many changes an Event of the change set names; the log line names all.
const reportedChanges = 8

// reportChanges tells what this reconcile wrote, once: a log line with every change, and, when it
// changed or pruned something that existed (an update rolled out, drift taken back, an object
// removed), an Event on the tenant naming the first few. A tenant's first objects are announced by
// NamespaceCreated and Ready rather than by one Event more per tenant while a cell onboards.
func (r *TenantReconciler) reportChanges(ctx context.Context, s *scope) {
	changed := s.changes.Changed()
	if len(changed) == 0 {
		return
	}
	names := make([]string, 0, len(changed))
	for _, c := range changed {
		names = append(names, c.String())
	}
	log.FromContext(ctx).Info("applied", "summary", s.changes.Summary(), "changes", names)
	if s.changes.Count(apply.Configured)+s.changes.Count(apply.Pruned) == 0 {
		return
	}
	shown := names[:min(len(names), reportedChanges)]
	more := ""
	if len(names) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(names)-len(shown))
	}
	r.event(s.tenant, corev1.EventTypeNormal, v1alpha1.ReasonApplied, "Apply", "%s: %s%s", s.changes.Summary(), strings.Join(shown, ", "), more)
}

var incidents = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "mutualis_incidents_total",
	Help: "Incidents touching a tenant's data that the operator told of, by tenant kind and incident (HighFinding, RestoreDrillFailed, FinalBackupFailed).",
}, []string{"kind", "incident"})

func init() { metrics.Registry.MustRegister(incidents) }

// incident tells of an incident that touches a tenant's data: a Warning event that names whom to
// tell (the tenant's DPO), and the notice posted to the cell's hook when it has one. A notice the
// hook refuses is a second Warning event and a log line; the incident is not retried, the first
// event keeps it.
func (r *TenantReconciler) incident(ctx context.Context, t v1alpha1.Tenant, kind incident.Kind, message string) {
	n := incident.For(t, kind, message, time.Now())
	r.event(t, corev1.EventTypeWarning, v1alpha1.ReasonIncident, "Notify", "%s", n.EventNote())
	incidents.WithLabelValues(t.TenantKind().Kind(), string(kind)).Inc()
	if r.Incidents == nil {
		return
	}
	if err := r.Incidents.Send(ctx, n); err != nil {
		log.FromContext(ctx).Error(err, "the incident hook refused a notice", "incident", kind)
		r.event(t, corev1.EventTypeWarning, v1alpha1.ReasonIncidentNotDelivered, "Notify", "the notice of %s did not reach the cell's incident hook: %v", kind, err)
	}
}

func (r *TenantReconciler) event(obj client.Object, eventType, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, eventType, reason, action, note, args...)
	}
}

// SetupWithManager wires the watches that wake a tenant: its own object, the objects it manages
// (drift), the policy, the catalogue, its partner tenant and the tenants that compete with it.
func (r *TenantReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named(string(r.Kind)).
		For(r.newTenant()).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Workers, 1)})
	for _, obj := range append(managedObjects(), applicationObjects()...) {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.tenantOfManagedObject), builder.WithPredicates(managedObjectChanged()))
	}
	b = b.Watches(&v1alpha1.TenancyPolicy{}, handler.EnqueueRequestsFromMapFunc(r.allTenants),
		builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.SharedApplication{}, handler.EnqueueRequestsFromMapFunc(r.subscribers),
			builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, instanceReadinessChanged(), tokenKeyChanged()))).
		Watches(&v1alpha1.LicencePool{}, handler.EnqueueRequestsFromMapFunc(r.poolSubscribers)).
		Watches(&v1alpha1.Commune{}, handler.EnqueueRequestsFromMapFunc(r.relatedToCommune), builder.WithPredicates(partnerChanged())).
		Watches(&v1alpha1.CPAS{}, handler.EnqueueRequestsFromMapFunc(r.relatedToCPAS), builder.WithPredicates(partnerChanged())).
		Watches(&v1alpha1.Province{}, handler.EnqueueRequestsFromMapFunc(r.relatedToProvince), builder.WithPredicates(tenantChanged(nil)))
	c, err := b.Build(r)
	if err != nil {
		return err
	}
	r.controller, r.cache = c, mgr.GetCache()
	return nil
}
