package backup

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/crtpl/mutualis/api/v1alpha1"
)

// Over two periods, every one of 522 tenants is drilled once per period, and the drills are spread
// over the period: no day of a 30-day period starts more than twice the mean.
func TestDrillsComeOncePerPeriodSpreadOverIt(t *testing.T) {
	settings := EffectiveDrills(v1alpha1.PolicyRestoreDrills{})
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	created := start.Add(-365 * 24 * time.Hour)
	last := map[string]*v1alpha1.RestoreDrillStatus{}
	drills := map[string]int{}
	perDay := map[int]int{}
	const tenants = 522
	for now := start; now.Before(start.Add(2 * settings.Period)); now = now.Add(time.Hour) {
		for i := range tenants {
			ns := fmt.Sprintf("commune-%d", 10000+i)
			due, _ := DrillDue(DueInput{Namespace: ns, TenantCreated: created, Settings: settings, Last: last[ns], Now: now})
			if !due {
				continue
			}
			drills[ns]++
			if now.After(start.Add(settings.Period)) { // the first hour catches up every tenant never drilled
				perDay[int(now.Sub(start)/(24*time.Hour))]++
			}
			last[ns] = &v1alpha1.RestoreDrillStatus{StartTime: metav1.NewTime(now), CompletionTime: metav1.NewTime(now.Add(5 * time.Minute)), Result: v1alpha1.RestoreDrillPassed}
		}
	}
	for i := range tenants {
		ns := fmt.Sprintf("commune-%d", 10000+i)
		if drills[ns] < 2 || drills[ns] > 3 {
			t.Errorf("%s drilled %d times in two periods (one catching up, then once a period)", ns, drills[ns])
		}
	}
	mean := float64(tenants) / 30
	for day, n := range perDay {
		if float64(n) > 2*mean {
			t.Errorf("day %d of the second period starts %d drills, more than twice the mean %.1f", day, n, mean)
		}
	}
}

func TestDrillDue(t *testing.T) {
	settings := DrillSettings{Period: 30 * 24 * time.Hour, Timeout: time.Hour, Concurrency: 2}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	ns := "commune-nivelles"
	window := DrillWindow(ns, settings.Period, now)
	passed := func(start time.Time) *v1alpha1.RestoreDrillStatus {
		return &v1alpha1.RestoreDrillStatus{StartTime: metav1.NewTime(start), CompletionTime: metav1.NewTime(start.Add(time.Minute)), Result: v1alpha1.RestoreDrillPassed, Token: "a"}
	}
	failed := func(end time.Time) *v1alpha1.RestoreDrillStatus {
		return &v1alpha1.RestoreDrillStatus{StartTime: metav1.NewTime(end.Add(-time.Minute)), CompletionTime: metav1.NewTime(end), Result: v1alpha1.RestoreDrillFailed}
	}
	disabled := settings
	disabled.Disabled = true
	for _, tc := range []struct {
		name     string
		in       DueInput
		due      bool
		nextWant time.Time
	}{
		{"never drilled, older than its moment", DueInput{TenantCreated: window.Add(-time.Hour)}, true, time.Time{}},
		{"created after its moment of this period", DueInput{TenantCreated: window.Add(time.Minute)}, false, window.Add(settings.Period)},
		{"drilled in this period", DueInput{Last: passed(window.Add(time.Minute))}, false, window.Add(settings.Period)},
		{"last drilled before this period's moment", DueInput{Last: passed(window.Add(-time.Minute))}, true, time.Time{}},
		{"failed an hour ago", DueInput{Last: failed(now.Add(-time.Hour))}, false, now.Add(23 * time.Hour)},
		{"failed a day ago", DueInput{Last: failed(now.Add(-25 * time.Hour))}, true, time.Time{}},
		{"a new token", DueInput{Last: passed(window.Add(time.Minute)), Token: "b"}, true, time.Time{}},
		{"the token already answered", DueInput{Last: passed(window.Add(time.Minute)), Token: "a"}, false, window.Add(settings.Period)},
		{"disabled", DueInput{Settings: disabled}, false, time.Time{}},
		{"disabled, but a token", DueInput{Settings: disabled, Token: "x"}, true, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Namespace, in.Now = ns, now
			if in.Settings.Period == 0 {
				in.Settings = settings
			}
			due, next := DrillDue(in)
			if due != tc.due || !next.Equal(tc.nextWant) {
				t.Errorf("due %v next %v; want %v %v", due, next, tc.due, tc.nextWant)
			}
		})
	}
	if w := DrillWindow(ns, settings.Period, now); w.After(now) || now.Sub(w) >= settings.Period {
		t.Errorf("window %v is not the latest moment of the period before %v", w, now)
	}
}

func TestOverdue(t *testing.T) {
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	period := 30 * 24 * time.Hour
	recent, old := now.Add(-20*24*time.Hour), now.Add(-40*24*time.Hour)
	if Overdue(&recent, old, period, now) {
		t.Error("a drill passed 20 days ago in a 30-day period is not overdue")
	}
	if !Overdue(&old, old, period, now) {
		t.Error("a drill passed 40 days ago in a 30-day period is overdue")
	}
	if Overdue(nil, recent, period, now) {
		t.Error("a tenant of 20 days, never drilled, is not overdue yet")
	}
	if !Overdue(nil, old, period, now) {
		t.Error("a tenant of 40 days never drilled is overdue")
	}
}

