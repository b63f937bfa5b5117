package store

import "time"

// Subscription statuses as recorded from the publisher's billing system.
const (
	StatusActive   = "active"
	StatusTrialing = "trialing"
	StatusPastDue  = "past_due"
	StatusCanceled = "canceled"
	StatusExpired  = "expired"
)

// Entitled is the one rule that decides whether a subscription may receive full text at time now:
// active or trialing with the period end in the future, or past_due within its grace period.
func Entitled(status string, periodEnd, graceUntil, now time.Time) bool {
	switch status {
	case StatusActive, StatusTrialing:
		return periodEnd.After(now)
	case StatusPastDue:
		return !graceUntil.IsZero() && graceUntil.After(now)
	}
	return false
}

// entitledSQL is Entitled as a SQL condition over a subscriptions row (alias prefix p, e.g. "s."),
// taking two parameters: now (ms) twice. Keep it in step with Entitled; TestEntitledSQLMatches checks.
func entitledSQL(p string) string {
	return `((` + p + `status IN ('active','trialing') AND ` + p + `current_period_end > ?) OR (` +
		p + `status = 'past_due' AND ` + p + `grace_until > ?))`
}
