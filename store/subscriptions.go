package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Subscription is a publisher's customer record as the billing system reports it; it decides entitlement.
type Subscription struct {
	ID int64
	// ExternalID is the publisher's customer or subscription id; it identifies the record across imports.
	ExternalID       string
	Email            string
	Plan             string
	Status           string // one of the Status* constants
	CurrentPeriodEnd time.Time
	GraceUntil       time.Time // zero when there is no grace period
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// EntitledAt reports whether the subscription may receive full text at now; it applies Entitled.
func (sub Subscription) EntitledAt(now time.Time) bool {
	return Entitled(sub.Status, sub.CurrentPeriodEnd, sub.GraceUntil, now)
}

// EntitledUntil returns the instant the subscription's entitlement ends as recorded now
// (period end for active/trialing, grace end for past_due), or the zero time for other statuses.
func (sub Subscription) EntitledUntil() time.Time {
	switch sub.Status {
	case StatusActive, StatusTrialing:
		return sub.CurrentPeriodEnd
	case StatusPastDue:
		return sub.GraceUntil
	}
	return time.Time{}
}

// Statuses lists the valid subscription statuses in a stable order, for validation messages and CLIs.
func Statuses() []string {
	return []string{StatusActive, StatusTrialing, StatusPastDue, StatusCanceled, StatusExpired}
}

// ValidStatus reports whether status is one of the Status* constants.
func ValidStatus(status string) bool {
	switch status {
	case StatusActive, StatusTrialing, StatusPastDue, StatusCanceled, StatusExpired:
		return true
	}
	return false
}

// FieldError reports an invalid subscription field; callers show Field to name what to fix.
type FieldError struct {
	Field  string
	Reason string
}

// Error names the field and what is wrong with it.
func (e *FieldError) Error() string { return "store: subscription " + e.Field + ": " + e.Reason }

// Limits on stored strings, so a bad import or API call cannot fill the database with junk.
const (
	maxExternalID = 200
	maxEmail      = 320
	maxPlan       = 100
)

// Validate checks a subscription before it is stored and returns a *FieldError naming the first bad field.
// Status is normalized to lower case; an active or trialing subscription needs a period end.
func (sub *Subscription) Validate() error {
	sub.ExternalID = strings.TrimSpace(sub.ExternalID)
	sub.Email = strings.TrimSpace(sub.Email)
	sub.Plan = strings.TrimSpace(sub.Plan)
	sub.Status = strings.ToLower(strings.TrimSpace(sub.Status))
	switch {
	case sub.ExternalID == "":
		return &FieldError{"external_id", "is required"}
	case len(sub.ExternalID) > maxExternalID:
		return &FieldError{"external_id", fmt.Sprintf("is longer than %d bytes", maxExternalID)}
	case !isPrintableText(sub.ExternalID):
		return &FieldError{"external_id", "contains control characters or invalid UTF-8"}
	case len(sub.Email) > maxEmail:
		return &FieldError{"email", fmt.Sprintf("is longer than %d bytes", maxEmail)}
	case !isPrintableText(sub.Email):
		return &FieldError{"email", "contains control characters or invalid UTF-8"}
	case sub.Email != "" && !strings.Contains(sub.Email, "@"):
		return &FieldError{"email", "is not an email address"}
	case len(sub.Plan) > maxPlan:
		return &FieldError{"plan", fmt.Sprintf("is longer than %d bytes", maxPlan)}
	case !isPrintableText(sub.Plan):
		return &FieldError{"plan", "contains control characters or invalid UTF-8"}
	case sub.Status == "":
		return &FieldError{"status", "is required (one of " + strings.Join(Statuses(), ", ") + ")"}
	case !ValidStatus(sub.Status):
		return &FieldError{"status", fmt.Sprintf("%q is not one of %s", truncateText(sub.Status, 40), strings.Join(Statuses(), ", "))}
	case (sub.Status == StatusActive || sub.Status == StatusTrialing) && sub.CurrentPeriodEnd.IsZero():
		return &FieldError{"current_period_end", "is required for an " + sub.Status + " subscription"}
	}
	return nil
}

func isPrintableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// SubscriptionChange says what an upsert did.
type SubscriptionChange int

// Outcomes of UpsertSubscription and of each imported row.
const (
	SubscriptionCreated   SubscriptionChange = iota + 1 // a new record was stored
	SubscriptionUpdated                                 // the record existed and some field changed
	SubscriptionUnchanged                               // the record existed with the same values
)

// String is the word used in logs and reports: created, updated or unchanged.
func (c SubscriptionChange) String() string {
	switch c {
	case SubscriptionCreated:
		return "created"
	case SubscriptionUpdated:
		return "updated"
	case SubscriptionUnchanged:
		return "unchanged"
	}
	return "invalid"
}

const subCols = `id, external_id, email, plan, status, current_period_end, grace_until, created_at, updated_at`

func scanSubscription(r scanner) (Subscription, error) {
	var sub Subscription
	var end, grace, created, updated int64
	if err := r.Scan(&sub.ID, &sub.ExternalID, &sub.Email, &sub.Plan, &sub.Status, &end, &grace, &created, &updated); err != nil {
		return Subscription{}, err
	}
	sub.CurrentPeriodEnd, sub.GraceUntil, sub.CreatedAt, sub.UpdatedAt = fromMS(end), fromMS(grace), fromMS(created), fromMS(updated)
	return sub, nil
}

// UpsertSubscription stores sub identified by its ExternalID, replacing email, plan, status, period end
// and grace. It returns the stored record and whether it was created, updated or unchanged;
// an invalid sub gives a *FieldError.
func (s *Store) UpsertSubscription(ctx context.Context, sub Subscription) (Subscription, SubscriptionChange, error) {
	if err := sub.Validate(); err != nil {
		return Subscription{}, 0, err
	}
	var ch SubscriptionChange
	var out Subscription
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, ch, err = upsertSubscriptionTx(ctx, tx, sub, s.now())
		return err
	})
	if err != nil {
		return Subscription{}, 0, fmt.Errorf("store: upsert subscription: %w", err)
	}
	return out, ch, nil
}

