package store

import (
	"context"
	"fmt"
)

// Stats is a snapshot of what the database holds, for `herald stats` and /metrics.
type Stats struct {
	SchemaVersion           int
	Stories                 int64
	StoriesNoText           int64 // stories whose full text could not be extracted
	Feeds                   int64
	FeedsFailing            int64 // feeds with consecutive failures, not yet disabled
	FeedsDisabled           int64
	FailingFeeds            []FeedProblem
	Subscriptions           int64
	SubscriptionsEntitled   int64
	Links                   int64
	LinksUnreachable        int64
	LinksPaused             int64
	ChannelsUnreachable     int64
	Deliveries              map[string]map[string]int64 // platform → state → count
	OldestPendingMS         int64                       // age of the oldest due pending delivery, 0 if none
	SummaryPromptTokens     int64
	SummaryCompletionTokens int64
	SummariesCached         int64
}

// FeedProblem describes a feed that is failing or disabled.
type FeedProblem struct {
	Name     string
	URL      string
	Failures int
	Error    string
	Disabled bool
}

// Stats computes the current counts.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Deliveries: map[string]map[string]int64{}}
	var err error
	if st.SchemaVersion, err = s.SchemaVersion(ctx); err != nil {
		return st, err
	}
	now := s.now()
	counts := []struct {
		dst   *int64
		query string
		args  []any
	}{
		{&st.Stories, `SELECT COUNT(*) FROM stories`, nil},
		{&st.StoriesNoText, `SELECT COUNT(*) FROM stories WHERE extract_error <> ''`, nil},
		{&st.Feeds, `SELECT COUNT(*) FROM feeds`, nil},
		{&st.FeedsFailing, `SELECT COUNT(*) FROM feeds WHERE failures > 0 AND disabled_at = 0`, nil},
		{&st.FeedsDisabled, `SELECT COUNT(*) FROM feeds WHERE disabled_at <> 0`, nil},
		{&st.Subscriptions, `SELECT COUNT(*) FROM subscriptions`, nil},
		{&st.SubscriptionsEntitled, `SELECT COUNT(*) FROM subscriptions WHERE ` + entitledSQL(""), []any{now, now}},
		{&st.Links, `SELECT COUNT(*) FROM links`, nil},
		{&st.LinksUnreachable, `SELECT COUNT(*) FROM links WHERE unreachable_at <> 0`, nil},
		{&st.LinksPaused, `SELECT COUNT(*) FROM links WHERE paused <> 0`, nil},
		{&st.ChannelsUnreachable, `SELECT COUNT(*) FROM channels WHERE unreachable_at <> 0`, nil},
		{&st.OldestPendingMS, `SELECT COALESCE(? - MIN(created_at), 0) FROM deliveries WHERE state IN ('pending','sending')`, []any{now}},
		{&st.SummariesCached, `SELECT COUNT(*) FROM summaries`, nil},
		{&st.SummaryPromptTokens, `SELECT COALESCE(SUM(json_extract(value, '$.prompt_tokens')), 0) FROM summaries`, nil},
		{&st.SummaryCompletionTokens, `SELECT COALESCE(SUM(json_extract(value, '$.completion_tokens')), 0) FROM summaries`, nil},
	}
	for _, c := range counts {
		if err := s.read.QueryRowContext(ctx, c.query, c.args...).Scan(c.dst); err != nil {
			return st, fmt.Errorf("store: stats: %w", err)
		}
	}
	rows, err := s.read.QueryContext(ctx, `SELECT platform, state, COUNT(*) FROM deliveries GROUP BY platform, state`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, state string
		var n int64
		if err := rows.Scan(&p, &state, &n); err != nil {
			return st, fmt.Errorf("store: stats: %w", err)
		}
		if st.Deliveries[p] == nil {
			st.Deliveries[p] = map[string]int64{}
		}
		st.Deliveries[p][state] = n
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	frows, err := s.read.QueryContext(ctx, `SELECT name, url, failures, CASE WHEN disabled_at <> 0 THEN disabled_reason ELSE last_error END, disabled_at <> 0
		FROM feeds WHERE failures > 0 OR disabled_at <> 0 ORDER BY name`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	defer frows.Close()
	for frows.Next() {
		var p FeedProblem
		if err := frows.Scan(&p.Name, &p.URL, &p.Failures, &p.Error, &p.Disabled); err != nil {
			return st, fmt.Errorf("store: stats: %w", err)
		}
		st.FailingFeeds = append(st.FailingFeeds, p)
	}
	return st, frows.Err()
}
