package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Delivery kinds: a summary post to a channel, or a full-article DM to a reader.
const (
	DeliveryPost = "post"
	DeliveryDM   = "dm"
)

// Delivery states. Every row ends in one of DeliverySent, DeliverySkipped or DeliveryFailed.
const (
	DeliveryPending = "pending"
	DeliverySending = "sending"
	DeliverySent    = "sent"
	DeliverySkipped = "skipped"
	DeliveryFailed  = "failed"
)

// ReasonInterruptedTwice is the failure reason of a row found in flight by a second crash recovery.
const ReasonInterruptedTwice = "interrupted twice while sending"

// Delivery is one row of the outbox: one post to a channel or one DM to a reader.
type Delivery struct {
	ID            int64
	StoryID       int64
	Kind          string // DeliveryPost or DeliveryDM
	Platform      string
	Target        string // channel name for posts, platform user id for DMs
	LinkID        int64  // the reader's link for DMs; 0 for posts or once the link is gone
	State         string
	Attempts      int // failed transient attempts so far
	Recoveries    int // times found in flight after a crash
	PartsSent     int // parts of a split message the platform already acknowledged
	MessageIDs    []string
	NextAttemptAt time.Time
	ClaimedAt     time.Time
	SentAt        time.Time
	PublishedAt   time.Time // the story's publication time, the order of delivery
	Reason        string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PostTarget is a configured channel a story's summary is posted to.
type PostTarget struct {
	Platform string
	Channel  string // the channel name as configured
}

// QueueResult says what QueueStory did.
type QueueResult struct {
	Posts int64 // post rows created
	DMs   int64 // dm rows created
	// PostsByPlatform and DMsByPlatform split the counts by platform.
	PostsByPlatform map[string]int64
	DMsByPlatform   map[string]int64
	// AlreadyQueued is true when the story had been queued before; nothing was added.
	AlreadyQueued bool
	// NoFullText is true when the story has no extracted text, so no DMs were queued.
	NoFullText bool
}

const deliveryCols = `id, story_id, kind, platform, target, COALESCE(link_id, 0), state, attempts, recoveries, parts_sent,
	message_ids, next_attempt_at, claimed_at, sent_at, published_at, reason, created_at, updated_at`

func scanDelivery(r scanner) (Delivery, error) {
	var d Delivery
	var ids string
	var next, claimed, sent, pub, created, updated int64
	err := r.Scan(&d.ID, &d.StoryID, &d.Kind, &d.Platform, &d.Target, &d.LinkID, &d.State, &d.Attempts, &d.Recoveries, &d.PartsSent,
		&ids, &next, &claimed, &sent, &pub, &d.Reason, &created, &updated)
	if err != nil {
		return Delivery{}, err
	}
	if ids != "" {
		d.MessageIDs = strings.Split(ids, ",")
	}
	d.NextAttemptAt, d.ClaimedAt, d.SentAt, d.PublishedAt = fromMS(next), fromMS(claimed), fromMS(sent), fromMS(pub)
	d.CreatedAt, d.UpdatedAt = fromMS(created), fromMS(updated)
	return d, nil
}

// QueueStory queues a story's deliveries in one transaction: a post row per target channel and,
// when the story has full text, a dm row per link on dmPlatforms whose subscription is entitled now
// and whose link is reachable and not paused. A story is queued once: a second call (or a reader
// who links later) adds nothing, and UNIQUE(story_id, kind, platform, target) guards the rows.
// It returns ErrNotFound for an unknown story.
func (s *Store) QueueStory(ctx context.Context, storyID int64, posts []PostTarget, dmPlatforms []string) (QueueResult, error) {
	var res QueueResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res = QueueResult{PostsByPlatform: map[string]int64{}, DMsByPlatform: map[string]int64{}}
		var pub, queued int64
		var extractErr string
		var hasBody bool
		err := tx.QueryRowContext(ctx, `SELECT published_at, queued_at, extract_error, body <> '' FROM stories WHERE id = ?`, storyID).
			Scan(&pub, &queued, &extractErr, &hasBody)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("story %d: %w", storyID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if queued != 0 {
			res.AlreadyQueued = true
			return nil
		}
		now := s.now()
		for _, p := range posts {
			r, err := tx.ExecContext(ctx, `INSERT INTO deliveries (story_id, kind, platform, target, published_at, created_at, updated_at)
				VALUES (?, 'post', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, storyID, p.Platform, p.Channel, pub, now, now)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			res.Posts += n
			if n > 0 {
				res.PostsByPlatform[p.Platform] += n
			}
		}
		res.NoFullText = extractErr != "" || !hasBody
		for _, p := range dmPlatforms {
			if res.NoFullText {
				break
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO deliveries (story_id, kind, platform, target, link_id, published_at, created_at, updated_at)
				SELECT ?, 'dm', l.platform, l.user_id, l.id, ?, ?, ?
				FROM links l JOIN subscriptions s ON s.id = l.subscription_id
				WHERE l.platform = ? AND l.unreachable_at = 0 AND l.paused = 0 AND `+entitledSQL("s.")+`
				ORDER BY l.id
				ON CONFLICT DO NOTHING`, storyID, pub, now, now, p, now, now)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			res.DMs += n
			if n > 0 {
				res.DMsByPlatform[p] += n
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE stories SET queued_at = ? WHERE id = ?`, now, storyID)
		return err
	})
	if err != nil {
		return QueueResult{}, fmt.Errorf("store: queue story: %w", err)
	}
	return res, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// ClaimDue moves up to limit due rows of a platform from pending to sending and returns them in
// delivery order: posts before DMs, each in story publication order. A post is held back while an
// earlier story's post to the same channel is unfinished, so each channel sees stories in order.
func (s *Store) ClaimDue(ctx context.Context, platform string, limit int) ([]Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []Delivery
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		posts, err := queryAll(ctx, tx, scanDelivery, `SELECT `+deliveryCols+` FROM deliveries d
			WHERE platform = ? AND kind = 'post' AND state = 'pending' AND next_attempt_at <= ?
			AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.platform = d.platform AND e.target = d.target
				AND e.kind = 'post' AND e.state IN ('pending','sending')
				AND (e.published_at, e.story_id) < (d.published_at, d.story_id))
			ORDER BY published_at, story_id, id LIMIT ?`, platform, now, limit)
		if err != nil {
			return err
		}
		out = posts
		if rest := limit - len(out); rest > 0 {
			dms, err := queryAll(ctx, tx, scanDelivery, `SELECT `+deliveryCols+` FROM deliveries
				WHERE platform = ? AND kind = 'dm' AND state = 'pending' AND next_attempt_at <= ?
				ORDER BY published_at, story_id, id LIMIT ?`, platform, now, rest)
			if err != nil {
				return err
			}
			out = append(out, dms...)
		}
		if len(out) == 0 {
			return nil
		}
		args := []any{now, now}
		for i := range out {
			out[i].State, out[i].ClaimedAt = DeliverySending, fromMS(now)
			args = append(args, out[i].ID)
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET state = 'sending', claimed_at = ?, updated_at = ?
			WHERE id IN (`+placeholders(len(out))+`)`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim due: %w", err)
	}
	return out, nil
}

// GetDelivery returns one delivery row, or ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id int64) (Delivery, error) {
	d, err := scanDelivery(s.read.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("store: delivery %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("store: get delivery: %w", err)
	}
	return d, nil
}

// StoryDeliveries returns all delivery rows of a story, in id order.
func (s *Store) StoryDeliveries(ctx context.Context, storyID int64) ([]Delivery, error) {
	out, err := queryAll(ctx, s.read, scanDelivery, `SELECT `+deliveryCols+` FROM deliveries WHERE story_id = ? ORDER BY id`, storyID)
	if err != nil {
		return nil, fmt.Errorf("store: story deliveries: %w", err)
	}
	return out, nil
}

// finish updates a row that must be in flight; ErrConflict means it was not (already final or released).
func (s *Store) finish(ctx context.Context, op string, id int64, set string, args ...any) error {
	args = append(args, s.now(), id)
	r, err := s.write.ExecContext(ctx, `UPDATE deliveries SET `+set+`, updated_at = ? WHERE id = ? AND state = 'sending'`, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: %s %d: not in flight: %w", op, id, ErrConflict)
	}
	return nil
}

// joinIDs appends new message ids to the stored comma-separated list in SQL.
const appendIDs = `message_ids = CASE WHEN message_ids = '' OR ? = '' THEN message_ids || ? ELSE message_ids || ',' || ? END`

// RecordPartsSent records that the platform acknowledged parts more of a split DM (with
// their message ids, if it gave any), so they are never sent again, and remembers the DM chat id
// on the reader's link for reuse.
func (s *Store) RecordPartsSent(ctx context.Context, id int64, parts int, messageIDs []string, chatID string) error {
	if parts <= 0 {
		return nil
	}
	ids := strings.Join(messageIDs, ",")
	if err := s.finish(ctx, "record parts sent", id, `parts_sent = parts_sent + ?, `+appendIDs, parts, ids, ids, ids); err != nil {
		return err
	}
	return s.rememberDMChat(ctx, id, chatID)
}

// MarkSent records a delivery as sent with the message ids of its last parts (appended to any recorded before).
func (s *Store) MarkSent(ctx context.Context, id int64, messageIDs []string, chatID string) error {
	ids := strings.Join(messageIDs, ",")
	now := s.now()
	if err := s.finish(ctx, "mark sent", id, `state = 'sent', sent_at = ?, attempts = attempts + 1, reason = '', parts_sent = parts_sent + ?, `+appendIDs,
		now, len(messageIDs), ids, ids, ids); err != nil {
		return err
	}
	return s.rememberDMChat(ctx, id, chatID)
}

func (s *Store) rememberDMChat(ctx context.Context, id int64, chatID string) error {
	if chatID == "" {
		return nil
	}
	_, err := s.write.ExecContext(ctx, `UPDATE links SET dm_chat = ?, updated_at = ?
		WHERE id = (SELECT link_id FROM deliveries WHERE id = ? AND kind = 'dm') AND dm_chat <> ?`, chatID, s.now(), id, chatID)
	if err != nil {
		return fmt.Errorf("store: remember dm chat: %w", err)
	}
	return nil
}

// ScheduleRetry puts an in-flight row back to pending, due at at, counting one failed attempt.
func (s *Store) ScheduleRetry(ctx context.Context, id int64, at time.Time, reason string) error {
	return s.finish(ctx, "schedule retry", id, `state = 'pending', attempts = attempts + 1, next_attempt_at = ?, reason = ?`, ms(at), reason)
}

// MarkFailed ends an in-flight row as failed with the reason.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string) error {
	return s.finish(ctx, "mark failed", id, `state = 'failed', attempts = attempts + 1, reason = ?`, reason)
}

// MarkSkipped ends an in-flight row as skipped with the reason (never sent: not entitled, paused, unlinked…).
func (s *Store) MarkSkipped(ctx context.Context, id int64, reason string) error {
	return s.finish(ctx, "mark skipped", id, `state = 'skipped', reason = ?`, reason)
}

// ReleaseClaimed puts in-flight rows that were not sent back to pending, as on a graceful
// shutdown; unlike a crash recovery this does not count against the row.
func (s *Store) ReleaseClaimed(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{s.now()}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.write.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', claimed_at = 0, updated_at = ?
		WHERE state = 'sending' AND id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return fmt.Errorf("store: release claimed: %w", err)
	}
	return nil
}

