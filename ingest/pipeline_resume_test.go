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

func TestDropBylineBlock(t *testing.T) {
	p := func(s string) store.Block {
		return store.Block{Kind: store.BlockParagraph, Spans: []store.Span{{Text: s}}}
	}
	long := "Mara Okonjo said the council had voted nine to four in the early hours of Wednesday to build a movable barrier across the estuary."
	tests := []struct {
		name   string
		body   store.Body
		byline string
		want   int
	}{
		{"by line dropped", store.Body{p("By Mara Okonjo · 25 November 2026"), p("Story.")}, "Mara Okonjo", 1},
		{"plain name dropped", store.Body{p("Tomasz Weir, transport correspondent"), p("Story.")}, "Tomasz Weir", 1},
		{"no byline keeps all", store.Body{p("By Mara Okonjo"), p("Story.")}, "", 2},
		{"a sentence naming the author stays", store.Body{p(long), p("Story.")}, "Mara Okonjo", 2},
		{"only near the top", store.Body{p("a"), p("b"), p("c"), p("By Mara Okonjo")}, "Mara Okonjo", 4},
	}
	for _, tc := range tests {
		if got := dropBylineBlock(tc.body, tc.byline); len(got) != tc.want {
			t.Errorf("%s: %d blocks, want %d", tc.name, len(got), tc.want)
		}
	}
}
