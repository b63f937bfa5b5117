// Package testutil holds helpers that several packages' tests need: the shared development
// data next to the checkout, and a log buffer safe to write from running goroutines.
//
// It imports nothing of Herald's, so any package's tests may use it.
package testutil

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// ModuleRoot walks up from the test's working directory (its package directory) to the
// directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testutil: no go.mod above the package directory")
		}
		dir = parent
	}
}

// SharedPath returns ../shared/elem… next to the module root, skipping the test when it is
// absent: the real-world development data lives outside the repository.
func SharedPath(tb testing.TB, elem ...string) string {
	tb.Helper()
	root, err := ModuleRoot()
	if err != nil {
		tb.Skipf("skipping: cannot locate ../shared: %v", err)
	}
	p := filepath.Join(append([]string{root, "..", "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("skipping: %s is absent (the shared development data lives next to the checkout in ../shared): %v", p, err)
	}
	return p
}

// SyncBuffer is a bytes.Buffer that goroutines under test may write to (a logger's output)
// while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Background runs run in a goroutine until the test ends, then cancels its context and fails the
// test if run returns an error or does not return within wait. The returned channel receives
// run's result, for tests that must notice an early return.
func Background(t testing.TB, wait time.Duration, run func(ctx context.Context) error) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	result := make(chan error, 1)
	go func() {
		err := run(ctx)
		done <- err
		result <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("background run: %v", err)
			}
		case <-time.After(wait):
			t.Errorf("background run did not return within %s of cancel", wait)
		}
	})
	return result
}
