package backup

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func backupAt(name string, created time.Time, phase string, completed time.Time, reason string) unstructured.Unstructured {
	b := Backup(name, "commune-liege", Settings{VeleroNamespace: "velero", Retention: time.Hour})
	b.SetCreationTimestamp(metav1.NewTime(created))
	status := map[string]any{"phase": phase}
	if !completed.IsZero() {
		status["completionTimestamp"] = completed.Format(time.RFC3339)
	}
	if reason != "" {
		status["failureReason"] = reason
	}
	b.Object["status"] = status
	return *b
}

func TestObserve(t *testing.T) {
	day := 24 * time.Hour
	created := now.Add(-30 * day)
	tests := []struct {
		name      string
		backups   []unstructured.Unstructured
		created   time.Time
		ready     bool
		reason    string
		message   string
		lastPhase string
	}{
		{name: "recent success", backups: []unstructured.Unstructured{backupAt("a", now.Add(-5*time.Hour), "Completed", now.Add(-4*time.Hour), "")},
			created: created, ready: true, reason: v1alpha1.ReasonBackupSucceeded, lastPhase: "Completed"},
		{name: "latest failed", backups: []unstructured.Unstructured{
			backupAt("a", now.Add(-26*time.Hour), "Completed", now.Add(-25*time.Hour), ""),
			backupAt("b", now.Add(-2*time.Hour), "Failed", time.Time{}, "storage location unavailable")},
			created: created, reason: v1alpha1.ReasonBackupFailed, message: "storage location unavailable", lastPhase: "Failed"},
		{name: "stale", backups: []unstructured.Unstructured{backupAt("a", now.Add(-4*day), "Completed", now.Add(-4*day), "")},
			created: created, reason: v1alpha1.ReasonBackupStale, message: "more than 48h0m0s ago", lastPhase: "Completed"},
		{name: "never, young tenant", created: now.Add(-time.Hour), ready: true, reason: v1alpha1.ReasonBackupPending},
		{name: "never, old tenant", created: created, reason: v1alpha1.ReasonBackupStale, message: "since the tenant was created"},
		{name: "in progress after a success", backups: []unstructured.Unstructured{
			backupAt("a", now.Add(-25*time.Hour), "Completed", now.Add(-24*time.Hour), ""),
			backupAt("b", now.Add(-time.Minute), "InProgress", time.Time{}, "")},
			created: created, ready: true, reason: v1alpha1.ReasonBackupSucceeded, lastPhase: "InProgress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Observe(tt.backups, day, tt.created, now)
			if o.Ready != tt.ready || o.Reason != tt.reason || !strings.Contains(o.Message, tt.message) {
				t.Errorf("got ready=%v %s %q", o.Ready, o.Reason, o.Message)
			}
			if o.Status.LastPhase != tt.lastPhase {
				t.Errorf("last phase %q, want %q", o.Status.LastPhase, tt.lastPhase)
			}
		})
	}
}

func TestInterval(t *testing.T) {
	for schedule, want := range map[string]time.Duration{"0 2 * * *": 24 * time.Hour, "@hourly": time.Hour, "*/15 * * * *": 15 * time.Minute} {
		got, err := Interval(schedule, now)
		if err != nil || got != want {
			t.Errorf("Interval(%q) = %s, %v; want %s", schedule, got, err, want)
		}
	}
	if _, err := Interval("not a schedule", now); err == nil {
		t.Error("a bad schedule must be an error")
	}
}

func TestScheduleCoversTheTenantNamespace(t *testing.T) {
	policy := v1alpha1.TenancyPolicySpec{Backup: v1alpha1.PolicyBackup{VeleroNamespace: "velero", Schedule: "0 2 * * *",
		Retention: &metav1.Duration{Duration: 720 * time.Hour}, StorageLocation: "ovh-gra"}}
	s := EffectiveSettings(v1alpha1.BackupSpec{Schedule: "0 3 * * *"}, policy)
	u := Schedule("commune-liege", s)
	if u.GetName() != "mutualis-commune-liege" || u.GetNamespace() != "velero" || u.GetLabels()[v1alpha1.LabelTenant] != "commune-liege" {
		t.Errorf("metadata %s/%s %v", u.GetNamespace(), u.GetName(), u.GetLabels())
	}
	sched, _, _ := unstructured.NestedString(u.Object, "spec", "schedule")
	ns, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "includedNamespaces")
	ttl, _, _ := unstructured.NestedString(u.Object, "spec", "template", "ttl")
	loc, _, _ := unstructured.NestedString(u.Object, "spec", "template", "storageLocation")
	fs, _, _ := unstructured.NestedBool(u.Object, "spec", "template", "defaultVolumesToFsBackup")
	tl, _, _ := unstructured.NestedString(u.Object, "spec", "template", "metadata", "labels", v1alpha1.LabelTenant)
	if sched != "0 3 * * *" || len(ns) != 1 || ns[0] != "commune-liege" || ttl != "720h0m0s" || loc != "ovh-gra" || !fs || tl != "commune-liege" {
		t.Errorf("schedule spec %v", u.Object["spec"])
	}
	if OnDemandBackupName("commune-liege", "x") != OnDemandBackupName("commune-liege", "x") || OnDemandBackupName("commune-liege", "x") == OnDemandBackupName("commune-liege", "y") {
		t.Error("one Backup per token")
	}
}

// A final backup releases a Delete tenant's namespace only when it was taken for this tenant (its
// uid) after its deletion began: a Backup of an earlier tenant of the same name, or one made before
// the deletion, says nothing of the data in the namespace now.
func TestFinalBackupCountsOnlyForThisTenantAfterItsDeletion(t *testing.T) {
	const uid, earlier = types.UID("7f3c2a10-0000-4000-8000-000000000001"), types.UID("11111111-0000-4000-8000-000000000002")
	deletion := now.Add(-time.Minute)
	final := func(of types.UID, created time.Time) *unstructured.Unstructured {
		b := FinalBackup("commune-liege", of, Settings{VeleroNamespace: "velero", Retention: time.Hour})
		b.SetCreationTimestamp(metav1.NewTime(created))
		return b
	}
	byHand := backupAt(FinalBackupName("commune-liege", uid), deletion.Add(time.Second), "Completed", now, "")
	for _, tc := range []struct {
		name   string
		backup *unstructured.Unstructured
		counts bool
		why    string
	}{
		{"taken for this tenant after its deletion began", final(uid, deletion.Add(time.Second)), true, ""},
		{"taken the second the deletion began", final(uid, deletion), true, ""},
		{"of an earlier tenant of the same name", final(earlier, deletion.Add(time.Second)), false, "was not taken for this tenant"},
		{"written by hand, without the tenant's uid", &byHand, false, "was not taken for this tenant"},
		{"taken before the deletion began", final(uid, deletion.Add(-time.Hour)), false, "before the tenant's deletion began"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counts, why := FinalBackupCounts(tc.backup, uid, deletion)
			if counts != tc.counts || !strings.Contains(why, tc.why) || (tc.counts && why != "") {
				t.Errorf("FinalBackupCounts = %v, %q; want %v, saying %q", counts, why, tc.counts, tc.why)
			}
		})
	}
	// one name per tenant: a tenant of the same name later takes its own
	if FinalBackupName("commune-liege", uid) == FinalBackupName("commune-liege", earlier) {
		t.Error("two tenants of one name share their final backup's name")
	}
}
