// Package history keeps the bounded record of service of each tenant that the cell accounts for
// to its commune every month: per day, the time the tenant was not Ready and why, the backups that
// completed and failed, the restore drills, the audit's findings opened and closed, the
// applications and seats. It is pure: Observe folds what one reconcile saw into a History, and
// MonthOf sums a month of it, WeeksOf folds it into weeks. The operator keeps a History in the
// ConfigMap mutualis-service-history of the tenant's namespace (controllers/tenant_history.go);
// kubectl mutualis report service renders a month of it, and report barometer --trend sums the
// weeks of all of them.
package history

import (
	"slices"
	"sort"
	"time"
	_ "time/tzdata" // the days are Brussels days, on any machine
)

// ConfigMapName is the ConfigMap of a tenant's namespace that holds its record, as JSON under Key.
const (
	ConfigMapName = "mutualis-service-history"
	Key           = "history.json"
)

// MaxDays is how many days a History keeps: two months, so that last month is whole all through
// this one. Older days are dropped: the record never grows with time.
const MaxDays = 62

// maxOpenFindings bounds the audit's findings a History remembers to tell opened from closed.
const maxOpenFindings = 500

// Brussels is the time zone of the days.
var Brussels = mustLoad("Europe/Brussels")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Day is the service of one day (Brussels time).
type Day struct {
	Date string `json:"date"`
	// NotReady is the time the tenant was not Ready, in seconds, by the reason of its Ready condition.
	NotReady         map[string]int64 `json:"notReadySeconds,omitempty"`
	BackupsCompleted int              `json:"backupsCompleted,omitempty"`
	BackupsFailed    int              `json:"backupsFailed,omitempty"`
	DrillsPassed     int              `json:"drillsPassed,omitempty"`
	DrillsFailed     int              `json:"drillsFailed,omitempty"`
	FindingsOpened   int              `json:"findingsOpened,omitempty"`
	FindingsClosed   int              `json:"findingsClosed,omitempty"`
	// High, Medium and Low are the audit's findings at the day's last evaluation.
	High   int `json:"high,omitempty"`
	Medium int `json:"medium,omitempty"`
	Low    int `json:"low,omitempty"`
	// Applications and Seats at the day's last observation.
	Applications int `json:"applications,omitempty"`
	Seats        int `json:"seats,omitempty"`
}

// History is a tenant's record: its days, oldest first, and what it needs to go on counting.
type History struct {
	Days []Day `json:"days"`
	// NotReadySince and NotReadyReason are the interval not Ready under way, not yet counted.
	NotReadySince  *time.Time `json:"notReadySince,omitempty"`
	NotReadyReason string     `json:"notReadyReason,omitempty"`
	// LastDrill is the restore drill counted last, so that none is counted twice.
	LastDrill string `json:"lastDrill,omitempty"`
	// Findings are the keys of the audit's findings at its last evaluation.
	Findings []string `json:"findings,omitempty"`
	// Audited says Findings were set by an evaluation (an empty list then means none).
	Audited bool `json:"audited,omitempty"`
}

// Backup is one of the tenant's Velero Backups that ended.
type Backup struct {
	Ended  time.Time
	Failed bool
}

// Drill is the tenant's latest restore drill.
type Drill struct {
	Restore string
	Ended   time.Time
	Passed  bool
}

// Observation is what one reconcile saw of the tenant.
type Observation struct {
	Now time.Time
	// Ready is the tenant's Ready condition: its status, reason and when it last changed.
	Ready       bool
	ReadyReason string
	ReadySince  time.Time
	// Backups are the tenant's Backups that ended (Velero keeps them until their TTL).
	Backups []Backup
	Drill   *Drill
	// Findings are the keys of the audit's findings when the audit was evaluated in this
	// reconcile, with the counts by severity; nil when it was not.
	Findings            []string
	High, Medium, Low   int
	Applications, Seats int
}

// DateOf is the Brussels day of a time.
func DateOf(t time.Time) string { return t.In(Brussels).Format(time.DateOnly) }

