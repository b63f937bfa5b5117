package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// GetSummary returns a cached summary value by key; it implements summarize.Cache.
func (s *Store) GetSummary(ctx context.Context, key string) ([]byte, bool, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM summaries WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: get summary: %w", err)
	}
	return []byte(v), true, nil
}

// PutSummary caches a summary value; an existing key keeps its first value.
func (s *Store) PutSummary(ctx context.Context, key string, value []byte) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO summaries(key, value, created_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING`,
		key, string(value), s.now())
	if err != nil {
		return fmt.Errorf("store: put summary: %w", err)
	}
	return nil
}
