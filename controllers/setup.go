package controllers

import (
	"context"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/api/validation"
	"github.com/crtpl/mutualis/controllers/apply"
	"github.com/crtpl/mutualis/controllers/incident"
	"github.com/crtpl/mutualis/controllers/render"
)

// Field indexes of the tenant caches.
const (
	indexCommuneNIS     = "spec.nis"
	indexCPASCommuneRef = "spec.communeRef"
	// indexApplication lists the applications a tenant uses: subscribed, or shared from its commune.
	indexApplication = "applications"
	// indexDomain lists the keys of a tenant's declared domains (validation.DomainIndexKeys).
	indexDomain = "domains"
	// indexPublishedDomain lists the keys of the domains a tenant namespace publishes for the
	// admission policy (its annotation mutualis.crtpl.be/domains).
	indexPublishedDomain = "publishedDomains"
)

// managedObjects are the kinds of the tenant contract, watched for drift.
func managedObjects() []client.Object {
	return []client.Object{
		&corev1.Namespace{}, &corev1.ResourceQuota{}, &corev1.LimitRange{},
		&rbacv1.RoleBinding{}, &rbacv1.ClusterRole{}, &rbacv1.ClusterRoleBinding{},
		&networkingv1.NetworkPolicy{},
	}
}

// applicationObjects are the kinds of applications that are watched for drift and health: the
// applications step reads every kind of a render as unstructured objects, and the most common
// ones come from the typed cache (typedApplicationKinds). Other kinds of a render are corrected at
// the next reconcile.
func applicationObjects() []client.Object { return typedApplicationKinds() }

// CacheOptions restricts every cache to objects labelled as managed by mutualis, but for the
// mutualis kinds themselves: the operator never caches every Secret, Namespace or Deployment of the
// cluster, including the kinds of applications it only meets in a render. Labels prove nothing (a
// tenant admin can put them on anything of its namespace), so of a labelled object that mutualis
// did not apply itself, the cache keeps only a stub of its identity: hundreds of large labelled
// ConfigMaps cost the operator a few hundred bytes each.
func CacheOptions() cache.Options {
	everything := cache.ByObject{Label: labels.Everything(), Transform: keepWhole}
	return cache.Options{
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{v1alpha1.LabelManagedBy: v1alpha1.ManagedByValue}),
		DefaultTransform:     stubUnlessApplied,
		ByObject: map[client.Object]cache.ByObject{
			&v1alpha1.Commune{}: everything, &v1alpha1.CPAS{}: everything, &v1alpha1.Province{}: everything,
			&v1alpha1.SharedApplication{}: everything, &v1alpha1.LicencePool{}: everything,
			&v1alpha1.TenancyPolicy{}: everything,
			// the tenant ClusterRoles are installed by config/ or by the Helm chart, and Helm labels
			// what it installs managed-by=Helm: the cache holds every ClusterRole (a few hundred in a
			// cluster, stubs but for mutualis's own) so that the access step finds them either way
			&rbacv1.ClusterRole{}: {Label: labels.Everything()},
		},
	}
}

// ClientOptions make the manager's client read unstructured objects (the applications' objects,
// Velero's) from the cache too, as it does typed ones: without it, every reconcile reads each
// object of each application live from the API server.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{Unstructured: true}}
}

func keepWhole(obj any) (any, error) { return obj, nil }

// stubUnlessApplied is the cache's transform: an object that mutualis applied is kept whole (its
// managed fields are what the appliers compare), any other one is reduced to its identity.
func stubUnlessApplied(obj any) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	if apply.AppliedByMutualis(o) {
		keepOwnManagedFields(o)
		if q, isQuota := o.(*corev1.ResourceQuota); isQuota {
			// its usage, which the quota controller keeps, is read by nobody here and is a good
			// part of what thousands of quotas weigh in memory
			q.Status = corev1.ResourceQuotaStatus{}
		}
		return obj, nil
	}
	// Velero's objects live in Velero's namespace, which tenants cannot write: its Backups, which
	// Velero creates, are read whole for their phase
	if u, isUnstructured := o.(*unstructured.Unstructured); isUnstructured && u.GroupVersionKind().Group == "velero.io" {
		return obj, nil
	}
	var stub client.Object
	if u, isUnstructured := o.(*unstructured.Unstructured); isUnstructured {
		s := &unstructured.Unstructured{}
		s.SetGroupVersionKind(u.GroupVersionKind())
		stub = s
	} else {
		stub = reflect.New(reflect.TypeOf(o).Elem()).Interface().(client.Object)
	}
	stub.SetName(o.GetName())
	stub.SetNamespace(o.GetNamespace())
	stub.SetUID(o.GetUID())
	stub.SetResourceVersion(o.GetResourceVersion())
	stub.SetGeneration(o.GetGeneration())
	stub.SetCreationTimestamp(o.GetCreationTimestamp())
	stub.SetDeletionTimestamp(o.GetDeletionTimestamp())
	stub.SetLabels(o.GetLabels())
	// what the tenant step reads of a namespace that mutualis did not apply (yet): the adopt
	// annotation, and owner references of an earlier version to remove
	if v, found := o.GetAnnotations()[v1alpha1.AnnotationAdopt]; found {
		stub.SetAnnotations(map[string]string{v1alpha1.AnnotationAdopt: v})
	}
	stub.SetOwnerReferences(o.GetOwnerReferences())
	return stub, nil
}

