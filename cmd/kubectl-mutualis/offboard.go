package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crtpl/mutualis/api/v1alpha1"
	"github.com/crtpl/mutualis/cmd/kubectl-mutualis/i18n"
	"github.com/crtpl/mutualis/controllers/backup"
	"github.com/crtpl/mutualis/controllers/tenant"
)

// offboardRecord is what an offboarding did, in offboarding.json and in the certificate.
type offboardRecord struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	NIS       string    `json:"nis"`
	Namespace string    `json:"namespace"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	// Export is the archive handed to the commune: its file, SHA-256, backup and objects.
	Export      string         `json:"export"`
	ExportSHA   string         `json:"exportSHA256"`
	ExportFrom  string         `json:"exportBackup"`
	Objects     map[string]int `json:"objects"`
	Instances   []instanceExit `json:"instances,omitempty"`
	Deleted     time.Time      `json:"namespaceDeleted"`
	FinalBackup string         `json:"finalBackup"`
	// LastExpiry is when the last of the tenant's backups expires: after it, the cell keeps
	// nothing of the tenant.
	LastExpiry *time.Time `json:"lastBackupExpires,omitempty"`
	Backups    int        `json:"backupsKept"`
}

// instanceExit is what the offboarding did in one Shared application's instance.
type instanceExit struct {
	Application string     `json:"application"`
	Namespace   string     `json:"namespace"`
	Exported    *time.Time `json:"exported,omitempty"`
	ExportFile  string     `json:"exportFile,omitempty"`
	Purged      *time.Time `json:"purged,omitempty"`
	// Note says what the cell must do by hand: no hook declared.
	Note string `json:"note,omitempty"`
}

func newOffboardCommand(o *options) *cobra.Command {
	var dir string
	var timeout time.Duration
	var yes bool
	var lang *language
	cmd := &cobra.Command{
		Use:   "offboard <tenant>",
		Short: "A commune or CPAS leaves the cell: export, purge the shared instances, delete, certify",
		Long: `Offboard one tenant, in order, stopping at the first step that fails (run it again to go on):

  1. export its namespace (as kubectl mutualis export) and, for each Shared application it uses
     whose catalogue entry declares spec.dataHooks.export, its records in that instance, into one
     archive for the commune;
  2. purge its records from each Shared instance whose entry declares spec.dataHooks.purge;
  3. delete the tenant with deletionPolicy Delete: the operator takes the final backup, then
     deletes the namespace;
  4. write offboarding.json and the certificate the cell hands to the commune (French, or German
     for a German-speaking commune), with what was exported, what was deleted and when the last
     backup expires.

The tenant carries the annotation mutualis.crtpl.be/offboarding with the step under way, which
the operator shows as its condition Offboarding; each step raises an Event on the tenant. In a
GitOps tree, remove the tenant from Git once this command has deleted it, or your GitOps engine
declares it again. It needs the cell's rights.`,
		Example:           `  kubectl mutualis offboard commune/nivelles --dir exits/nivelles --yes`,
		GroupID:           "cluster",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: o.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return fmt.Errorf("offboarding deletes %s and its data in the shared instances once they are exported: say --yes", args[0])
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			cfg, err := o.config.ToRESTConfig()
			if err != nil {
				return err
			}
			logs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			t, err := oneTenant(ctx, c, args[0])
			if err != nil {
				return err
			}
			if dir == "" {
				dir = fmt.Sprintf("%s-%s-offboarding", t.TenantKind(), t.GetName())
			}
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return err
			}
			say := func(format string, args ...any) { fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...) }
			rec, err := offboard(ctx, c, logs, t, dir, say)
			if err != nil {
				return err
			}
			return writeOffboarding(dir, rec, lang.of(t), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "where to write the archive, offboarding.json and the certificate (default <kind>-<name>-offboarding)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "how long the whole offboarding may take")
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm: the tenant is deleted")
	lang = addLangFlag(cmd)
	return cmd
}

// sharedInstance is a Shared application the tenant uses, with its hooks.
type sharedInstance struct {
	app       string
	namespace string
	hooks     *v1alpha1.DataHooks
}

