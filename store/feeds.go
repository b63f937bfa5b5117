package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Feed is a configured feed and its polling state.
type Feed struct {
	ID int64
	// Name is the operator's label for the feed.
	Name string
	// ConfigURL is the URL as configured; it identifies the feed across restarts and redirects.
	ConfigURL string
	// URL is where the feed is fetched now; permanent redirects change it.
	URL          string
	ETag         string
	LastModified string
	LastPolledAt time.Time
	// LastSuccessAt is zero until the feed has been polled successfully once.
	LastSuccessAt time.Time
	NextPollAt    time.Time
	// Failures counts consecutive failed polls.
	Failures       int
	LastError      string
	DisabledAt     time.Time
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Disabled reports whether polling of the feed has been stopped after too many failures.
func (f Feed) Disabled() bool { return !f.DisabledAt.IsZero() }

// NeverPolled reports whether the feed has never been polled successfully, so its next poll is its first.
func (f Feed) NeverPolled() bool { return f.LastSuccessAt.IsZero() }

const feedCols = `id, name, config_url, url, etag, last_modified, last_polled_at, last_success_at, next_poll_at,
	failures, last_error, disabled_at, disabled_reason, created_at, updated_at`

func scanFeed(r scanner) (Feed, error) {
	var f Feed
	var polled, success, next, disabled, created, updated int64
	err := r.Scan(&f.ID, &f.Name, &f.ConfigURL, &f.URL, &f.ETag, &f.LastModified, &polled, &success, &next,
		&f.Failures, &f.LastError, &disabled, &f.DisabledReason, &created, &updated)
	if err != nil {
		return Feed{}, err
	}
	f.LastPolledAt, f.LastSuccessAt, f.NextPollAt = fromMS(polled), fromMS(success), fromMS(next)
	f.DisabledAt, f.CreatedAt, f.UpdatedAt = fromMS(disabled), fromMS(created), fromMS(updated)
	return f, nil
}

// EnsureFeed returns the feed configured at configURL, creating it (due now) when new
// and updating its name when the configuration renamed it. Its polling state is kept.
func (s *Store) EnsureFeed(ctx context.Context, configURL, name string) (Feed, error) {
	configURL = strings.TrimSpace(configURL)
	if configURL == "" {
		return Feed{}, errors.New("store: ensure feed: empty url")
	}
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		err := tx.QueryRowContext(ctx, `INSERT INTO feeds (name, config_url, url, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(config_url) DO UPDATE SET name = excluded.name,
				updated_at = CASE WHEN name <> excluded.name THEN excluded.updated_at ELSE updated_at END
			RETURNING id`, name, configURL, configURL, now, now).Scan(&id)
		return err
	})
	if err != nil {
		return Feed{}, fmt.Errorf("store: ensure feed: %w", err)
	}
	return s.GetFeed(ctx, id)
}

