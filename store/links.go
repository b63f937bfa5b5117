package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Link ties one chat account (platform, platform user id) to one subscription.
type Link struct {
	ID             int64
	SubscriptionID int64
	Platform       string
	UserID         string
	// DMChat is the DM channel or chat id once a send has revealed it; "" until then.
	DMChat string
	// Paused is the reader's choice to stop full-article DMs without unlinking.
	Paused bool
	// UnreachableAt is when the platform last refused a DM (bot blocked, DMs closed); zero when reachable.
	UnreachableAt     time.Time
	UnreachableReason string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Reachable reports whether DMs to the account are expected to work.
func (l Link) Reachable() bool { return l.UnreachableAt.IsZero() }

const linkCols = `l.id, l.subscription_id, l.platform, l.user_id, l.dm_chat, l.paused, l.unreachable_at, l.unreachable_reason, l.created_at, l.updated_at`

func scanLink(r scanner, extra ...any) (Link, error) {
	var l Link
	var unreachable, created, updated int64
	dst := append([]any{&l.ID, &l.SubscriptionID, &l.Platform, &l.UserID, &l.DMChat, &l.Paused, &unreachable, &l.UnreachableReason, &created, &updated}, extra...)
	if err := r.Scan(dst...); err != nil {
		return Link{}, err
	}
	l.UnreachableAt, l.CreatedAt, l.UpdatedAt = fromMS(unreachable), fromMS(created), fromMS(updated)
	return l, nil
}

// LinkFor returns the link of a chat account and its subscription, or ErrNotFound when the account is not linked.
// It is one indexed read, cheap enough for every command and every DM.
func (s *Store) LinkFor(ctx context.Context, platform, userID string) (Link, Subscription, error) {
	var sub Subscription
	var end, grace, created, updated int64
	l, err := scanLink(s.read.QueryRowContext(ctx, `SELECT `+linkCols+`,
		s.id, s.external_id, s.email, s.plan, s.status, s.current_period_end, s.grace_until, s.created_at, s.updated_at
		FROM links l JOIN subscriptions s ON s.id = l.subscription_id WHERE l.platform = ? AND l.user_id = ?`, platform, userID),
		&sub.ID, &sub.ExternalID, &sub.Email, &sub.Plan, &sub.Status, &end, &grace, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, Subscription{}, fmt.Errorf("store: link: %w", ErrNotFound)
	}
	if err != nil {
		return Link{}, Subscription{}, fmt.Errorf("store: link for: %w", err)
	}
	sub.CurrentPeriodEnd, sub.GraceUntil, sub.CreatedAt, sub.UpdatedAt = fromMS(end), fromMS(grace), fromMS(created), fromMS(updated)
	return l, sub, nil
}

// LinksForSubscription returns the live links of a subscription (at most one per platform), by platform.
func (s *Store) LinksForSubscription(ctx context.Context, subscriptionID int64) ([]Link, error) {
	out, err := queryAll(ctx, s.read, func(r scanner) (Link, error) { return scanLink(r) },
		`SELECT `+linkCols+` FROM links l WHERE l.subscription_id = ? ORDER BY l.platform`, subscriptionID)
	if err != nil {
		return nil, fmt.Errorf("store: links for subscription: %w", err)
	}
	return out, nil
}

// Unlink removes the link of a chat account at once and skips the account's full-article DMs still
// waiting in the outbox, so nothing more is sent to it. It returns the removed link, or ErrNotFound.
func (s *Store) Unlink(ctx context.Context, platform, userID string) (Link, error) {
	var l Link
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		l, err = scanLink(tx.QueryRowContext(ctx, `SELECT `+linkCols+` FROM links l WHERE l.platform = ? AND l.user_id = ?`, platform, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := skipPendingDMs(ctx, tx, l.ID, "unlinked", s.now()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM links WHERE id = ?`, l.ID)
		return err
	})
	if err != nil {
		return Link{}, fmt.Errorf("store: unlink: %w", err)
	}
	return l, nil
}

// skipPendingDMs settles the not-yet-claimed DMs queued for a link that is about to be removed (it must
// run before the delete, which clears their link_id). Rows already being sent are left to the
// dispatcher, which re-checks the link before sending.
func skipPendingDMs(ctx context.Context, tx *sql.Tx, linkID int64, reason string, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'skipped', reason = ?, updated_at = ?
		WHERE link_id = ? AND kind = 'dm' AND state = 'pending'`, reason, now, linkID)
	return err
}

// updateLink runs one UPDATE on the link of (platform, userID) and returns the link after it, or ErrNotFound.
func (s *Store) updateLink(ctx context.Context, what, set string, platform, userID string, args ...any) (Link, error) {
	var l Link
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE links SET `+set+`, updated_at = ? WHERE platform = ? AND user_id = ?`,
			append(args, s.now(), platform, userID)...)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		l, err = scanLink(tx.QueryRowContext(ctx, `SELECT `+linkCols+` FROM links l WHERE l.platform = ? AND l.user_id = ?`, platform, userID))
		return err
	})
	if err != nil {
		return Link{}, fmt.Errorf("store: %s: %w", what, err)
	}
	return l, nil
}

// SetPaused turns full-article DMs of a linked account off (true) or on (false); ErrNotFound when not linked.
func (s *Store) SetPaused(ctx context.Context, platform, userID string, paused bool) (Link, error) {
	return s.updateLink(ctx, "set paused", "paused = ?", platform, userID, paused)
}

// MarkLinkUnreachable records that the platform refused a DM to the account (it blocked the bot or closed DMs).
// The link is kept; ErrNotFound when the account is not linked.
func (s *Store) MarkLinkUnreachable(ctx context.Context, platform, userID, reason string) error {
	_, err := s.updateLink(ctx, "mark link unreachable", "unreachable_at = ?, unreachable_reason = ?", platform, userID, s.now(), truncateText(reason, 500))
	return err
}

// MarkLinkReachable clears the unreachable mark, for when the reader talks to the bot again;
// ErrNotFound when the account is not linked.
func (s *Store) MarkLinkReachable(ctx context.Context, platform, userID string) error {
	_, err := s.updateLink(ctx, "mark link reachable", "unreachable_at = 0, unreachable_reason = ''", platform, userID)
	return err
}

// SetLinkDMChat records the DM chat id the platform reported for the account, so later sends can reuse it.
func (s *Store) SetLinkDMChat(ctx context.Context, platform, userID, chat string) error {
	_, err := s.updateLink(ctx, "set link dm chat", "dm_chat = ?", platform, userID, chat)
	return err
}