// offboard runs the steps; each one that is already done (a Job that completed) is not done again.
func offboard(ctx context.Context, c client.Client, logs kubernetes.Interface, t v1alpha1.Tenant, dir string, say func(string, ...any)) (*offboardRecord, error) {
	ns := t.TenantNamespace()
	rec := &offboardRecord{Kind: t.TenantKind().Kind(), Name: t.GetName(), NIS: v1alpha1.NISOf(t), Namespace: ns, Started: time.Now().UTC().Truncate(time.Second)}
	if t.TenantKind() == v1alpha1.KindCommune {
		cpas := &v1alpha1.CPASList{}
		if err := c.List(ctx, cpas); err != nil {
			return nil, err
		}
		for _, p := range cpas.Items {
			if p.Spec.CommuneRef == t.GetName() {
				return nil, fmt.Errorf("the CPAS %s depends on commune %s: offboard cpas/%s first (or move it to another commune)", p.Name, t.GetName(), p.Name)
			}
		}
	}
	instances, err := sharedInstancesOf(ctx, c, t)
	if err != nil {
		return nil, err
	}
	who := tenant.HookTenant{Kind: t.TenantKind(), Name: t.GetName(), Namespace: ns, NIS: rec.NIS}

	// 1. export: the namespace and each instance's records, into one archive
	step(ctx, c, t, "export", "exporting the namespace and the records of %d shared instances", len(instances))
	var extra []archived
	for _, in := range instances {
		exit := instanceExit{Application: in.app, Namespace: in.namespace}
		if in.hooks == nil || in.hooks.Export == nil {
			exit.Note = "no export hook: the catalogue entry does not say how to export this tenant's records; the cell exports them by hand"
			rec.Instances = append(rec.Instances, exit)
			say("%s: %s", in.app, exit.Note)
			continue
		}
		job := tenant.DataHookJob(tenant.HookExport, *in.hooks.Export, in.app, in.namespace, who)
		done, err := runHook(ctx, c, job, say)
		if err != nil {
			return nil, err
		}
		out, err := hookOutput(ctx, c, logs, job)
		if err != nil {
			return nil, err
		}
		exit.Exported, exit.ExportFile = &done, "instances/"+in.app+".export"
		extra = append(extra, archived{name: exit.ExportFile, data: out})
		rec.Instances = append(rec.Instances, exit)
	}
	archive := filepath.Join(dir, fmt.Sprintf("%s-%s-export.tar", t.TenantKind(), t.GetName()))
	m, err := exportTenant(ctx, c, t, "", archive, false, say, extra...)
	if err != nil {
		return nil, err
	}
	rec.Export, rec.ExportSHA, rec.ExportFrom, rec.Objects = filepath.Base(archive), m.Files[archiveSum], m.Backup, m.Objects
	event(ctx, c, t, corev1.EventTypeNormal, "OffboardingExported", "exported to %s (SHA-256 %s): backup %s, %s", rec.Export, rec.ExportSHA, m.Backup, backup.Summary(m.Objects))

	// 2. purge the shared instances, where the catalogue says how
	step(ctx, c, t, "purge", "deleting the tenant's records from the shared instances")
	for i, in := range instances {
		if in.hooks == nil || in.hooks.Purge == nil {
			if rec.Instances[i].Note == "" {
				rec.Instances[i].Note = "no purge hook: the catalogue entry does not say how to delete this tenant's records; the cell deletes them by hand"
			}
			continue
		}
		done, err := runHook(ctx, c, tenant.DataHookJob(tenant.HookPurge, *in.hooks.Purge, in.app, in.namespace, who), say)
		if err != nil {
			return nil, err
		}
		rec.Instances[i].Purged = &done
		event(ctx, c, t, corev1.EventTypeNormal, "OffboardingPurged", "the records of %s in the instance %s are deleted", ns, in.namespace)
	}

	// 3. delete: the final backup, then the namespace
	step(ctx, c, t, "delete", "deleting the tenant: its final backup, then its namespace")
	if t.TenantSpec().DeletionPolicy != v1alpha1.DeletionPolicyDelete {
		patch := client.MergeFrom(t.DeepCopyObject().(client.Object))
		t.TenantSpec().DeletionPolicy = v1alpha1.DeletionPolicyDelete
		if err := c.Patch(ctx, t, patch); err != nil {
			return nil, fmt.Errorf("setting spec.deletionPolicy to Delete: %w", err)
		}
	}
	uid := t.GetUID()
	if err := c.Delete(ctx, t); client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	say("waiting for the final backup and the deletion of namespace %s", ns)
	for {
		err := c.Get(ctx, client.ObjectKey{Name: t.GetName()}, t.TenantKind().New())
		if apierrors.IsNotFound(err) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := pause(ctx, t.TenantKind().Kind()+" "+t.GetName()+" to be deleted (kubectl describe it: its conditions say what it waits for)"); err != nil {
			return nil, err
		}
	}
	rec.Deleted = time.Now().UTC().Truncate(time.Second)
	return rec, backupsLeft(ctx, c, t, uid, rec)
}