// GetFeed returns the feed with id, or ErrNotFound.
func (s *Store) GetFeed(ctx context.Context, id int64) (Feed, error) {
	f, err := scanFeed(s.read.QueryRowContext(ctx, `SELECT `+feedCols+` FROM feeds WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Feed{}, fmt.Errorf("store: feed %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Feed{}, fmt.Errorf("store: get feed: %w", err)
	}
	return f, nil
}

// ListFeeds returns every known feed, disabled ones included, by id.
func (s *Store) ListFeeds(ctx context.Context) ([]Feed, error) {
	out, err := queryAll(ctx, s.read, scanFeed, `SELECT `+feedCols+` FROM feeds ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list feeds: %w", err)
	}
	return out, nil
}

// DueFeeds returns the enabled feeds whose next poll is at or before now, longest overdue first.
func (s *Store) DueFeeds(ctx context.Context, now time.Time) ([]Feed, error) {
	out, err := queryAll(ctx, s.read, scanFeed, `SELECT `+feedCols+` FROM feeds WHERE disabled_at = 0 AND next_poll_at <= ?
		ORDER BY next_poll_at, id`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: due feeds: %w", err)
	}
	return out, nil
}

// RecordFeedNotModified records a poll answered 304 Not Modified: a success that changed nothing.
func (s *Store) RecordFeedNotModified(ctx context.Context, id int64, nextPoll time.Time) error {
	now := s.now()
	return s.execFeed(ctx, "record feed not modified", id, `UPDATE feeds SET last_polled_at = ?, last_success_at = ?, next_poll_at = ?,
		failures = 0, last_error = '', updated_at = ? WHERE id = ?`, now, now, ms(nextPoll), now, id)
}

// RecordFeedSuccess records a successful poll with the response's validators; a non-empty
// newURL (after a permanent redirect) replaces the URL the feed is fetched from.
func (s *Store) RecordFeedSuccess(ctx context.Context, id int64, etag, lastModified, newURL string, nextPoll time.Time) error {
	now := s.now()
	return s.execFeed(ctx, "record feed success", id, `UPDATE feeds SET etag = ?, last_modified = ?,
		url = CASE WHEN ? <> '' THEN ? ELSE url END,
		last_polled_at = ?, last_success_at = ?, next_poll_at = ?, failures = 0, last_error = '', updated_at = ? WHERE id = ?`,
		etag, lastModified, newURL, newURL, now, now, ms(nextPoll), now, id)
}

// RecordFeedFailure records a failed poll and returns the feed's new state. When the
// consecutive failures reach disableAfter (if positive) the feed is disabled with errMsg as the reason.
func (s *Store) RecordFeedFailure(ctx context.Context, id int64, errMsg string, nextPoll time.Time, disableAfter int) (Feed, error) {
	now := s.now()
	if disableAfter <= 0 {
		disableAfter = -1
	}
	err := s.execFeed(ctx, "record feed failure", id, `UPDATE feeds SET last_polled_at = ?, next_poll_at = ?,
		failures = failures + 1, last_error = ?,
		disabled_at = CASE WHEN disabled_at = 0 AND ? > 0 AND failures + 1 >= ? THEN ? ELSE disabled_at END,
		disabled_reason = CASE WHEN disabled_at = 0 AND ? > 0 AND failures + 1 >= ?
			THEN printf('%d consecutive failures, last: %s', failures + 1, ?) ELSE disabled_reason END,
		updated_at = ? WHERE id = ?`,
		now, ms(nextPoll), errMsg, disableAfter, disableAfter, now, disableAfter, disableAfter, errMsg, now, id)
	if err != nil {
		return Feed{}, err
	}
	return s.GetFeed(ctx, id)
}

// EnableFeed re-enables a disabled feed (an operator decision), clearing its failures and making it due now.
func (s *Store) EnableFeed(ctx context.Context, id int64) error {
	return s.execFeed(ctx, "enable feed", id, `UPDATE feeds SET disabled_at = 0, disabled_reason = '', failures = 0, last_error = '',
		next_poll_at = 0, updated_at = ? WHERE id = ?`, s.now(), id)
}

func (s *Store) execFeed(ctx context.Context, what string, id int64, query string, args ...any) error {
	r, err := s.write.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: %s %d: %w", what, id, ErrNotFound)
	}
	return nil
}

// StoryRef is the identity and content hash of a stored story: what dedup needs, without the body.
type StoryRef struct {
	ID          int64
	Origin      string
	GUID        string
	ContentHash string
}

// StoryRefByGUID returns the reference of the story an origin knows by guid, or ErrNotFound.
// Feed polling calls it for every item, so it reads only the indexed identity columns.
func (s *Store) StoryRefByGUID(ctx context.Context, origin, guid string) (StoryRef, error) {
	return s.storyRef(ctx, `SELECT id, origin, guid, content_hash FROM stories WHERE origin = ? AND guid = ?`, origin, guid)
}

// StoryRefByURL returns the reference of the first story stored under the canonical url, or ErrNotFound.
// Feed dedup uses it to recognize a story already known from another feed or a push.
func (s *Store) StoryRefByURL(ctx context.Context, url string) (StoryRef, error) {
	if url == "" {
		return StoryRef{}, fmt.Errorf("store: story by url: %w", ErrNotFound)
	}
	return s.storyRef(ctx, `SELECT id, origin, guid, content_hash FROM stories WHERE url = ? AND url <> '' ORDER BY id LIMIT 1`, url) // the url <> '' term lets SQLite use the partial index
}

func (s *Store) storyRef(ctx context.Context, query string, args ...any) (StoryRef, error) {
	var r StoryRef
	err := s.read.QueryRowContext(ctx, query, args...).Scan(&r.ID, &r.Origin, &r.GUID, &r.ContentHash)
	if errors.Is(err, sql.ErrNoRows) {
		return StoryRef{}, fmt.Errorf("store: story ref: %w", ErrNotFound)
	}
	if err != nil {
		return StoryRef{}, fmt.Errorf("store: story ref: %w", err)
	}
	return r, nil
}
