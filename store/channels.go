package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Channel is a configured channel and the chat id it resolves to now.
type Channel struct {
	Platform string
	Name     string // as configured
	// ChatID is where posts go; it starts as Name and changes when a Telegram group migrates.
	ChatID            string
	UnreachableAt     time.Time // zero while reachable
	UnreachableReason string
	UpdatedAt         time.Time
}

// EnsureChannel records a configured channel if it is not known yet; a known channel keeps its chat id and state.
func (s *Store) EnsureChannel(ctx context.Context, platform, name string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO channels (platform, name, chat_id, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (platform, name) DO NOTHING`, platform, name, name, s.now())
	if err != nil {
		return fmt.Errorf("store: ensure channel: %w", err)
	}
	return nil
}

const channelCols = `platform, name, chat_id, unreachable_at, unreachable_reason, updated_at`

func scanChannel(r scanner) (Channel, error) {
	var c Channel
	var unreachable, updated int64
	if err := r.Scan(&c.Platform, &c.Name, &c.ChatID, &unreachable, &c.UnreachableReason, &updated); err != nil {
		return Channel{}, err
	}
	c.UnreachableAt, c.UpdatedAt = fromMS(unreachable), fromMS(updated)
	return c, nil
}

// GetChannel returns a channel by platform and configured name, or ErrNotFound.
func (s *Store) GetChannel(ctx context.Context, platform, name string) (Channel, error) {
	c, err := scanChannel(s.read.QueryRowContext(ctx, `SELECT `+channelCols+` FROM channels WHERE platform = ? AND name = ?`, platform, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Channel{}, fmt.Errorf("store: channel %s/%s: %w", platform, name, ErrNotFound)
	}
	if err != nil {
		return Channel{}, fmt.Errorf("store: get channel: %w", err)
	}
	return c, nil
}

// ListChannels returns all known channels, by platform and name.
func (s *Store) ListChannels(ctx context.Context) ([]Channel, error) {
	out, err := queryAll(ctx, s.read, scanChannel, `SELECT `+channelCols+` FROM channels ORDER BY platform, name`)
	if err != nil {
		return nil, fmt.Errorf("store: list channels: %w", err)
	}
	return out, nil
}

// SetChannelChatID points a channel at a new chat id (a Telegram group that became a supergroup).
func (s *Store) SetChannelChatID(ctx context.Context, platform, name, chatID string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO channels (platform, name, chat_id, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (platform, name) DO UPDATE SET chat_id = excluded.chat_id, updated_at = excluded.updated_at`,
		platform, name, chatID, s.now())
	if err != nil {
		return fmt.Errorf("store: set channel chat id: %w", err)
	}
	return nil
}

// MarkChannelUnreachable records that posts to a channel fail for good (bot removed, unknown chat);
// its queued posts are skipped until ClearChannelUnreachable.
func (s *Store) MarkChannelUnreachable(ctx context.Context, platform, name, reason string) error {
	now := s.now()
	_, err := s.write.ExecContext(ctx, `INSERT INTO channels (platform, name, chat_id, unreachable_at, unreachable_reason, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, name) DO UPDATE SET unreachable_at = excluded.unreachable_at,
			unreachable_reason = excluded.unreachable_reason, updated_at = excluded.updated_at`,
		platform, name, name, now, reason, now)
	if err != nil {
		return fmt.Errorf("store: mark channel unreachable: %w", err)
	}
	return nil
}

// ClearChannelUnreachable makes a channel eligible for posts again (after the operator fixed it).
func (s *Store) ClearChannelUnreachable(ctx context.Context, platform, name string) error {
	r, err := s.write.ExecContext(ctx, `UPDATE channels SET unreachable_at = 0, unreachable_reason = '', updated_at = ? WHERE platform = ? AND name = ?`,
		s.now(), platform, name)
	if err != nil {
		return fmt.Errorf("store: clear channel unreachable: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: channel %s/%s: %w", platform, name, ErrNotFound)
	}
	return nil
}