// step records the step under way on the tenant (the operator shows it as Offboarding) and raises
// an Event; neither stops the offboarding when it cannot be written.
func step(ctx context.Context, c client.Client, t v1alpha1.Tenant, name, format string, args ...any) {
	patch := client.MergeFrom(t.DeepCopyObject().(client.Object))
	a := t.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[v1alpha1.AnnotationOffboarding] = name
	t.SetAnnotations(a)
	_ = c.Patch(ctx, t, patch)
	event(ctx, c, t, corev1.EventTypeNormal, "Offboarding", "step %s: "+format, append([]any{name}, args...)...)
}

// event raises an Event about the tenant, as the operator's are (events.k8s.io).
func event(ctx context.Context, c client.Client, t v1alpha1.Tenant, eventType, reason, format string, args ...any) {
	now := metav1.NowMicro()
	e := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "events.k8s.io/v1", "kind": "Event",
		"metadata":            map[string]any{"generateName": t.GetName() + "-offboarding-", "namespace": "default"},
		"eventTime":           now.Format("2006-01-02T15:04:05.000000Z07:00"),
		"reportingController": "kubectl-mutualis", "reportingInstance": "kubectl-mutualis",
		"action": "Offboard", "reason": reason, "type": eventType, "note": fmt.Sprintf(format, args...),
		"regarding": map[string]any{"apiVersion": v1alpha1.GroupVersion.String(), "kind": t.TenantKind().Kind(), "name": t.GetName(), "uid": string(t.GetUID())},
	}}
	_ = c.Create(ctx, e)
}

// sharedInstancesOf lists the Shared applications the tenant uses, its own subscriptions and its
// commune's used in synergy, from its status.
func sharedInstancesOf(ctx context.Context, c client.Client, t v1alpha1.Tenant) ([]sharedInstance, error) {
	var out []sharedInstance
	for _, a := range t.TenantStatus().Applications {
		app := &v1alpha1.SharedApplication{}
		if err := c.Get(ctx, client.ObjectKey{Name: a.Name}, app); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("reading the SharedApplication %s: %w", a.Name, err)
		}
		if app.Spec.Instance != v1alpha1.InstanceShared || slices.ContainsFunc(out, func(s sharedInstance) bool { return s.app == app.Name }) {
			continue
		}
		out = append(out, sharedInstance{app: app.Name, namespace: tenant.InstanceNamespaceName(app.Name), hooks: app.Spec.DataHooks})
	}
	return out, nil
}

// runHook creates a data hook's Job (or finds the one an earlier run made) and waits until it
// completed; a failed Job stops the offboarding, for people to read its log.
func runHook(ctx context.Context, c client.Client, job *batchv1.Job, say func(string, ...any)) (time.Time, error) {
	if err := c.Create(ctx, job, client.FieldOwner("kubectl-mutualis")); err != nil && !apierrors.IsAlreadyExists(err) {
		return time.Time{}, fmt.Errorf("running the %s hook in %s: %w", job.Labels[tenant.LabelDataHook], job.Namespace, err)
	}
	say("hook %s/%s is running", job.Namespace, job.Name)
	live := &batchv1.Job{}
	for {
		if err := c.Get(ctx, client.ObjectKeyFromObject(job), live); err != nil {
			return time.Time{}, err
		}
		for _, cond := range live.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case batchv1.JobComplete:
				return cond.LastTransitionTime.UTC(), nil
			case batchv1.JobFailed:
				return time.Time{}, fmt.Errorf("the hook %s/%s failed (%s: %s): read its log (kubectl -n %s logs job/%s), fix the cause, delete the Job and run the offboarding again",
					job.Namespace, job.Name, cond.Reason, cond.Message, job.Namespace, job.Name)
			}
		}
		if err := pause(ctx, "the hook "+job.Namespace+"/"+job.Name); err != nil {
			return time.Time{}, err
		}
	}
}

