package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/controllers/licence"
)

// Peers lists the namespaces of every tenant, for the connectivity check. The operator reads them
// from its cache, the plugin once for all the tenants it audits.
func Peers(ctx context.Context, r client.Reader) ([]Peer, error) {
	var list corev1.NamespaceList
	if err := r.List(ctx, &list, client.HasLabels{v1alpha1.LabelKind}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the tenant namespaces: %w", err)
	}
	out := make([]Peer, 0, len(list.Items))
	for _, ns := range list.Items {
		out = append(out, Peer{Namespace: ns.Name, Labels: ns.Labels})
	}
	return out, nil
}

// Gather reads what the audit of one tenant needs. live reads the tenant's namespace as it is on
// the API server, every object with its managed fields (the operator's cache holds only what it
// applied, trimmed); pools are the cell's licence pools, peers the other tenants' namespaces.
// partner is the namespace of the partner tenant, empty when there is none.
func Gather(ctx context.Context, live client.Reader, t v1alpha1.Tenant, partner string, policy v1alpha1.TenancyPolicySpec,
	peers []Peer, pools []v1alpha1.LicencePool, now time.Time) (Inputs, error) {
	st := t.TenantStatus()
	in := Inputs{
		Subject: Subject{Kind: t.TenantKind(), Name: t.GetName(), Namespace: t.TenantNamespace(),
			Partner: partner, Created: t.GetCreationTimestamp().Time},
		Policy:      policy,
		Peers:       peers,
		BackupReady: meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionBackupReady),
		Backup:      st.Backup,
		Now:         now,
	}
	// the reads at once: the operator audits in the reconcile that reports the tenant Ready, and
	// one after the other they would delay that report by seven round trips to the API server
	ns := &corev1.Namespace{}
	var nsErr error
	var (
		nps         networkingv1.NetworkPolicyList
		pods        corev1.PodList
		svcs        corev1.ServiceList
		ings        networkingv1.IngressList
		rbs         rbacv1.RoleBindingList
		partnerSvcs corev1.ServiceList
		deps        appsv1.DeploymentList
		sts         appsv1.StatefulSetList
		dss         appsv1.DaemonSetList
		jobs        batchv1.JobList
		crons       batchv1.CronJobList
	)
	var rbsRefused, partnerRefused bool
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { nsErr = live.Get(gctx, client.ObjectKey{Name: in.Subject.Namespace}, ns); return nil })
	for _, l := range []client.ObjectList{&nps, &pods, &svcs, &ings, &deps, &sts, &dss, &jobs, &crons} {
		g.Go(func() error {
			if err := live.List(gctx, l, client.InNamespace(in.Subject.Namespace)); err != nil {
				return fmt.Errorf("listing %T in %s: %w", l, in.Subject.Namespace, err)
			}
			return nil
		})
	}
	// a tenant's viewer may not read RoleBindings, nor a commune's people their CPAS's Services:
	// those checks are left out and said so (Unread), the rest of the audit stands
	g.Go(func() error {
		return refusable(live.List(gctx, &rbs, client.InNamespace(in.Subject.Namespace)), &rbsRefused, "listing the RoleBindings of "+in.Subject.Namespace)
	})
	if in.Subject.Partner != "" {
		g.Go(func() error {
			return refusable(live.List(gctx, &partnerSvcs, client.InNamespace(in.Subject.Partner)), &partnerRefused, "listing the Services of the partner "+in.Subject.Partner)
		})
	}
	// the objects labelled out of Velero's backups, by their metadata only (a Secret's data is
	// not the audit's to read)
	excluded := make([]metav1.PartialObjectMetadataList, len(ExcludableKinds))
	var secretsRefused bool
	for i, gvk := range ExcludableKinds {
		excluded[i].SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		g.Go(func() error {
			err := live.List(gctx, &excluded[i], client.InNamespace(in.Subject.Namespace), client.MatchingLabels{LabelExcludeFromBackup: "true"})
			if gvk.Kind == "Secret" {
				return refusable(err, &secretsRefused, "listing the Secrets of "+in.Subject.Namespace)
			}
			if err != nil {
				return fmt.Errorf("listing the %ss of %s excluded from backups: %w", gvk.Kind, in.Subject.Namespace, err)
			}
			return nil
		})
	}
	err := g.Wait()
	if secretsRefused {
		in.Unread = append(in.Unread, InputSecrets)
	}
	if rbsRefused {
		in.Unread = append(in.Unread, InputRoleBindings)
	}
	if partnerRefused {
		in.Unread = append(in.Unread, InputPartner)
	}
	switch {
	case apierrors.IsNotFound(nsErr):
		return in, nil
	case nsErr != nil:
		return in, fmt.Errorf("reading namespace %s: %w", in.Subject.Namespace, nsErr)
	case err != nil:
		return in, err
	}
	in.Namespace = ns
	if ns.Labels[LabelExcludeFromBackup] == "true" {
		in.ExcludedFromBackup = append(in.ExcludedFromBackup, "Namespace/"+ns.Name)
	}
	for i, gvk := range ExcludableKinds {
		for _, item := range excluded[i].Items {
			in.ExcludedFromBackup = append(in.ExcludedFromBackup, gvk.Kind+"/"+item.Name)
		}
	}
	if instances := ns.Annotations[v1alpha1.AnnotationSharedInstances]; instances != "" {
		in.InstanceServices = map[string][]corev1.Service{}
		for _, instance := range strings.Split(instances, ",") {
			list := &corev1.ServiceList{}
			var refused bool
			if err := refusable(live.List(ctx, list, client.InNamespace(instance)), &refused, "listing the Services of the shared instance "+instance); err != nil {
				return in, err
			}
			if refused {
				in.Unread = append(in.Unread, InputInstances)
				delete(in.InstanceServices, instance)
				continue
			}
			in.InstanceServices[instance] = list.Items
		}
	}
	in.NetworkPolicies, in.Pods, in.Services, in.Ingresses, in.RoleBindings = nps.Items, pods.Items, svcs.Items, ings.Items, rbs.Items
	in.PartnerServices = partnerSvcs.Items
	in.Workloads, in.JobOwners = workloads(&deps, &sts, &dss, &jobs, &crons)
	for _, a := range t.TenantSpec().Applications {
		if p := licence.Active(pools, a.Name); p != nil {
			in.Pools = append(in.Pools, *p)
		}
	}
	return in, nil
}

