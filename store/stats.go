package store

import (
	"context"
	"fmt"
	"time"
)

// Stats is a snapshot of what the database holds, for `herald stats` and /metrics.
type Stats struct {
	SchemaVersion           int                         `json:"schema_version"`
	Stories                 int64                       `json:"stories"`
	StoriesNoText           int64                       `json:"stories_without_text"` // stories whose full text could not be extracted
	Feeds                   int64                       `json:"feeds"`
	FeedsFailing            int64                       `json:"feeds_failing"` // feeds with consecutive failures, not yet disabled
	FeedsDisabled           int64                       `json:"feeds_disabled"`
	FailingFeeds            []FeedProblem               `json:"failing_feeds"`
	Subscriptions           int64                       `json:"subscriptions"`
	SubscriptionsEntitled   int64                       `json:"subscriptions_entitled"`
	Links                   int64                       `json:"links"`
	LinksUnreachable        int64                       `json:"links_unreachable"`
	LinksPaused             int64                       `json:"links_paused"`
	ChannelsUnreachable     int64                       `json:"channels_unreachable"`
	UnreachableChannels     []ChannelProblem            `json:"unreachable_channels"`
	Deliveries              map[string]map[string]int64 `json:"deliveries"`          // platform → state → count
	DeliveriesByState       map[string]int64            `json:"deliveries_by_state"` // state → count over all platforms, every state present
	OldestPendingMS         int64                       `json:"oldest_pending_ms"`   // age of the oldest due pending delivery, 0 if none
	SummaryPromptTokens     int64                       `json:"summary_prompt_tokens"`
	SummaryCompletionTokens int64                       `json:"summary_completion_tokens"`
	SummariesCached         int64                       `json:"summaries_cached"`
}

// FeedProblem describes a feed that is failing or disabled.
type FeedProblem struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Failures int    `json:"failures"`
	Error    string `json:"error"`
	Disabled bool   `json:"disabled"`
}

// Stats computes the current counts.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Deliveries: map[string]map[string]int64{}, FailingFeeds: []FeedProblem{}, UnreachableChannels: []ChannelProblem{},
		DeliveriesByState: map[string]int64{"pending": 0, "sending": 0, "sent": 0, "skipped": 0, "failed": 0}}
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
	type count struct {
		platform, state string
		n               int64
	}
	byState, err := queryAll(ctx, s.read, func(r scanner) (c count, err error) {
		return c, r.Scan(&c.platform, &c.state, &c.n)
	}, `SELECT platform, state, COUNT(*) FROM deliveries GROUP BY platform, state`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	for _, c := range byState {
		if st.Deliveries[c.platform] == nil {
			st.Deliveries[c.platform] = map[string]int64{}
		}
		st.Deliveries[c.platform][c.state] = c.n
		st.DeliveriesByState[c.state] += c.n
	}
	feeds, err := queryAll(ctx, s.read, func(r scanner) (p FeedProblem, err error) {
		return p, r.Scan(&p.Name, &p.URL, &p.Failures, &p.Error, &p.Disabled)
	}, `SELECT name, url, failures, CASE WHEN disabled_at <> 0 THEN disabled_reason ELSE last_error END, disabled_at <> 0
		FROM feeds WHERE failures > 0 OR disabled_at <> 0 ORDER BY name`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	st.FailingFeeds = append(st.FailingFeeds, feeds...)
	chans, err := queryAll(ctx, s.read, scanChannel, `SELECT `+channelCols+` FROM channels WHERE unreachable_at <> 0 ORDER BY platform, name`)
	if err != nil {
		return st, fmt.Errorf("store: stats: %w", err)
	}
	for _, c := range chans {
		st.UnreachableChannels = append(st.UnreachableChannels, ChannelProblem{Platform: c.Platform, Name: c.Name, Reason: c.UnreachableReason, Since: c.UnreachableAt})
	}
	return st, nil
}

// ChannelProblem is a configured channel the bot could not post to.
type ChannelProblem struct {
	Platform string    `json:"platform"`
	Name     string    `json:"name"`
	Reason   string    `json:"reason"`
	Since    time.Time `json:"since"`
}
