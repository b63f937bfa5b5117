package ingest

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/heraldnews/herald/store"
)

// flakyQueuer fails its first call, like a queue write lost to a crash or a full disk.
type flakyQueuer struct {
	mu     sync.Mutex
	calls  int
	queued []int64
	st     *store.Store
}

func (q *flakyQueuer) Queue(ctx context.Context, s store.Story) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.calls == 1 {
		return errors.New("disk full")
	}
	q.queued = append(q.queued, s.ID)
	_, err := q.st.QueueStory(ctx, s.ID, nil, nil)
	return err
}

func TestResumePendingQueuesStrandedStory(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	q := &flakyQueuer{st: st}
	p := NewPipeline(st, nil, q, PipelineOptions{})
	in := Input{Origin: "push", GUID: "a1", Title: "Stranded", Complete: true,
		Text: "A story whose queueing failed once. It must still be delivered after a restart."}
	if _, _, err := p.Process(ctx, in, true); err == nil {
		t.Fatal("want the queue error")
	}
	// The same input again is "unchanged" and would never be queued without ResumePending.
	if _, res, err := p.Process(ctx, in, true); err != nil || res != store.StoryUnchanged {
		t.Fatalf("reprocess: %v %v", res, err)
	}
	n, err := p.ResumePending(ctx)
	if err != nil || n != 1 || len(q.queued) != 1 {
		t.Fatalf("resume: n=%d err=%v queued=%v", n, err, q.queued)
	}
	if n, _ := p.ResumePending(ctx); n != 0 {
		t.Errorf("a queued story was resumed again: %d", n)
	}
	// A story stored silently (first-poll backlog) is never resumed.
	if _, _, err := p.Process(ctx, Input{Origin: "push", GUID: "b1", Title: "Backlog", Complete: true, Text: "Old news."}, false); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.ResumePending(ctx); n != 0 {
		t.Errorf("backlog story resumed: %d", n)
	}
}