// ExcludableKinds are the kinds whose objects the audit (and kubectl mutualis export) looks for among those labelled out of
// Velero's backups: the tenant's data and what runs it (a Pod is rebuilt by its workload).
var ExcludableKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Secret"},
	{Version: "v1", Kind: "PersistentVolumeClaim"},
	{Version: "v1", Kind: "Service"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
}

// refusable turns a refusal of the reader's rights into refused, and wraps any other error.
func refusable(err error, refused *bool, doing string) error {
	switch {
	case apierrors.IsForbidden(err):
		*refused = true
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", doing, err)
	}
	return nil
}

// workloads are the pod templates of a namespace's workloads, each named once: a Job that a
// CronJob made is left to its CronJob, whose template it copies, and named in the owners map so
// that its pods are reported under the CronJob too.
func workloads(deps *appsv1.DeploymentList, sts *appsv1.StatefulSetList, dss *appsv1.DaemonSetList, jobs *batchv1.JobList, crons *batchv1.CronJobList) ([]Workload, map[string]string) {
	var out []Workload
	for _, d := range deps.Items {
		out = append(out, Workload{Object: "Deployment/" + d.Name, Spec: d.Spec.Template.Spec})
	}
	for _, s := range sts.Items {
		out = append(out, Workload{Object: "StatefulSet/" + s.Name, Spec: s.Spec.Template.Spec})
	}
	for _, d := range dss.Items {
		out = append(out, Workload{Object: "DaemonSet/" + d.Name, Spec: d.Spec.Template.Spec})
	}
	owners := map[string]string{}
	for _, j := range jobs.Items {
		if ref := metav1.GetControllerOf(&j); ref != nil && ref.Kind == "CronJob" {
			owners[j.Name] = "CronJob/" + ref.Name
			continue
		}
		out = append(out, Workload{Object: "Job/" + j.Name, Spec: j.Spec.Template.Spec})
	}
	for _, c := range crons.Items {
		out = append(out, Workload{Object: "CronJob/" + c.Name, Spec: c.Spec.JobTemplate.Spec.Template.Spec})
	}
	return out, owners
}
