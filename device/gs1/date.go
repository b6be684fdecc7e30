package gs1

import (
	"fmt"
	"time"
)

// Date is a calendar date carried by a GS1 date AI (11 to 17). It is a
// date, not an instant: GS1 dates carry no time zone, so Time places them at
// midnight UTC only as a convention. A day "00" in the data (allowed when only
// year and month are known) is resolved to the last day of that month; the raw
// value stays in Data.Elements.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports whether d is the zero date, which stands for "absent".
func (d Date) IsZero() bool { return d == Date{} }

// Time returns the date at 00:00 UTC.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// String returns the date as YYYY-MM-DD, or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// valid reports whether d names a day of the proleptic Gregorian calendar.
func (d Date) valid() bool {
	return d.Month >= time.January && d.Month <= time.December &&
		d.Day >= 1 && d.Day <= daysIn(d.Year, d.Month)
}

// yymmdd returns the date in the six-digit form of the GS1 date AIs.
func (d Date) yymmdd() string {
	return fmt.Sprintf("%02d%02d%02d", ((d.Year%100)+100)%100, int(d.Month), d.Day)
}

func daysIn(year int, m time.Month) int {
	// Day 0 of the next month normalises to the last day of m.
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// gs1Year resolves a two-digit year with the rule of GS1 General
// Specifications 7.12: the year lies within -49..+50 years of the current
// year, so a date code outlives its century boundary gracefully.
func gs1Year(yy, currentYear int) int {
	century := currentYear - ((currentYear%100)+100)%100
	switch diff := yy - (currentYear - century); {
	case diff > 50:
		century -= 100
	case diff < -49:
		century += 100
	}
	return century + yy
}

// parseGS1Date parses YYMMDD. allowDay00 admits "00" for the day, meaning the
// last day of the month. The reason is empty when the date is valid.
func parseGS1Date(v string, currentYear int, allowDay00 bool) (Date, string) {
	if len(v) != 6 || !isDigits(v) {
		return Date{}, "want six digits YYMMDD"
	}
	yy := int(v[0]-'0')*10 + int(v[1]-'0')
	mm := int(v[2]-'0')*10 + int(v[3]-'0')
	dd := int(v[4]-'0')*10 + int(v[5]-'0')
	if mm < 1 || mm > 12 {
		return Date{}, fmt.Sprintf("month %02d", mm)
	}
	d := Date{Year: gs1Year(yy, currentYear), Month: time.Month(mm), Day: dd}
	if dd == 0 && allowDay00 {
		d.Day = daysIn(d.Year, d.Month)
	}
	if !d.valid() {
		return Date{}, fmt.Sprintf("day %02d of %04d-%02d", dd, d.Year, mm)
	}
	return d, ""
}

// parseGS1DateTime parses YYMMDDHHMM (AI 7003). GS1 carries no zone, so the
// wall-clock time is returned in UTC as a convention.
func parseGS1DateTime(v string, currentYear int) (time.Time, string) {
	if len(v) != 10 || !isDigits(v) {
		return time.Time{}, "want ten digits YYMMDDHHMM"
	}
	d, reason := parseGS1Date(v[:6], currentYear, false)
	if reason != "" {
		return time.Time{}, reason
	}
	hh := int(v[6]-'0')*10 + int(v[7]-'0')
	mi := int(v[8]-'0')*10 + int(v[9]-'0')
	if hh > 23 || mi > 59 {
		return time.Time{}, fmt.Sprintf("time %02d:%02d", hh, mi)
	}
	return time.Date(d.Year, d.Month, d.Day, hh, mi, 0, 0, time.UTC), ""
}