// RecoverInFlight handles rows of a platform left in sending by a crash; call it before the
// platform's dispatcher claims anything. A row found the first time goes back to pending (it may
// be sent once more); a row found a second time fails with ReasonInterruptedTwice.
func (s *Store) RecoverInFlight(ctx context.Context, platform string) (requeued, failed int64, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		r, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', recoveries = recoveries + 1, reason = ?, updated_at = ?
			WHERE platform = ? AND state = 'sending' AND recoveries >= 1`, ReasonInterruptedTwice, now, platform)
		if err != nil {
			return err
		}
		failed, _ = r.RowsAffected()
		r, err = tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', recoveries = recoveries + 1, claimed_at = 0,
			next_attempt_at = 0, updated_at = ? WHERE platform = ? AND state = 'sending'`, now, platform)
		if err != nil {
			return err
		}
		requeued, _ = r.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: recover in flight: %w", err)
	}
	return requeued, failed, nil
}

// DMTarget is where a DM delivery goes, as checked at send time.
type DMTarget struct {
	LinkID int64
	UserID string
	DMChat string // the DM chat id if known
}

// Reasons a DM is skipped at send time; never the article text.
const (
	SkipUnlinked    = "unlinked"
	SkipPaused      = "paused"
	SkipUnreachable = "recipient unreachable"
	SkipNotEntitled = "not entitled"
)

