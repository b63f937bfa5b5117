package bots

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/heraldnews/herald/store"
)

// DispatcherConfig tunes a Dispatcher; zero fields take the defaults.
type DispatcherConfig struct {
	// Concurrency is the number of sends in flight at once (default 8). Posts to one channel are
	// still sent one at a time, in story publication order.
	Concurrency int
	// MaxAttempts is the retry budget: after this many transient failures a delivery fails (default 8).
	MaxAttempts int
	// PollInterval is how often the outbox is checked for due rows when nothing woke the dispatcher (default 1 s).
	PollInterval time.Duration
	// ShutdownGrace is how long in-flight sends may finish after Run's context ends (default 5 s).
	ShutdownGrace time.Duration
	// BaseBackoff and MaxBackoff bound the exponential backoff when the platform gave no delay (defaults 2 s, 10 min).
	BaseBackoff, MaxBackoff time.Duration
}

func (c DispatcherConfig) withDefaults() DispatcherConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 5 * time.Second
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = 2 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Minute
	}
	return c
}

// Dispatcher delivers one platform's outbox: it claims due rows, re-checks entitlement for DMs,
// waits on the platform's rate limits, sends, and records every row's outcome.
type Dispatcher struct {
	st      *store.Store
	p       Platform
	name    string
	cfg     DispatcherConfig
	log     *slog.Logger
	metrics *Metrics

	global   *gate
	chats    *keyedLimiters
	channels *keyedLimiters
	stories  storyCache
	wake     chan struct{}

	recoverOnce sync.Once
	recoverErr  error
}

// NewDispatcher returns a Dispatcher for p; rates come from p.Limits(). metrics may be nil.
func NewDispatcher(st *store.Store, p Platform, cfg DispatcherConfig, log *slog.Logger, metrics *Metrics) *Dispatcher {
	l := p.Limits()
	d := &Dispatcher{
		st: st, p: p, name: p.Name(), cfg: cfg.withDefaults(), metrics: metrics,
		log:      log.With("platform", p.Name()),
		global:   newGate(l.GlobalRate, l.GlobalBurst),
		chats:    newKeyedLimiters(l.PerChatRate, l.PerChatBurst),
		channels: newKeyedLimiters(l.PerChannelRate, l.PerChannelBurst),
		wake:     make(chan struct{}, 1),
	}
	d.stories = storyCache{load: d.loadStory, entries: map[int64]*cachedStory{}}
	return d
}

// Wake makes the dispatcher look for due rows now instead of at its next poll.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. It first recovers rows a crash left in flight. On cancellation it
// stops claiming, lets in-flight sends finish within ShutdownGrace, and releases what did not.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.recoverInFlight(ctx); err != nil {
		return err
	}
	_, err := d.loop(ctx, false)
	return err
}

// RunOnce delivers everything due now and returns how many rows it finished or rescheduled; rows
// that became due later (retries) are left for the next run.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	if err := d.recoverInFlight(ctx); err != nil {
		return 0, err
	}
	return d.loop(ctx, true)
}

func (d *Dispatcher) recoverInFlight(ctx context.Context) error {
	d.recoverOnce.Do(func() {
		requeued, failed, err := d.st.RecoverInFlight(ctx, d.name)
		if err != nil {
			d.recoverErr = fmt.Errorf("bots: %s dispatcher: %w", d.name, err)
			return
		}
		if requeued+failed > 0 {
			d.log.Warn("recovered deliveries interrupted by a crash", "requeued", requeued, "failed", failed)
		}
		for range failed {
			d.metrics.incFailed(d.name, "any", "interrupted")
		}
	})
	return d.recoverErr
}