// day is the Day of a date, made (in order) when missing; nil for a date older than the record
// keeps.
func (h *History) day(date string) *Day {
	i := sort.Search(len(h.Days), func(i int) bool { return h.Days[i].Date >= date })
	if i < len(h.Days) && h.Days[i].Date == date {
		return &h.Days[i]
	}
	if len(h.Days) >= MaxDays && i == 0 {
		return nil
	}
	h.Days = slices.Insert(h.Days, i, Day{Date: date})
	if over := len(h.Days) - MaxDays; over > 0 {
		h.Days = h.Days[over:]
		i -= over
	}
	return &h.Days[i]
}

// addNotReady counts the interval [from, to) not Ready for a reason, split into Brussels days.
func (h *History) addNotReady(from, to time.Time, reason string) {
	for from.Before(to) {
		local := from.In(Brussels)
		next := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, Brussels)
		end := next
		if to.Before(next) {
			end = to
		}
		if d := h.day(DateOf(from)); d != nil {
			if d.NotReady == nil {
				d.NotReady = map[string]int64{}
			}
			d.NotReady[reason] += int64(end.Sub(from).Seconds())
		}
		from = end
	}
}

// Observe folds an observation into the record.
func (h *History) Observe(o Observation) {
	// time not Ready: an interval opens when the tenant is seen not Ready, and is counted, into
	// the days it spans, when the tenant is Ready again or the reason changes
	switch {
	case !o.Ready && h.NotReadySince == nil:
		since := o.ReadySince
		if since.IsZero() || since.After(o.Now) {
			since = o.Now
		}
		h.NotReadySince, h.NotReadyReason = &since, o.ReadyReason
	case !o.Ready && h.NotReadyReason != o.ReadyReason:
		h.addNotReady(*h.NotReadySince, o.Now, h.NotReadyReason)
		now := o.Now
		h.NotReadySince, h.NotReadyReason = &now, o.ReadyReason
	case o.Ready && h.NotReadySince != nil:
		until := o.ReadySince
		if until.IsZero() || until.Before(*h.NotReadySince) || until.After(o.Now) {
			until = o.Now
		}
		h.addNotReady(*h.NotReadySince, until, h.NotReadyReason)
		h.NotReadySince, h.NotReadyReason = nil, ""
	}

	// backups: Velero keeps them until their TTL, so each day's count is the most ever seen
	completed, failed := map[string]int{}, map[string]int{}
	for _, b := range o.Backups {
		if b.Failed {
			failed[DateOf(b.Ended)]++
		} else {
			completed[DateOf(b.Ended)]++
		}
	}
	for date, n := range completed {
		if d := h.day(date); d != nil {
			d.BackupsCompleted = max(d.BackupsCompleted, n)
		}
	}
	for date, n := range failed {
		if d := h.day(date); d != nil {
			d.BackupsFailed = max(d.BackupsFailed, n)
		}
	}

	if o.Drill != nil && o.Drill.Restore != h.LastDrill {
		if d := h.day(DateOf(o.Drill.Ended)); d != nil {
			if o.Drill.Passed {
				d.DrillsPassed++
			} else {
				d.DrillsFailed++
			}
		}
		h.LastDrill = o.Drill.Restore
	}

	today := h.day(DateOf(o.Now))
	if today == nil {
		return
	}
	if o.Findings != nil {
		if h.Audited {
			today.FindingsOpened += len(without(o.Findings, h.Findings))
			today.FindingsClosed += len(without(h.Findings, o.Findings))
		} else {
			today.FindingsOpened += len(o.Findings)
		}
		keys := slices.Clone(o.Findings)
		sort.Strings(keys)
		h.Findings, h.Audited = keys[:min(len(keys), maxOpenFindings)], true
		today.High, today.Medium, today.Low = o.High, o.Medium, o.Low
	}
	today.Applications, today.Seats = o.Applications, o.Seats
}

// without is what a has that b has not.
func without(a, b []string) []string {
	in := map[string]bool{}
	for _, k := range b {
		in[k] = true
	}
	var out []string
	for _, k := range a {
		if !in[k] {
			out = append(out, k)
		}
	}
	return out
}