func TestVerify(t *testing.T) {
	backupStarted := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	before, after := backupStarted.Add(-time.Hour), backupStarted.Add(time.Minute)
	held := []DataObject{
		{Kind: "ConfigMap", Name: "council-minutes", Created: before},
		{Kind: "ConfigMap", Name: "kube-root-ca.crt", Created: before},
		{Kind: "Secret", Name: "default-token", Created: before, Annotations: map[string]string{"kubernetes.io/service-account.name": "default"}},
		{Kind: "PersistentVolumeClaim", Name: "archives", Created: before},
		{Kind: "ConfigMap", Name: "after-the-backup", Created: after},
		{Kind: "ConfigMap", Name: "social-files", Created: before, Labels: map[string]string{LabelExcludeFromBackup: "true"}},
	}
	restored := []DataObject{{Kind: "ConfigMap", Name: "council-minutes"}, {Kind: "PersistentVolumeClaim", Name: "archives"}}
	completed := RestoreState{Done: true, Phase: "Completed", Restored: 12, Total: 12}

	v := Verify(completed, "drill-x", "b1", backupStarted, held, restored)
	if v.Passed || v.Checked != 3 || !strings.Contains(v.Message, "ConfigMap/social-files (labelled velero.io/exclude-from-backup=true)") {
		t.Errorf("an object labelled out of the backup: %+v", v)
	}
	v = Verify(completed, "drill-x", "b1", backupStarted, held[:5], restored)
	if !v.Passed || v.Checked != 2 {
		t.Errorf("everything older than the backup is there (the cluster's own objects and newer ones are not looked for): %+v", v)
	}
	v = Verify(completed, "drill-x", "b1", backupStarted, held[:5], restored[:1])
	if v.Passed || !strings.Contains(v.Message, "PersistentVolumeClaim/archives") || !strings.Contains(v.Message, "velero restore describe drill-x") {
		t.Errorf("a claim missing from the restore: %+v", v)
	}
	partial := RestoreState{Done: true, Failed: true, Phase: "PartiallyFailed", Message: "Velero's restore drill-x ended PartiallyFailed with 2 errors"}
	if v := Verify(partial, "drill-x", "b1", backupStarted, held[:1], restored); v.Passed || !strings.Contains(v.Message, "2 errors") {
		t.Errorf("a partly failed restore: %+v", v)
	}
	short := completed
	short.Restored = 10
	if v := Verify(short, "drill-x", "b1", backupStarted, held[:1], restored); v.Passed || !strings.Contains(v.Message, "10 of 12") {
		t.Errorf("a restore short of items: %+v", v)
	}
}

func TestReadRestore(t *testing.T) {
	for phase, want := range map[string]RestoreState{
		"":                 {},
		"InProgress":       {Phase: "InProgress"},
		"Completed":        {Done: true, Phase: "Completed"},
		"PartiallyFailed":  {Done: true, Failed: true, Phase: "PartiallyFailed"},
		"FailedValidation": {Done: true, Failed: true, Phase: "FailedValidation"},
	} {
		r := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"phase": phase, "validationErrors": []any{"backup not found"}}}}
		r.SetName("drill-x")
		got := ReadRestore(r)
		if got.Done != want.Done || got.Failed != want.Failed || got.Phase != want.Phase {
			t.Errorf("phase %q: %+v; want %+v", phase, got, want)
		}
		if phase == "FailedValidation" && !strings.Contains(got.Message, "backup not found") {
			t.Errorf("a failed validation says why: %q", got.Message)
		}
	}
}

// The drill's objects: a Restore that maps the tenant's namespace onto its scratch namespace and
// leaves out whatever could run, be reached or let someone in; names within 63 characters for the
// longest tenant namespaces, distinct for two that share a long prefix.
func TestDrillObjects(t *testing.T) {
	r := DrillRestore("drill-commune-nivelles-20261205100000", "commune-nivelles", "b1", "velero")
	mapping, _, _ := unstructured.NestedStringMap(r.Object, "spec", "namespaceMapping")
	if mapping["commune-nivelles"] != "mutualis-drill-commune-nivelles" {
		t.Errorf("namespace mapping %v", mapping)
	}
	excluded, _, _ := unstructured.NestedStringSlice(r.Object, "spec", "excludedResources")
	for _, want := range []string{"pods", "rolebindings.rbac.authorization.k8s.io", "services", "ingresses.networking.k8s.io", "networkpolicies.networking.k8s.io"} {
		if !strings.Contains(strings.Join(excluded, ","), want) {
			t.Errorf("the drill restores %s", want)
		}
	}
	if r.GetLabels()[v1alpha1.LabelTenant] != "commune-nivelles" {
		t.Errorf("the Restore's labels %v do not wake its tenant", r.GetLabels())
	}
	ns := ScratchNamespace("commune-nivelles")
	if _, has := ns.Labels[v1alpha1.LabelTenant]; has {
		t.Error("the scratch namespace carries the tenant label")
	}
	long1 := "commune-" + strings.Repeat("a", 54) + "1"
	long2 := "commune-" + strings.Repeat("a", 54) + "2"
	now := time.Now()
	for _, name := range []string{ScratchNamespaceName(long1), DrillRestoreName(long1, now)} {
		if len(name) > 63 {
			t.Errorf("%s is %d characters long", name, len(name))
		}
	}
	if ScratchNamespaceName(long1) == ScratchNamespaceName(long2) || DrillRestoreName(long1, now) == DrillRestoreName(long2, now) {
		t.Error("two long tenant namespaces share a scratch namespace or a Restore name")
	}
	if q := ScratchQuota("commune-nivelles", nil); q.Spec.Hard.Pods().String() != "0" {
		t.Errorf("the scratch quota allows pods: %v", q.Spec.Hard)
	}
}