// hookOutput reads what an export hook printed: the log of its Job's pod.
func hookOutput(ctx context.Context, c client.Client, logs kubernetes.Interface, job *batchv1.Job) ([]byte, error) {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(job.Namespace), client.MatchingLabels{"batch.kubernetes.io/job-name": job.Name}); err != nil {
		return nil, err
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded {
			continue
		}
		stream, err := logs.CoreV1().Pods(job.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: job.Spec.Template.Spec.Containers[0].Name}).Stream(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the export of %s/%s (the log of pod %s): %w", job.Namespace, job.Name, p.Name, err)
		}
		defer stream.Close()
		return io.ReadAll(stream)
	}
	return nil, fmt.Errorf("the export hook %s/%s completed, but no pod of it that succeeded is left to read its output from", job.Namespace, job.Name)
}

// backupsLeft records the final backup and when the last of the tenant's backups expires.
func backupsLeft(ctx context.Context, c client.Client, t v1alpha1.Tenant, uid types.UID, rec *offboardRecord) error {
	p, _, err := policy(ctx, c)
	if err != nil {
		return err
	}
	settings := backup.EffectiveSettings(t.TenantSpec().Backup, tenant.EffectivePolicy(p))
	rec.FinalBackup = backup.FinalBackupName(rec.Namespace, uid)
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(backup.BackupGVK.GroupVersion().WithKind("BackupList"))
	if err := c.List(ctx, list, client.InNamespace(settings.VeleroNamespace), client.MatchingLabels{v1alpha1.LabelTenant: rec.Namespace}); err != nil {
		return err
	}
	for _, b := range list.Items {
		rec.Backups++
		exp, _, _ := unstructured.NestedString(b.Object, "status", "expiration")
		if at, err := time.Parse(time.RFC3339, exp); err == nil && (rec.LastExpiry == nil || at.After(*rec.LastExpiry)) {
			rec.LastExpiry = &at
		}
	}
	rec.Finished = time.Now().UTC().Truncate(time.Second)
	return nil
}

// writeOffboarding writes offboarding.json and the certificate in the commune's language.
func writeOffboarding(dir string, rec *offboardRecord, lang i18n.Lang, w io.Writer) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "offboarding.json"), append(data, '\n'), 0o640); err != nil {
		return err
	}
	name := filepath.Join(dir, "certificate."+string(lang)+".md")
	if err := os.WriteFile(name, []byte(certificate(rec, i18n.For(lang))), 0o640); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s %s has left the cell: %s, offboarding.json and %s in %s\n", rec.Kind, rec.Name, rec.Export, filepath.Base(name), dir)
	return nil
}

// certificate is the text the cell hands to the commune, in its language.
func certificate(rec *offboardRecord, p *i18n.Printer) string {
	var b strings.Builder
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	line := func(key, value string) {
		b.WriteString(p.Say("offboard.line", map[string]string{"Label": p.T("offboard." + key), "Value": value}) + "\n")
	}
	fmt.Fprintf(&b, "# %s\n\n", p.T("offboard.title"))
	b.WriteString(p.Say("offboard.intro", map[string]string{"Kind": p.T("offboard.kind." + rec.Kind), "Name": rec.Name, "NIS": rec.NIS}) + "\n\n")
	line("period", day(rec.Started)+" – "+day(rec.Finished))
	line("export", p.Say("offboard.exportText", map[string]string{"File": rec.Export, "SHA": rec.ExportSHA, "Backup": rec.ExportFrom, "Objects": backup.Summary(rec.Objects)}))
	for _, in := range rec.Instances {
		var done []string
		if in.Exported != nil {
			done = append(done, p.Say("offboard.instanceExported", map[string]string{"File": in.ExportFile, "Date": day(*in.Exported)}))
		}
		if in.Purged != nil {
			done = append(done, p.Say("offboard.instancePurged", map[string]string{"Date": day(*in.Purged)}))
		}
		if in.Exported == nil || in.Purged == nil {
			done = append(done, p.T("offboard.instanceByHand"))
		}
		line("instance", in.Application+" : "+strings.Join(done, " ; "))
	}
	line("deleted", p.Say("offboard.deletedText", map[string]string{"Namespace": rec.Namespace, "Date": day(rec.Deleted), "Backup": rec.FinalBackup}))
	expiry := p.T("offboard.noBackup")
	if rec.LastExpiry != nil {
		expiry = p.Say("offboard.expiryText", map[string]string{"Date": day(*rec.LastExpiry), "N": fmt.Sprint(rec.Backups)})
	}
	line("backups", expiry)
	b.WriteString("\n" + p.T("offboard.closing") + "\n")
	return b.String()
}