// Month is the account of one month of a tenant's service.
type Month struct {
	Month string `json:"month"`
	// From and To bound the period accounted: the month, from the first day the record holds (a
	// tenant that joined during the month) until today for the month under way.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// NotReady is the time not Ready in the period, by reason, and Availability the share of the
	// period the tenant was Ready, in percent.
	NotReady         map[string]int64 `json:"notReadySeconds"`
	NotReadyTotal    int64            `json:"notReadyTotalSeconds"`
	Availability     float64          `json:"availabilityPercent"`
	BackupsCompleted int              `json:"backupsCompleted"`
	BackupsFailed    int              `json:"backupsFailed"`
	DrillsPassed     int              `json:"drillsPassed"`
	DrillsFailed     int              `json:"drillsFailed"`
	FindingsOpened   int              `json:"findingsOpened"`
	FindingsClosed   int              `json:"findingsClosed"`
	// High, Medium and Low are the findings at the month's last evaluation; Applications and Seats
	// at its last day recorded.
	High         int `json:"high"`
	Medium       int `json:"medium"`
	Low          int `json:"low"`
	Applications int `json:"applications"`
	Seats        int `json:"seats"`
	// Days are the month's days the record holds.
	Days []Day `json:"days"`
}

// ErrNotRecorded says that the record holds no day of the month asked for.
type ErrNotRecorded struct {
	Month, First, Last string
}

func (e ErrNotRecorded) Error() string {
	if e.First == "" {
		return "the record of service holds no day yet"
	}
	return "the record of service holds no day of " + e.Month + ": it keeps " + e.First + " to " + e.Last + " (two months)"
}

// MonthOf sums the days of a month (YYYY-MM) of the record, with the interval not Ready under way
// counted until now.
func MonthOf(h History, month string, now time.Time) (Month, error) {
	start, err := time.ParseInLocation("2006-01", month, Brussels)
	if err != nil {
		return Month{}, err
	}
	end := start.AddDate(0, 1, 0)
	m := Month{Month: month, NotReady: map[string]int64{}}
	for _, d := range h.Days {
		if d.Date < start.Format(time.DateOnly) || d.Date >= end.Format(time.DateOnly) {
			continue
		}
		m.Days = append(m.Days, d)
		for reason, s := range d.NotReady {
			m.NotReady[reason] += s
		}
		m.BackupsCompleted += d.BackupsCompleted
		m.BackupsFailed += d.BackupsFailed
		m.DrillsPassed += d.DrillsPassed
		m.DrillsFailed += d.DrillsFailed
		m.FindingsOpened += d.FindingsOpened
		m.FindingsClosed += d.FindingsClosed
		if d.evaluated() {
			m.High, m.Medium, m.Low = d.High, d.Medium, d.Low
		}
		m.Applications, m.Seats = d.Applications, d.Seats
	}
	if len(m.Days) == 0 {
		e := ErrNotRecorded{Month: month}
		if n := len(h.Days); n > 0 {
			e.First, e.Last = h.Days[0].Date, h.Days[n-1].Date
		}
		return m, e
	}
	m.From, m.To = start, end
	if now.Before(end) {
		m.To = now
	}
	if first := m.Days[0].Date; len(h.Days) > 0 && h.Days[0].Date == first {
		// the record begins in this month: the tenant joined then, or the record did
		m.From, _ = time.ParseInLocation(time.DateOnly, first, Brussels)
	}
	if h.NotReadySince != nil {
		from, to := *h.NotReadySince, m.To
		if from.Before(m.From) {
			from = m.From
		}
		if from.Before(to) {
			m.NotReady[h.NotReadyReason] += int64(to.Sub(from).Seconds())
		}
	}
	for _, s := range m.NotReady {
		m.NotReadyTotal += s
	}
	if period := m.To.Sub(m.From).Seconds(); period > 0 {
		m.Availability = 100 * (1 - float64(m.NotReadyTotal)/period)
	}
	return m, nil
}