func (d *Dispatcher) loop(ctx context.Context, once bool) (int, error) {
	// Sends get their own context so a shutdown lets them finish, up to the grace period.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(d.cfg.ShutdownGrace, cancelSends) })
	defer stopGrace()

	slots := make(chan struct{}, d.cfg.Concurrency)
	queue := newTargetQueue()
	freed := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	done := 0
	var backlogAt time.Time
	defer wg.Wait()
	for {
		if ctx.Err() != nil {
			return done, nil
		}
		if time.Since(backlogAt) >= d.cfg.PollInterval {
			d.updateBacklog(ctx)
			backlogAt = time.Now()
		}
		// Claim in batches of at least half the free slots, so the outbox is not asked once per send.
		free := cap(slots) - len(slots)
		var rows []store.Delivery
		if free > 0 && (free >= (cap(slots)+1)/2 || len(slots) == 0) {
			var err error
			rows, err = d.st.ClaimDue(ctx, d.name, free)
			if err != nil {
				if ctx.Err() != nil {
					return done, nil
				}
				d.log.Error("claiming deliveries failed", "err", err)
			}
			for _, row := range rows {
				slots <- struct{}{}
				wg.Add(1)
				done++
				prev, finished := queue.next(row.Kind + "\x00" + row.Target)
				go func() {
					defer wg.Done()
					// One recipient's deliveries go out one after another, in claim order, so the
					// parts of two split articles never interleave in a reader's chat.
					if prev != nil {
						<-prev
					}
					d.deliver(ctx, sendCtx, row)
					finished()
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
			}
		}
		if len(rows) > 0 {
			continue
		}
		if once && len(slots) == 0 && free == cap(slots) {
			return done, nil
		}
		timer := time.NewTimer(d.cfg.PollInterval)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-freed:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (d *Dispatcher) updateBacklog(ctx context.Context) {
	if d.metrics == nil {
		return
	}
	depth, oldest, err := d.st.DeliveryBacklog(ctx, d.name)
	if err != nil {
		d.log.Warn("reading delivery backlog failed", "err", err)
		return
	}
	d.metrics.setBacklog(d.name, depth, oldest)
}

// deliver takes one claimed row to a final state, a scheduled retry, or (on shutdown) back to pending.
// ctx ends the waiting; sendCtx ends the sending; the store is always written with neither.
func (d *Dispatcher) deliver(ctx, sendCtx context.Context, row store.Delivery) {
	bg := context.WithoutCancel(ctx)
	log := d.log.With("delivery_id", row.ID, "story_id", row.StoryID, "kind", row.Kind)
	var err error
	switch row.Kind {
	case store.DeliveryPost:
		err = d.deliverPost(ctx, sendCtx, row, log)
	case store.DeliveryDM:
		err = d.deliverDM(ctx, sendCtx, row, log)
	default:
		err = d.st.MarkFailed(bg, row.ID, "unknown delivery kind "+row.Kind)
	}
	if err != nil {
		log.Error("recording delivery outcome failed; the row stays in flight until the next start", "err", err)
	}
}

func (d *Dispatcher) deliverDM(ctx, sendCtx context.Context, row store.Delivery, log *slog.Logger) error {
	bg := context.WithoutCancel(ctx)
	target, reason, err := d.st.CheckDMDelivery(bg, row)
	if err != nil {
		return d.failTransient(bg, row, log, err)
	}
	if reason != "" {
		return d.skip(bg, row, log, reason)
	}
	cs, err := d.stories.get(bg, row.StoryID, d.p.Limits())
	if errors.Is(err, store.ErrNotFound) {
		return d.skip(bg, row, log, "story deleted")
	}
	if err != nil {
		return d.failTransient(bg, row, log, err)
	}
	if !cs.story.HasFullText() {
		return d.skip(bg, row, log, "story has no full text")
	}
	msgs := cs.article
	to := Recipient{UserID: target.UserID, DMChat: target.DMChat}
	if row.PartsSent >= len(msgs) {
		// Every part was acknowledged before a crash cut the row short.
		return d.sent(bg, row, nil, "")
	}
	for i := row.PartsSent; i < len(msgs); i++ {
		if err := d.chats.Wait(ctx, target.UserID); err != nil {
			return d.release(row, log)
		}
		if err := d.global.Wait(ctx); err != nil {
			return d.release(row, log)
		}
		start := time.Now()
		ref, err := d.p.Send(sendCtx, to, msgs[i:i+1])
		d.metrics.observeSend(d.name, time.Since(start))
		if ref.ChatID != "" {
			to.DMChat = ref.ChatID
		}
		if err != nil {
			if len(ref.MessageIDs) > 0 {
				if rerr := d.st.RecordPartsSent(bg, row.ID, len(ref.MessageIDs), ref.MessageIDs, ref.ChatID); rerr != nil {
					return rerr
				}
			}
			return d.fail(bg, sendCtx, row, log, err, func(reason string) error {
				return d.st.MarkRecipientUnreachable(bg, target.LinkID, reason)
			})
		}
		if i == len(msgs)-1 {
			return d.sent(bg, row, ref.MessageIDs, ref.ChatID)
		}
		if err := d.st.RecordPartsSent(bg, row.ID, 1, ref.MessageIDs, ref.ChatID); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dispatcher) deliverPost(ctx, sendCtx context.Context, row store.Delivery, log *slog.Logger) error {
	bg := context.WithoutCancel(ctx)
	chatID := row.Target
	ch, err := d.st.GetChannel(bg, d.name, row.Target)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return d.failTransient(bg, row, log, err)
	case !ch.UnreachableAt.IsZero():
		return d.skip(bg, row, log, "channel unreachable: "+ch.UnreachableReason)
	default:
		chatID = ch.ChatID
	}
	cs, err := d.stories.get(bg, row.StoryID, d.p.Limits())
	if errors.Is(err, store.ErrNotFound) {
		return d.skip(bg, row, log, "story deleted")
	}
	if err != nil {
		return d.failTransient(bg, row, log, err)
	}
	for migrations := 0; ; migrations++ {
		if err := d.channels.Wait(ctx, chatID); err != nil {
			return d.release(row, log)
		}
		if err := d.global.Wait(ctx); err != nil {
			return d.release(row, log)
		}
		start := time.Now()
		ref, err := d.p.Post(sendCtx, chatID, cs.card)
		d.metrics.observeSend(d.name, time.Since(start))
		var moved *ChatMigrated
		if errors.As(err, &moved) && moved.NewChatID != "" && migrations < 3 {
			// A group that became a supergroup: post there now and from now on.
			log.Info("channel migrated", "channel", row.Target, "chat_id", moved.NewChatID)
			if err := d.st.SetChannelChatID(bg, d.name, row.Target, moved.NewChatID); err != nil {
				return err
			}
			chatID = moved.NewChatID
			continue
		}
		if err != nil {
			return d.fail(bg, sendCtx, row, log, err, func(reason string) error {
				return d.st.MarkChannelUnreachable(bg, d.name, row.Target, reason)
			})
		}
		return d.sent(bg, row, ref.MessageIDs, "")
	}
}

func (d *Dispatcher) sent(ctx context.Context, row store.Delivery, ids []string, chatID string) error {
	if err := d.st.MarkSent(ctx, row.ID, ids, chatID); err != nil {
		return err
	}
	d.metrics.incSent(d.name, row.Kind)
	return nil
}

func (d *Dispatcher) skip(ctx context.Context, row store.Delivery, log *slog.Logger, reason string) error {
	log.Debug("delivery skipped", "reason", reason)
	cause := reason
	if i := strings.IndexAny(cause, ":("); i > 0 {
		cause = strings.TrimSpace(cause[:i])
	}
	d.metrics.incSkipped(d.name, row.Kind, cause)
	return d.st.MarkSkipped(ctx, row.ID, reason)
}

// release puts a row that was never handed to the platform back to pending (graceful shutdown).
func (d *Dispatcher) release(row store.Delivery, log *slog.Logger) error {
	log.Debug("delivery released on shutdown")
	return d.st.ReleaseClaimed(context.Background(), row.ID)
}

// fail handles a send error by its class. markUnreachable records an unreachable recipient or channel.
func (d *Dispatcher) fail(bg, sendCtx context.Context, row store.Delivery, log *slog.Logger, err error, markUnreachable func(reason string) error) error {
	var ra *RetryAfter
	switch {
	case sendCtx.Err() != nil:
		// Cut short by shutdown after the grace period; whether it arrived is unknown, like a crash.
		log.Warn("send interrupted by shutdown; released", "err", err)
		return d.st.ReleaseClaimed(bg, row.ID)
	case errors.As(err, &ra):
		if ra.Global && ra.After > 0 {
			d.global.Pause(ra.After)
		}
		return d.retry(bg, row, log, err, ra.After, ra.After > 0)
	case errors.Is(err, ErrUnreachable):
		reason := "unreachable: " + err.Error()
		if row.Kind == store.DeliveryPost {
			// Only the operator can fix a channel (permissions, a removed bot, a wrong id): say so loudly.
			log.Error("channel unreachable: posts to it stop until it is fixed", "channel", row.Target, "err", err)
		} else {
			log.Info("recipient unreachable", "err", err)
		}
		if merr := markUnreachable(reason); merr != nil {
			return merr
		}
		d.metrics.incFailed(d.name, row.Kind, "unreachable")
		return d.st.MarkFailed(bg, row.ID, reason)
	case errors.Is(err, ErrRejected):
		log.Error("platform rejected our message: a bug in rendering", "err", err)
		d.metrics.incFailed(d.name, row.Kind, "rejected")
		return d.st.MarkFailed(bg, row.ID, "rejected: "+err.Error())
	default:
		log.Warn("unclassified send error; retrying", "err", err)
		return d.retry(bg, row, log, err, 0, false)
	}
}

// failTransient retries a row that failed on our side (the store), within the retry budget.
func (d *Dispatcher) failTransient(ctx context.Context, row store.Delivery, log *slog.Logger, err error) error {
	log.Warn("delivery failed before sending; retrying", "err", err)
	return d.retry(ctx, row, log, err, 0, false)
}

func (d *Dispatcher) retry(ctx context.Context, row store.Delivery, log *slog.Logger, err error, after time.Duration, rateLimited bool) error {
	attempts := row.Attempts + 1
	if attempts >= d.cfg.MaxAttempts {
		log.Warn("delivery failed: retry budget spent", "attempts", attempts, "err", err)
		d.metrics.incFailed(d.name, row.Kind, "retry_budget")
		return d.st.MarkFailed(ctx, row.ID, fmt.Sprintf("gave up after %d attempts: %v", attempts, err))
	}
	delay := after
	if delay <= 0 {
		delay = d.backoff(attempts)
	}
	d.metrics.incRetry(d.name, rateLimited)
	log.Debug("delivery retry scheduled", "attempts", attempts, "delay", delay, "err", err)
	return d.st.ScheduleRetry(ctx, row.ID, d.st.Now().Add(delay), err.Error())
}

// backoff is exponential in the attempt number with "equal jitter": half fixed, half random.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.cfg.BaseBackoff << min(attempt-1, 30)
	if b <= 0 || b > d.cfg.MaxBackoff {
		b = d.cfg.MaxBackoff
	}
	return b/2 + rand.N(b/2+1)
}

// storyCache renders each story once for a fan-out of thousands of DMs; entries expire so an
// edited story is picked up, and the cache holds few stories.
type storyCache struct {
	load    func(ctx context.Context, id int64, l Limits) (*cachedStory, error)
	mu      sync.Mutex
	entries map[int64]*cachedStory
}

type cachedStory struct {
	story   store.Story
	card    StoryCard
	article []Message
	at      time.Time
}

const (
	storyCacheTTL  = 30 * time.Second
	storyCacheSize = 32
)

func (c *storyCache) get(ctx context.Context, id int64, l Limits) (*cachedStory, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[id]; e != nil && time.Since(e.at) < storyCacheTTL {
		return e, nil
	}
	e, err := c.load(ctx, id, l)
	if err != nil {
		return nil, err
	}
	if len(c.entries) >= storyCacheSize {
		for k, old := range c.entries {
			if time.Since(old.at) >= storyCacheTTL || len(c.entries) >= storyCacheSize {
				delete(c.entries, k)
			}
		}
	}
	c.entries[id] = e
	return e, nil
}

func (d *Dispatcher) loadStory(ctx context.Context, id int64, l Limits) (*cachedStory, error) {
	st, err := d.st.GetStory(ctx, id)
	if err != nil {
		return nil, err
	}
	e := &cachedStory{story: st, card: CardFromStory(st), at: time.Now()}
	if st.HasFullText() {
		e.article = ArticleMessages(st, l)
	}
	return e, nil
}

// targetQueue chains the deliveries to one recipient: each waits for the one claimed before it.
type targetQueue struct {
	mu   sync.Mutex
	last map[string]chan struct{}
}

func newTargetQueue() *targetQueue { return &targetQueue{last: map[string]chan struct{}{}} }

// next registers a delivery to key and returns what it must wait for (nil for nothing) and the
// function to call when it is done. Entries are dropped once their chain is empty, so the map
// holds only recipients with deliveries in flight.
func (q *targetQueue) next(key string) (<-chan struct{}, func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	prev := q.last[key]
	cur := make(chan struct{})
	q.last[key] = cur
	return prev, func() {
		q.mu.Lock()
		if q.last[key] == cur {
			delete(q.last, key)
		}
		q.mu.Unlock()
		close(cur)
	}
}
