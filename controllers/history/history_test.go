package history

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, Brussels)
	if err != nil {
		panic(err)
	}
	return t
}

// Time not Ready is counted into the Brussels days it spans, by reason, once the tenant is Ready
// again or the reason changes; an interval under way counts in the month's account until now.
func TestTimeNotReadyIsSplitIntoDaysByReason(t *testing.T) {
	var h History
	h.Observe(Observation{Now: at("2026-11-30 23:00"), Ready: true})
	h.Observe(Observation{Now: at("2026-11-30 23:35"), Ready: false, ReadyReason: "ApplicationsProgressing", ReadySince: at("2026-11-30 23:30")})
	h.Observe(Observation{Now: at("2026-12-01 00:10"), Ready: false, ReadyReason: "QuotaTooSmall"})
	h.Observe(Observation{Now: at("2026-12-01 01:00"), Ready: true, ReadySince: at("2026-12-01 00:40")})
	if h.NotReadySince != nil {
		t.Fatalf("the interval is still open: %v", h.NotReadySince)
	}
	want := map[string]map[string]int64{
		"2026-11-30": {"ApplicationsProgressing": 30 * 60},
		"2026-12-01": {"ApplicationsProgressing": 10 * 60, "QuotaTooSmall": 30 * 60},
	}
	for _, d := range h.Days {
		if fmt.Sprint(d.NotReady) != fmt.Sprint(want[d.Date]) {
			t.Errorf("%s: not Ready %v; want %v", d.Date, d.NotReady, want[d.Date])
		}
	}

	// an interval under way: December, accounted on the 2nd at noon, from the 1st (the record's
	// first day is in November, so the month is accounted whole)
	h.Observe(Observation{Now: at("2026-12-02 11:00"), Ready: false, ReadyReason: "ApplyFailed", ReadySince: at("2026-12-02 11:00")})
	m, err := MonthOf(h, "2026-12", at("2026-12-02 12:00"))
	if err != nil {
		t.Fatal(err)
	}
	if m.NotReady["ApplyFailed"] != 3600 || m.NotReadyTotal != 3600+40*60 {
		t.Errorf("December's time not Ready %v (total %d)", m.NotReady, m.NotReadyTotal)
	}
	period := at("2026-12-02 12:00").Sub(at("2026-12-01 00:00")).Seconds()
	if want := 100 * (1 - (3600+40*60)/period); math.Abs(m.Availability-want) > 1e-9 {
		t.Errorf("availability %.4f%%; want %.4f%%", m.Availability, want)
	}
}

// Backups are counted by the day they ended, as many as ever seen (Velero deletes them after their
// TTL, the record keeps the count); a drill is counted once; the audit's findings opened and closed
// are told from their keys.
func TestBackupsDrillsAndFindings(t *testing.T) {
	var h History
	day1, day2 := at("2026-11-03 02:10"), at("2026-11-04 02:10")
	backups := []Backup{{Ended: day1}, {Ended: day2, Failed: true}, {Ended: day2.Add(time.Hour)}}
	h.Observe(Observation{Now: day2.Add(2 * time.Hour), Ready: true, Backups: backups,
		Drill: &Drill{Restore: "drill-1", Ended: day2, Passed: true}, Findings: []string{"a", "b"}, High: 1, Medium: 1, Applications: 2, Seats: 5})
	// later: the first backup expired, the drill is the same, one finding closed and one opened
	h.Observe(Observation{Now: at("2026-11-05 09:00"), Ready: true, Backups: backups[1:],
		Drill: &Drill{Restore: "drill-1", Ended: day2, Passed: true}, Findings: []string{"b", "c"}, Medium: 2, Applications: 2, Seats: 5})
	m, err := MonthOf(h, "2026-11", at("2026-12-01 10:00"))
	if err != nil {
		t.Fatal(err)
	}
	if m.BackupsCompleted != 2 || m.BackupsFailed != 1 || m.DrillsPassed != 1 || m.FindingsOpened != 3 || m.FindingsClosed != 1 {
		t.Errorf("November: %d completed, %d failed, %d drills, findings +%d -%d; want 2, 1, 1, +3 -1",
			m.BackupsCompleted, m.BackupsFailed, m.DrillsPassed, m.FindingsOpened, m.FindingsClosed)
	}
	if m.Medium != 2 || m.High != 0 || m.Applications != 2 || m.Seats != 5 {
		t.Errorf("at the month's end: %d high, %d medium, %d applications, %d seats", m.High, m.Medium, m.Applications, m.Seats)
	}
	if m.From.Format(time.DateOnly) != "2026-11-03" || m.Availability != 100 {
		t.Errorf("a tenant whose record begins on the 3rd is accounted from %v, at %.2f%%", m.From, m.Availability)
	}
	if _, err := MonthOf(h, "2026-09", at("2026-12-01 10:00")); err == nil {
		t.Error("a month the record does not hold must say so")
	}
}