// CheckDMDelivery re-checks at send time that a DM may carry full text: the link still exists for
// the same user, is not paused or unreachable, and its subscription is entitled now. A non-empty
// skip reason means the row must be skipped.
func (s *Store) CheckDMDelivery(ctx context.Context, d Delivery) (DMTarget, string, error) {
	if d.LinkID == 0 {
		return DMTarget{}, SkipUnlinked, nil
	}
	var t DMTarget
	var platform, status string
	var paused bool
	var unreachable, periodEnd, grace int64
	err := s.read.QueryRowContext(ctx, `SELECT l.id, l.user_id, l.dm_chat, l.platform, l.paused, l.unreachable_at,
		s.status, s.current_period_end, s.grace_until
		FROM links l JOIN subscriptions s ON s.id = l.subscription_id WHERE l.id = ?`, d.LinkID).
		Scan(&t.LinkID, &t.UserID, &t.DMChat, &platform, &paused, &unreachable, &status, &periodEnd, &grace)
	if errors.Is(err, sql.ErrNoRows) {
		return DMTarget{}, SkipUnlinked, nil
	}
	if err != nil {
		return DMTarget{}, "", fmt.Errorf("store: check dm delivery: %w", err)
	}
	switch {
	case t.UserID != d.Target || platform != d.Platform:
		return DMTarget{}, SkipUnlinked, nil
	case unreachable != 0:
		return DMTarget{}, SkipUnreachable, nil
	case paused:
		return DMTarget{}, SkipPaused, nil
	case !Entitled(status, fromMS(periodEnd), fromMS(grace), s.Now()):
		return DMTarget{}, SkipNotEntitled + " (subscription " + status + ")", nil
	}
	return t, "", nil
}