// subStmts are the statements of an upsert, prepared once per import batch.
type subStmts struct {
	get, insert, update *sql.Stmt
}

func prepareSubStmts(ctx context.Context, tx *sql.Tx) (*subStmts, error) {
	var st subStmts
	var err error
	if st.get, err = tx.PrepareContext(ctx, `SELECT `+subCols+` FROM subscriptions WHERE external_id = ?`); err != nil {
		return nil, err
	}
	if st.insert, err = tx.PrepareContext(ctx, `INSERT INTO subscriptions (external_id, email, plan, status, current_period_end, grace_until, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return nil, err
	}
	if st.update, err = tx.PrepareContext(ctx, `UPDATE subscriptions SET email = ?, plan = ?, status = ?, current_period_end = ?, grace_until = ?, updated_at = ?
		WHERE id = ?`); err != nil {
		return nil, err
	}
	return &st, nil
}

func (st *subStmts) close() {
	for _, p := range []*sql.Stmt{st.get, st.insert, st.update} {
		if p != nil {
			p.Close()
		}
	}
}

func upsertSubscriptionTx(ctx context.Context, tx *sql.Tx, sub Subscription, now int64) (Subscription, SubscriptionChange, error) {
	st, err := prepareSubStmts(ctx, tx)
	if err != nil {
		return Subscription{}, 0, err
	}
	defer st.close()
	return st.upsert(ctx, sub, now)
}

// upsert expects a validated sub.
func (st *subStmts) upsert(ctx context.Context, sub Subscription, now int64) (Subscription, SubscriptionChange, error) {
	old, err := scanSubscription(st.get.QueryRowContext(ctx, sub.ExternalID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r, err := st.insert.ExecContext(ctx, sub.ExternalID, sub.Email, sub.Plan, sub.Status, ms(sub.CurrentPeriodEnd), ms(sub.GraceUntil), now, now)
		if err != nil {
			return Subscription{}, 0, err
		}
		if sub.ID, err = r.LastInsertId(); err != nil {
			return Subscription{}, 0, err
		}
		sub.CreatedAt, sub.UpdatedAt = fromMS(now), fromMS(now)
		sub.CurrentPeriodEnd, sub.GraceUntil = fromMS(ms(sub.CurrentPeriodEnd)), fromMS(ms(sub.GraceUntil))
		return sub, SubscriptionCreated, nil
	case err != nil:
		return Subscription{}, 0, err
	}
	if old.Email == sub.Email && old.Plan == sub.Plan && old.Status == sub.Status &&
		ms(old.CurrentPeriodEnd) == ms(sub.CurrentPeriodEnd) && ms(old.GraceUntil) == ms(sub.GraceUntil) {
		return old, SubscriptionUnchanged, nil
	}
	if _, err := st.update.ExecContext(ctx, sub.Email, sub.Plan, sub.Status, ms(sub.CurrentPeriodEnd), ms(sub.GraceUntil), now, old.ID); err != nil {
		return Subscription{}, 0, err
	}
	old.Email, old.Plan, old.Status = sub.Email, sub.Plan, sub.Status
	old.CurrentPeriodEnd, old.GraceUntil, old.UpdatedAt = fromMS(ms(sub.CurrentPeriodEnd)), fromMS(ms(sub.GraceUntil)), fromMS(now)
	return old, SubscriptionUpdated, nil
}

// GetSubscription returns the subscription with the publisher's externalID, or ErrNotFound.
func (s *Store) GetSubscription(ctx context.Context, externalID string) (Subscription, error) {
	sub, err := scanSubscription(s.read.QueryRowContext(ctx, `SELECT `+subCols+` FROM subscriptions WHERE external_id = ?`, strings.TrimSpace(externalID)))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, fmt.Errorf("store: subscription: %w", ErrNotFound)
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("store: get subscription: %w", err)
	}
	return sub, nil
}

// GetSubscriptionByID returns the subscription with Herald's id, or ErrNotFound.
func (s *Store) GetSubscriptionByID(ctx context.Context, id int64) (Subscription, error) {
	sub, err := scanSubscription(s.read.QueryRowContext(ctx, `SELECT `+subCols+` FROM subscriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, fmt.Errorf("store: subscription %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("store: get subscription: %w", err)
	}
	return sub, nil
}

// SubscriptionFilter selects subscriptions for ListSubscriptions; zero fields select everything.
type SubscriptionFilter struct {
	Status string // one status, or "" for all
	// Entitled, when non-nil, keeps only subscriptions that are (true) or are not (false) entitled now.
	Entitled *bool
	// Search keeps subscriptions whose external id or email contains it (case-insensitive).
	Search string
	// AfterID pages: only subscriptions with a larger id. Results are in id order.
	AfterID int64
	// Limit caps the result; 0 means 100, and it is capped at 10,000.
	Limit int
}

// ListSubscriptions returns subscriptions matching f in id order.
func (s *Store) ListSubscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error) {
	var where []string
	var args []any
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.Entitled != nil {
		cond := entitledSQL("")
		if !*f.Entitled {
			cond = "NOT " + cond
		}
		now := s.now()
		where = append(where, cond)
		args = append(args, now, now)
	}
	if f.Search != "" {
		where = append(where, `(external_id LIKE '%' || ? || '%' ESCAPE '\' OR email LIKE '%' || ? || '%' ESCAPE '\')`)
		q := escapeLike(f.Search)
		args = append(args, q, q)
	}
	where = append(where, "id > ?")
	args = append(args, f.AfterID)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	args = append(args, limit)
	out, err := queryAll(ctx, s.read, scanSubscription,
		`SELECT `+subCols+` FROM subscriptions WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list subscriptions: %w", err)
	}
	return out, nil
}

// SubscriptionPatch changes some fields of a subscription; nil fields are kept.
// A non-nil zero time clears GraceUntil (or CurrentPeriodEnd).
type SubscriptionPatch struct {
	Email            *string
	Plan             *string
	Status           *string
	CurrentPeriodEnd *time.Time
	GraceUntil       *time.Time
}

// SetSubscription applies p to the subscription with externalID (for the operator's `subscriptions set`)
// and returns the result; ErrNotFound when there is none, a *FieldError when the result is invalid.
func (s *Store) SetSubscription(ctx context.Context, externalID string, p SubscriptionPatch) (Subscription, error) {
	var out Subscription
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sub, err := scanSubscription(tx.QueryRowContext(ctx, `SELECT `+subCols+` FROM subscriptions WHERE external_id = ?`, strings.TrimSpace(externalID)))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if p.Email != nil {
			sub.Email = *p.Email
		}
		if p.Plan != nil {
			sub.Plan = *p.Plan
		}
		if p.Status != nil {
			sub.Status = *p.Status
		}
		if p.CurrentPeriodEnd != nil {
			sub.CurrentPeriodEnd = *p.CurrentPeriodEnd
		}
		if p.GraceUntil != nil {
			sub.GraceUntil = *p.GraceUntil
		}
		if err := sub.Validate(); err != nil {
			return err
		}
		out, _, err = upsertSubscriptionTx(ctx, tx, sub, s.now())
		return err
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("store: set subscription: %w", err)
	}
	return out, nil
}