// keepOwnManagedFields drops the managed-fields entries of other managers from a cached object:
// the appliers read only mutualis's own (and the suspension's), and those of the controllers that
// write a workload's status are a good part of its size in memory. The entries kept lose their
// field sets: the applier compares every object by hash and content, never by managed fields, and
// the set of every field of a Deployment is most of what it weighs.
func keepOwnManagedFields(o client.Object) {
	ours := func(manager string) bool { return manager == v1alpha1.FieldOwner || manager == apply.SuspendOwner }
	if u, isUnstructured := o.(*unstructured.Unstructured); isUnstructured {
		// in place: SetManagedFields would copy every entry through JSON
		metadata, _ := u.Object["metadata"].(map[string]any)
		entries, _ := metadata["managedFields"].([]any)
		kept := entries[:0]
		for _, e := range entries {
			if m, _ := e.(map[string]any); m != nil {
				if manager, _ := m["manager"].(string); ours(manager) {
					delete(m, "fieldsV1")
					kept = append(kept, e)
				}
			}
		}
		if metadata != nil && len(entries) > 0 {
			metadata["managedFields"] = kept
		}
		return
	}
	fields := o.GetManagedFields()
	kept := fields[:0:0]
	for _, f := range fields {
		if ours(f.Manager) {
			f.FieldsV1 = nil
			kept = append(kept, f)
		}
	}
	o.SetManagedFields(kept)
}

// Config tunes the reconcilers; the zero value is what production uses.
type Config struct {
	// ConflictRetry is how often a tenant in NamespaceConflict looks at the namespace again: the
	// operator does not watch namespaces it does not manage, so it cannot see the adopt annotation
	// arrive. Default one minute.
	ConflictRetry time.Duration
	// Now is the clock of licence expiry; nil is the wall clock.
	Now func() time.Time
	// TenantWorkers is how many tenants of each kind are reconciled at once. A reconcile mostly
	// waits on the API server (a first one applies some thirty objects, one after the other), so
	// a few workers per core keep the API server busy rather than the queue. Default 8.
	TenantWorkers int
	// AuditInterval is how often a tenant that did not change is audited. Default
	// audit.DefaultInterval (6 h).
	AuditInterval time.Duration
	// IncidentHook is where notices of incidents touching a tenant's data are posted (the cell's
	// mail relay or ticketing, which writes to the tenant's DPO); empty: Warning events only.
	IncidentHook string
}

// DefaultTenantWorkers is the default of Config.TenantWorkers.
const DefaultTenantWorkers = 8

// The metrics served over HTTPS (--metrics-secure) ask the API server who scrapes and whether it
// may get /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Setup registers the field indexes and every reconciler with the manager.
func Setup(ctx context.Context, mgr manager.Manager, cfg Config) error {
	c, err := newTypedReads(mgr.GetClient())
	if err != nil {
		return err
	}
	renders := &render.Memo{}
	if cfg.ConflictRetry == 0 {
		cfg.ConflictRetry = time.Minute
	}
	if cfg.TenantWorkers <= 0 {
		cfg.TenantWorkers = DefaultTenantWorkers
	}
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.Commune{}, indexCommuneNIS, func(o client.Object) []string {
		return []string{o.(*v1alpha1.Commune).Spec.NIS}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.CPAS{}, indexCPASCommuneRef, func(o client.Object) []string {
		return []string{o.(*v1alpha1.CPAS).Spec.CommuneRef}
	}); err != nil {
		return err
	}
	if err := (&SharedApplicationReconciler{Client: c, APIReader: mgr.GetAPIReader(), Renders: renders}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&LicencePoolReconciler{Client: c, Recorder: mgr.GetEventRecorder("mutualis"), Now: cfg.Now}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &corev1.Namespace{}, indexPublishedDomain, func(o client.Object) []string {
		var keys []string
		for _, d := range splitList(o.GetAnnotations()[v1alpha1.AnnotationDomains]) {
			keys = append(keys, validation.DomainIndexKeys(d)...)
		}
		return keys
	}); err != nil {
		return err
	}
	for _, obj := range []client.Object{&v1alpha1.Commune{}, &v1alpha1.CPAS{}, &v1alpha1.Province{}} {
		if err := idx.IndexField(ctx, obj, indexApplication, func(o client.Object) []string {
			return usedApplications(o.(v1alpha1.Tenant))
		}); err != nil {
			return err
		}
		if err := idx.IndexField(ctx, obj, indexDomain, func(o client.Object) []string {
			var keys []string
			for _, d := range o.(v1alpha1.Tenant).TenantSpec().Domains {
				keys = append(keys, validation.DomainIndexKeys(string(d))...)
			}
			return keys
		}); err != nil {
			return err
		}
	}
	if err := registerStateMetrics(mgr.GetCache(), mgr.Elected()); err != nil {
		return err
	}
	drills := &DrillSlots{}
	for _, kind := range v1alpha1.TenantKinds {
		r := &TenantReconciler{
			Drills:        drills,
			Client:        c,
			APIReader:     mgr.GetAPIReader(),
			Recorder:      mgr.GetEventRecorder("mutualis"),
			Kind:          kind,
			ConflictRetry: cfg.ConflictRetry,
			Workers:       cfg.TenantWorkers,
			AuditInterval: cfg.AuditInterval,
			Renders:       renders,
		}
		if cfg.IncidentHook != "" {
			r.Incidents = &incident.Hook{URL: cfg.IncidentHook}
		}
		if err := r.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}