// MarkRecipientUnreachable records that a reader's account cannot be messaged (bot blocked, DMs
// closed); no DMs are queued or sent to it until it links again.
func (s *Store) MarkRecipientUnreachable(ctx context.Context, linkID int64, reason string) error {
	now := s.now()
	_, err := s.write.ExecContext(ctx, `UPDATE links SET unreachable_at = ?, unreachable_reason = ?, updated_at = ? WHERE id = ?`,
		now, reason, now, linkID)
	if err != nil {
		return fmt.Errorf("store: mark recipient unreachable: %w", err)
	}
	return nil
}

// DeliveryBacklog reports a platform's unfinished rows (pending or in flight) and the age of the
// oldest pending one that is due, for metrics.
func (s *Store) DeliveryBacklog(ctx context.Context, platform string) (depth int64, oldest time.Duration, err error) {
	now := s.now()
	var minCreated sql.NullInt64
	err = s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE platform = ? AND kind IN ('post','dm') AND state IN ('pending','sending')`,
		platform).Scan(&depth)
	if err == nil {
		err = s.read.QueryRowContext(ctx, `SELECT MIN(created_at) FROM deliveries
			WHERE platform = ? AND kind IN ('post','dm') AND state = 'pending' AND next_attempt_at <= ?`, platform, now).Scan(&minCreated)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: delivery backlog: %w", err)
	}
	if minCreated.Valid {
		oldest = time.Duration(now-minCreated.Int64) * time.Millisecond
	}
	return depth, oldest, nil
}
