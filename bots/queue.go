package bots

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/heraldnews/herald/store"
)

// QueuerConfig says where stories go.
type QueuerConfig struct {
	// Platforms are the enabled platforms: DMs go out on each, and posts only to their channels.
	Platforms []string
	// Channels lists the configured channel names per platform.
	Channels map[string][]string
}

// Waker is told when new deliveries were queued; *Dispatcher implements it.
type Waker interface{ Wake() }

// Queuer records a ready story's deliveries in the outbox; the ingest pipeline calls it.
type Queuer struct {
	st      *store.Store
	posts   []store.PostTarget
	dms     []string
	log     *slog.Logger
	metrics *Metrics
	wakers  []Waker

	mu       sync.Mutex
	ensured  bool
	platform map[string]bool
}

// NewQueuer returns a Queuer for the configured platforms and channels. metrics may be nil;
// wakers (the dispatchers) are woken after each story that queued something.
func NewQueuer(st *store.Store, cfg QueuerConfig, log *slog.Logger, metrics *Metrics, wakers ...Waker) *Queuer {
	q := &Queuer{st: st, log: log, metrics: metrics, wakers: wakers, platform: map[string]bool{}}
	for _, p := range cfg.Platforms {
		if q.platform[p] {
			continue
		}
		q.platform[p] = true
		q.dms = append(q.dms, p)
		for _, ch := range cfg.Channels[p] {
			q.posts = append(q.posts, store.PostTarget{Platform: p, Channel: ch})
		}
	}
	return q
}

// Queue queues the story's channel posts and, if it has full text, the DMs of every linked,
// entitled, reachable and unpaused reader on the enabled platforms. Queuing a story again does nothing.
func (q *Queuer) Queue(ctx context.Context, story store.Story) error {
	if err := q.ensureChannels(ctx); err != nil {
		return err
	}
	res, err := q.st.QueueStory(ctx, story.ID, q.posts, q.dms)
	if err != nil {
		return fmt.Errorf("bots: queue story %d: %w", story.ID, err)
	}
	if res.AlreadyQueued {
		q.log.Debug("story already queued", "story_id", story.ID)
		return nil
	}
	for p, n := range res.PostsByPlatform {
		q.metrics.addQueued(p, store.DeliveryPost, n)
	}
	for p, n := range res.DMsByPlatform {
		q.metrics.addQueued(p, store.DeliveryDM, n)
	}
	q.log.Info("story queued", "story_id", story.ID, "posts", res.Posts, "dms", res.DMs, "no_full_text", res.NoFullText)
	if res.Posts+res.DMs > 0 {
		for _, w := range q.wakers {
			w.Wake()
		}
	}
	return nil
}

func (q *Queuer) ensureChannels(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ensured {
		return nil
	}
	for _, p := range q.posts {
		if err := q.st.EnsureChannel(ctx, p.Platform, p.Channel); err != nil {
			return fmt.Errorf("bots: queue: %w", err)
		}
	}
	q.ensured = true
	return nil
}
