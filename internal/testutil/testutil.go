// Package testutil holds helpers that several packages' tests need: the shared development
// data next to the checkout, and a log buffer safe to write from running goroutines.
//
// It imports nothing of Herald's, so any package's tests may use it.
package testutil

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
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
