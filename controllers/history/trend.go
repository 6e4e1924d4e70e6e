package history

import (
	"fmt"
	"time"
)

// Week is what one tenant's record says of a week, Monday to Sunday (Brussels): the audit's
// findings at the week's last evaluation (carried from an earlier week when none was evaluated in
// it), the findings opened and closed, the backups and the restore drills. The barometer's trend
// sums the weeks of many records; the records keep two months, so the trend never grows.
type Week struct {
	// Week is the ISO week, as 2026-W49.
	Week string `json:"week"`
	// Days is how many days of the week the record holds (fewer for the week the record began
	// and the week under way).
	Days                            int `json:"days"`
	High, Medium, Low               int
	FindingsOpened, FindingsClosed  int
	BackupsCompleted, BackupsFailed int
	DrillsPassed, DrillsFailed      int
}

// Add sums another record's same week into this one, as the barometer's trend does over tenants.
func (w *Week) Add(o Week) {
	w.Days += o.Days
	w.High += o.High
	w.Medium += o.Medium
	w.Low += o.Low
	w.FindingsOpened += o.FindingsOpened
	w.FindingsClosed += o.FindingsClosed
	w.BackupsCompleted += o.BackupsCompleted
	w.BackupsFailed += o.BackupsFailed
	w.DrillsPassed += o.DrillsPassed
	w.DrillsFailed += o.DrillsFailed
}

// evaluated says the audit left its mark on the day: findings held, opened or closed. A day
// without one keeps zero counts that say nothing of the findings (the audit did not run).
func (d Day) evaluated() bool {
	return d.High+d.Medium+d.Low > 0 || d.FindingsOpened+d.FindingsClosed > 0
}

// isoWeek names the week of a date of the record.
func isoWeek(date string) (string, error) {
	t, err := time.ParseInLocation(time.DateOnly, date, Brussels)
	if err != nil {
		return "", err
	}
	year, week := t.ISOWeek()
	return fmt.Sprintf("%d-W%02d", year, week), nil
}

// WeeksOf folds a record into its weeks, oldest first.
func WeeksOf(h History) ([]Week, error) {
	var weeks []Week
	var high, medium, low int // the latest evaluation so far
	for _, d := range h.Days {
		name, err := isoWeek(d.Date)
		if err != nil {
			return nil, fmt.Errorf("the record holds a day %q that is no date: %w", d.Date, err)
		}
		if len(weeks) == 0 || weeks[len(weeks)-1].Week != name {
			weeks = append(weeks, Week{Week: name})
		}
		w := &weeks[len(weeks)-1]
		w.Days++
		w.FindingsOpened += d.FindingsOpened
		w.FindingsClosed += d.FindingsClosed
		w.BackupsCompleted += d.BackupsCompleted
		w.BackupsFailed += d.BackupsFailed
		w.DrillsPassed += d.DrillsPassed
		w.DrillsFailed += d.DrillsFailed
		if d.evaluated() {
			high, medium, low = d.High, d.Medium, d.Low
		}
		w.High, w.Medium, w.Low = high, medium, low
	}
	return weeks, nil
}