// The record keeps two months: a year of daily observations leaves MaxDays days, the last ones,
// and its JSON stays the same size.
func TestTheRecordIsBounded(t *testing.T) {
	var h History
	start := at("2026-01-01 03:00")
	for d := range 365 {
		now := start.AddDate(0, 0, d)
		h.Observe(Observation{Now: now, Ready: true, Backups: []Backup{{Ended: now}}, Findings: []string{}, Applications: 3, Seats: 10})
	}
	if len(h.Days) != MaxDays || h.Days[MaxDays-1].Date != "2026-12-31" || h.Days[0].Date != "2026-10-31" {
		t.Fatalf("%d days, %s to %s", len(h.Days), h.Days[0].Date, h.Days[len(h.Days)-1].Date)
	}
	data, _ := json.Marshal(h)
	if len(data) > 8<<10 {
		t.Errorf("a record of two months is %d bytes", len(data))
	}
	// an observation of a day older than the record keeps is dropped, not inserted
	h.Observe(Observation{Now: at("2026-12-31 10:00"), Ready: true, Backups: []Backup{{Ended: at("2026-03-01 02:00")}}})
	if h.Days[0].Date != "2026-10-31" || len(h.Days) != MaxDays {
		t.Errorf("an old backup changed the record: %d days from %s", len(h.Days), h.Days[0].Date)
	}
}

// A record folds into ISO weeks: the findings of a week are those of its last evaluation, carried
// into a week in which the audit did not run; what was opened, closed, backed up and drilled adds
// up; a week the record holds in part says how many days it holds.
func TestWeeksCarryTheLastEvaluation(t *testing.T) {
	h := History{Days: []Day{
		{Date: "2026-11-21", High: 2, Medium: 1, FindingsOpened: 3, BackupsCompleted: 1}, // a Saturday: week 47
		{Date: "2026-11-22", BackupsCompleted: 1, BackupsFailed: 1},                      // no audit that Sunday
		{Date: "2026-11-23", High: 1, Medium: 1, FindingsClosed: 1, DrillsPassed: 1},     // Monday, week 48
		{Date: "2026-11-25", BackupsCompleted: 1},
		{Date: "2026-12-01", DrillsFailed: 1}, // week 49: nothing evaluated, the findings carry
		{Date: "2026-12-02", FindingsClosed: 2},
	}}
	weeks, err := WeeksOf(h)
	if err != nil {
		t.Fatal(err)
	}
	want := []Week{
		{Week: "2026-W47", Days: 2, High: 2, Medium: 1, FindingsOpened: 3, BackupsCompleted: 2, BackupsFailed: 1},
		{Week: "2026-W48", Days: 2, High: 1, Medium: 1, FindingsClosed: 1, BackupsCompleted: 1, DrillsPassed: 1},
		{Week: "2026-W49", Days: 2, FindingsClosed: 2, DrillsFailed: 1},
	}
	if fmt.Sprint(weeks) != fmt.Sprint(want) {
		t.Errorf("weeks:\n%+v\nwant\n%+v", weeks, want)
	}
	// the last day closed every finding: its zero counts are an evaluation, not a silence
	h.Days = h.Days[:5]
	weeks, _ = WeeksOf(h)
	if w := weeks[2]; w.High != 1 || w.Medium != 1 {
		t.Errorf("week 49 without an evaluation: %+v; want the findings of week 48 carried", w)
	}
	if _, err := WeeksOf(History{Days: []Day{{Date: "30/11/2026"}}}); err == nil {
		t.Error("a day that is no date was folded")
	}
}
