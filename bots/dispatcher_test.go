package bots

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/heraldnews/herald/store"
)

var dlvEpoch = time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)

// dlvEnv is a store with a fixed clock and a second connection for test data that has no store API here.
type dlvEnv struct {
	st *store.Store
	db *sql.DB
}

func newDlvEnv(tb testing.TB) *dlvEnv {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "herald.db")
	st, err := store.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000&_foreign_keys=on")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close(); st.Close() })
	e := &dlvEnv{st: st, db: db}
	e.setNow(dlvEpoch)
	return e
}

// setNow moves the store's clock; call it only while no dispatcher runs.
func (e *dlvEnv) setNow(t time.Time) { e.st.Now = func() time.Time { return t } }

func (e *dlvEnv) exec(tb testing.TB, q string, args ...any) {
	tb.Helper()
	if _, err := e.db.Exec(q, args...); err != nil {
		tb.Fatal(err)
	}
}

// reader adds a subscription (active until periodEnd) linked to userID on platform, returning the link id.
func (e *dlvEnv) reader(tb testing.TB, platform, userID string, periodEnd time.Time) int64 {
	tb.Helper()
	now := dlvEpoch.UnixMilli()
	r, err := e.db.Exec(`INSERT INTO subscriptions (external_id, status, current_period_end, created_at, updated_at) VALUES (?, 'active', ?, ?, ?)`,
		platform+"/"+userID, periodEnd.UnixMilli(), now, now)
	if err != nil {
		tb.Fatal(err)
	}
	sub, _ := r.LastInsertId()
	r, err = e.db.Exec(`INSERT INTO links (subscription_id, platform, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`, sub, platform, userID, now, now)
	if err != nil {
		tb.Fatal(err)
	}
	id, _ := r.LastInsertId()
	return id
}

const dlvSecret = "Only subscribers may read this sentence."

func (e *dlvEnv) story(tb testing.TB, guid string, published time.Time, paragraphs int) store.Story {
	tb.Helper()
	var sb strings.Builder
	for i := 0; i < paragraphs; i++ {
		fmt.Fprintf(&sb, "Paragraph %d of the story. %s\n\n", i+1, dlvSecret)
	}
	st, _, err := e.st.UpsertStory(context.Background(), store.Story{Origin: "cli", GUID: guid, Title: "Story " + guid,
		Summary: "Summary of " + guid, Body: store.BodyFromText(sb.String()), PublishedAt: published})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

func (e *dlvEnv) row(tb testing.TB, storyID int64, kind, target string) store.Delivery {
	tb.Helper()
	ds, err := e.st.StoryDeliveries(context.Background(), storyID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, d := range ds {
		if d.Kind == kind && d.Target == target {
			return d
		}
	}
	tb.Fatalf("no %s delivery to %s for story %d", kind, target, storyID)
	return store.Delivery{}
}

// fakePlatform records what it was asked to deliver; postFn and sendFn may inject errors.
type fakePlatform struct {
	name   string
	limits Limits

	mu     sync.Mutex
	posts  []fakePost
	sends  []fakeSend
	calls  []fakeCall // every Post and Send call, failed or not
	n      int
	postFn func(channel string, card StoryCard) error
	sendFn func(to Recipient, m Message) error
}

type fakeCall struct {
	At     time.Time
	Failed bool
}

type fakePost struct {
	Channel string
	StoryID int64
}

type fakeSend struct {
	User        string
	Part, Total int
	Text        string
}

var _ Platform = (*fakePlatform)(nil)

func newFakePlatform(name string) *fakePlatform {
	return &fakePlatform{name: name, limits: Limits{MaxText: 4096, Measure: spTelegramMeasure}}
}

func (f *fakePlatform) Name() string                             { return f.name }
func (f *fakePlatform) Run(ctx context.Context, _ Handler) error { <-ctx.Done(); return nil }
func (f *fakePlatform) Limits() Limits                           { return f.limits }

func (f *fakePlatform) Post(_ context.Context, channel string, card StoryCard) (Ref, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.postFn != nil {
		if err := f.postFn(channel, card); err != nil {
			f.calls = append(f.calls, fakeCall{time.Now(), true})
			return Ref{}, err
		}
	}
	f.calls = append(f.calls, fakeCall{time.Now(), false})
	f.n++
	f.posts = append(f.posts, fakePost{channel, card.StoryID})
	return Ref{ChatID: channel, MessageIDs: []string{fmt.Sprint(f.n)}}, nil
}

func (f *fakePlatform) Send(_ context.Context, to Recipient, msgs []Message) (Ref, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ref := Ref{ChatID: "dm-" + to.UserID}
	for _, m := range msgs {
		if f.sendFn != nil {
			if err := f.sendFn(to, m); err != nil {
				f.calls = append(f.calls, fakeCall{time.Now(), true})
				return ref, err
			}
		}
		f.calls = append(f.calls, fakeCall{time.Now(), false})
		f.n++
		var texts []string
		for _, b := range m.Blocks {
			texts = append(texts, b.Text())
		}
		f.sends = append(f.sends, fakeSend{to.UserID, m.Part, m.Total, strings.Join(texts, "\n")})
		ref.MessageIDs = append(ref.MessageIDs, fmt.Sprint(f.n))
	}
	return ref, nil
}

func (f *fakePlatform) sendsTo(user string) []fakeSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeSend
	for _, s := range f.sends {
		if s.User == user {
			out = append(out, s)
		}
	}
	return out
}

func dlvLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func dlvRunOnce(tb testing.TB, d *Dispatcher) int {
	tb.Helper()
	n, err := d.RunOnce(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestDispatcherDeliversInOrder(t *testing.T) {
	ctx := context.Background()
	e := newDlvEnv(t)
	far := dlvEpoch.Add(365 * 24 * time.Hour)
	for _, u := range []string{"u1", "u2", "u3"} {
		e.reader(t, "telegram", u, far)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	fp := newFakePlatform("telegram")
	d := NewDispatcher(e.st, fp, DispatcherConfig{Concurrency: 4}, dlvLogger(), m)
	q := NewQueuer(e.st, QueuerConfig{Platforms: []string{"telegram"}, Channels: map[string][]string{"telegram": {"@a", "@b"}, "discord": {"c"}}}, dlvLogger(), m, d)
	// Stories queued out of publication order; each channel must still see them in order.
	var stories []store.Story
	for i, offset := range []int{3, 1, 2} {
		st := e.story(t, fmt.Sprint("s", i), dlvEpoch.Add(time.Duration(offset)*time.Minute), 2)
		stories = append(stories, st)
		if err := q.Queue(ctx, st); err != nil {
			t.Fatal(err)
		}
		if err := q.Queue(ctx, st); err != nil { // queuing twice changes nothing
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(m.queued.WithLabelValues("telegram", "dm")); got != 9 {
		t.Fatalf("queued dm metric %v, want 9", got)
	}
	dlvRunOnce(t, d)
	want := []int64{stories[1].ID, stories[2].ID, stories[0].ID}
	for _, ch := range []string{"@a", "@b"} {
		var got []int64
		for _, p := range fp.posts {
			if p.Channel == ch {
				got = append(got, p.StoryID)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("channel %s got stories %v, want %v", ch, got, want)
		}
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		if n := len(fp.sendsTo(u)); n != 3 {
			t.Errorf("%s got %d DMs, want 3", u, n)
		}
	}
	for _, st := range stories {
		ds, _ := e.st.StoryDeliveries(ctx, st.ID)
		if len(ds) != 5 {
			t.Fatalf("story %d has %d rows, want 5 (no discord post: platform not enabled)", st.ID, len(ds))
		}
		for _, r := range ds {
			if r.State != store.DeliverySent || len(r.MessageIDs) == 0 {
				t.Errorf("row %+v not sent with ids", r)
			}
		}
	}
	if got := testutil.ToFloat64(m.sent.WithLabelValues("telegram", "dm")); got != 9 {
		t.Fatalf("sent dm metric %v", got)
	}
	var chat string
	e.db.QueryRow(`SELECT dm_chat FROM links WHERE user_id = 'u1'`).Scan(&chat)
	if chat != "dm-u1" {
		t.Fatalf("dm chat not remembered: %q", chat)
	}
}

func TestDispatcherChecksEntitlementAtSendTime(t *testing.T) {
	ctx := context.Background()
	e := newDlvEnv(t)
	soon := dlvEpoch.Add(time.Hour)
	e.reader(t, "discord", "lapses", soon)
	paused := e.reader(t, "discord", "pauses", soon.Add(time.Hour))
	resumed := e.reader(t, "discord", "resumes", soon.Add(time.Hour))
	unlinked := e.reader(t, "discord", "unlinks", soon.Add(time.Hour))
	e.reader(t, "discord", "keeps", soon.Add(time.Hour))
	st := e.story(t, "a", dlvEpoch, 1)
	if _, err := e.st.QueueStory(ctx, st.ID, nil, []string{"discord"}); err != nil {
		t.Fatal(err)
	}
	// Between queuing and sending: one subscription lapses, one reader pauses, one pauses and resumes, one unlinks.
	e.setNow(soon.Add(time.Minute))
	e.exec(t, `UPDATE links SET paused = 1 WHERE id = ?`, paused)
	e.exec(t, `UPDATE links SET paused = 1 WHERE id = ?`, resumed)
	e.exec(t, `UPDATE links SET paused = 0 WHERE id = ?`, resumed)
	e.exec(t, `DELETE FROM links WHERE id = ?`, unlinked)
	fp := newFakePlatform("discord")
	dlvRunOnce(t, NewDispatcher(e.st, fp, DispatcherConfig{}, dlvLogger(), nil))
	want := map[string]struct{ state, reason string }{
		"lapses":  {store.DeliverySkipped, "not entitled (subscription active)"},
		"pauses":  {store.DeliverySkipped, store.SkipPaused},
		"unlinks": {store.DeliverySkipped, store.SkipUnlinked},
		"resumes": {store.DeliverySent, ""},
		"keeps":   {store.DeliverySent, ""},
	}
	for user, w := range want {
		r := e.row(t, st.ID, store.DeliveryDM, user)
		if r.State != w.state || r.Reason != w.reason {
			t.Errorf("%s: %s %q, want %s %q", user, r.State, r.Reason, w.state, w.reason)
		}
		got := fp.sendsTo(user)
		if (w.state == store.DeliverySent) != (len(got) == 1) {
			t.Errorf("%s received %d messages", user, len(got))
		}
		if w.state == store.DeliverySent && !strings.Contains(got[0].Text, dlvSecret) {
			t.Errorf("%s did not get the full text", user)
		}
	}
}

func TestDispatcherErrorClasses(t *testing.T) {
	ctx := context.Background()
	far := dlvEpoch.Add(365 * 24 * time.Hour)
	tests := []struct {
		name    string
		sendErr error
		postErr error
		check   func(t *testing.T, e *dlvEnv, d *Dispatcher, fp *fakePlatform, s1, s2 store.Story)
		// wantLogs must all appear in the dispatcher's log (the loud ones are for the operator).
		wantLogs []string
	}{
		{name: "retry after the platform's delay, pausing the platform on a global 429",
			sendErr: &RetryAfter{After: 300 * time.Millisecond, Global: true, Reason: "429 Too Many Requests"},
			check: func(t *testing.T, e *dlvEnv, d *Dispatcher, fp *fakePlatform, s1, _ store.Story) {
				r := e.row(t, s1.ID, store.DeliveryDM, "u1")
				if r.State != store.DeliveryPending || r.Attempts != 1 || !r.NextAttemptAt.Equal(dlvEpoch.Add(300*time.Millisecond)) {
					t.Fatalf("row %+v: want pending, 1 attempt, due in exactly 300 ms", r)
				}
				// The next call to the platform, for another reader, waited out the pause.
				for i, c := range fp.calls[:len(fp.calls)-1] {
					if c.Failed {
						if gap := fp.calls[i+1].At.Sub(c.At); gap < 250*time.Millisecond {
							t.Fatalf("next send %s after a global 429 asking for 300 ms", gap)
						}
						break
					}
				}
				if got := testutil.ToFloat64(d.metrics.rateLimited.WithLabelValues("telegram")); got < 1 {
					t.Fatalf("429 metric %v", got)
				}
			}},
		{name: "retry with backoff when no delay is given",
			sendErr: &RetryAfter{Reason: "502 Bad Gateway"},
			check: func(t *testing.T, e *dlvEnv, d *Dispatcher, fp *fakePlatform, s1, _ store.Story) {
				r := e.row(t, s1.ID, store.DeliveryDM, "u1")
				delay := r.NextAttemptAt.Sub(dlvEpoch)
				if r.State != store.DeliveryPending || delay < time.Second || delay > 2*time.Second || !strings.Contains(r.Reason, "502") {
					t.Fatalf("row %+v: want pending with a jittered 1-2 s backoff", r)
				}
				if d.global.paused() > 0 {
					t.Fatal("a non-global error paused the platform")
				}
			}},
		{name: "unreachable reader: failed, link marked, later DMs skipped",
			sendErr: fmt.Errorf("403 bot was blocked by the user: %w", ErrUnreachable),
			check: func(t *testing.T, e *dlvEnv, d *Dispatcher, fp *fakePlatform, s1, s2 store.Story) {
				r1, r2 := e.row(t, s1.ID, store.DeliveryDM, "u1"), e.row(t, s2.ID, store.DeliveryDM, "u1")
				if r1.State != store.DeliveryFailed || !strings.Contains(r1.Reason, "blocked") || r1.Attempts != 1 {
					t.Fatalf("first row %+v", r1)
				}
				if r2.State != store.DeliverySkipped || r2.Reason != store.SkipUnreachable {
					t.Fatalf("second row %+v", r2)
				}
				var at int64
				e.db.QueryRow(`SELECT unreachable_at FROM links WHERE user_id = 'u1'`).Scan(&at)
				if at == 0 {
					t.Fatal("link not marked unreachable")
				}
				if len(fp.sendsTo("u2")) != 2 {
					t.Fatal("other readers were affected")
				}
			}},
		{name: "rejected: failed at once",
			sendErr:  fmt.Errorf("400 can't parse entities: %w", ErrRejected),
			wantLogs: []string{"level=ERROR", "delivery_id=", "can't parse entities"},
			check: func(t *testing.T, e *dlvEnv, d *Dispatcher, fp *fakePlatform, s1, _ store.Story) {
				r := e.row(t, s1.ID, store.DeliveryDM, "u1")
				if r.State != store.DeliveryFailed || !strings.HasPrefix(r.Reason, "rejected: ") || r.Attempts != 1 {
					t.Fatalf("row %+v", r)
				}
			}},
		{name: "channel migrated: chat id updated and posted there",
			postErr: &ChatMigrated{NewChatID: "-100777"},
			check: func(t *testing.T, e *dlvEnv, d *Dispatcher, fp *fakePlatform, s1, s2 store.Story) {
				ch, err := e.st.GetChannel(ctx, "telegram", "@news")
				if err != nil || ch.ChatID != "-100777" {
					t.Fatalf("channel %+v %v", ch, err)
				}
				if len(fp.posts) != 2 || fp.posts[0].Channel != "-100777" || fp.posts[1].Channel != "-100777" {
					t.Fatalf("posts %+v", fp.posts)
				}
				if r := e.row(t, s1.ID, store.DeliveryPost, "@news"); r.State != store.DeliverySent {
					t.Fatalf("post row %+v", r)
				}
			}},
		{name: "channel unreachable: marked, later posts skipped",
			postErr:  fmt.Errorf("chat not found: %w", ErrUnreachable),
			wantLogs: []string{`level=ERROR msg="channel unreachable`, "channel=@news", "chat not found"},
			check: func(t *testing.T, e *dlvEnv, d *Dispatcher, fp *fakePlatform, s1, s2 store.Story) {
				ch, _ := e.st.GetChannel(ctx, "telegram", "@news")
				if ch.UnreachableAt.IsZero() {
					t.Fatal("channel not marked unreachable")
				}
				r1, r2 := e.row(t, s1.ID, store.DeliveryPost, "@news"), e.row(t, s2.ID, store.DeliveryPost, "@news")
				if r1.State != store.DeliveryFailed || r2.State != store.DeliverySkipped || !strings.HasPrefix(r2.Reason, "channel unreachable") {
					t.Fatalf("rows %+v / %+v", r1, r2)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newDlvEnv(t)
			e.reader(t, "telegram", "u1", far)
			e.reader(t, "telegram", "u2", far)
			fp := newFakePlatform("telegram")
			migrated := false
			fp.postFn = func(channel string, _ StoryCard) error {
				var m *ChatMigrated
				if errors.As(tc.postErr, &m) {
					if channel == m.NewChatID {
						return nil
					}
					migrated = true
					return tc.postErr
				}
				return tc.postErr
			}
			fp.sendFn = func(to Recipient, _ Message) error {
				if to.UserID == "u1" {
					return tc.sendErr
				}
				return nil
			}
			reg := prometheus.NewRegistry()
			m, _ := NewMetrics(reg)
			// One at a time, so the first story's outcome is known when the second is sent.
			logs := &lockedWriter{w: &bytes.Buffer{}, mu: &sync.Mutex{}}
			d := NewDispatcher(e.st, fp, DispatcherConfig{Concurrency: 1, BaseBackoff: 2 * time.Second}, slog.New(slog.NewTextHandler(logs, nil)), m)
			q := NewQueuer(e.st, QueuerConfig{Platforms: []string{"telegram"}, Channels: map[string][]string{"telegram": {"@news"}}}, dlvLogger(), m)
			s1 := e.story(t, "one", dlvEpoch, 1)
			s2 := e.story(t, "two", dlvEpoch.Add(time.Minute), 1)
			for _, st := range []store.Story{s1, s2} {
				if err := q.Queue(ctx, st); err != nil {
					t.Fatal(err)
				}
			}
			dlvRunOnce(t, d)
			if errors.As(tc.postErr, new(*ChatMigrated)) && !migrated {
				t.Fatal("migration never exercised")
			}
			tc.check(t, e, d, fp, s1, s2)
			logs.mu.Lock()
			defer logs.mu.Unlock()
			for _, w := range tc.wantLogs {
				if !strings.Contains(logs.w.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, logs.w.String())
				}
			}
		})
	}
}

func TestDispatcherRetryBudget(t *testing.T) {
	e := newDlvEnv(t)
	e.reader(t, "telegram", "u1", dlvEpoch.Add(24*time.Hour))
	st := e.story(t, "a", dlvEpoch, 1)
	e.st.QueueStory(context.Background(), st.ID, nil, []string{"telegram"})
	fp := newFakePlatform("telegram")
	fp.sendFn = func(Recipient, Message) error { return &RetryAfter{After: time.Second, Reason: "flood"} }
	d := NewDispatcher(e.st, fp, DispatcherConfig{MaxAttempts: 4}, dlvLogger(), nil)
	now := dlvEpoch
	for i := 0; i < 10; i++ {
		dlvRunOnce(t, d)
		now = now.Add(time.Second)
		e.setNow(now)
	}
	r := e.row(t, st.ID, store.DeliveryDM, "u1")
	if r.State != store.DeliveryFailed || r.Attempts != 4 || !strings.Contains(r.Reason, "gave up after 4 attempts") || !strings.Contains(r.Reason, "flood") {
		t.Fatalf("row %+v", r)
	}
}

func TestDispatcherMultipartResumesAfterFailure(t *testing.T) {
	e := newDlvEnv(t)
	e.reader(t, "telegram", "u1", dlvEpoch.Add(24*time.Hour))
	st := e.story(t, "a", dlvEpoch, 6)
	e.st.QueueStory(context.Background(), st.ID, nil, []string{"telegram"})
	fp := newFakePlatform("telegram")
	fp.limits.MaxText = 150
	failed := false
	fp.sendFn = func(_ Recipient, m Message) error {
		if m.Part == 3 && !failed {
			failed = true
			return &RetryAfter{After: time.Second, Reason: "timeout"}
		}
		return nil
	}
	d := NewDispatcher(e.st, fp, DispatcherConfig{}, dlvLogger(), nil)
	dlvRunOnce(t, d)
	r := e.row(t, st.ID, store.DeliveryDM, "u1")
	if r.State != store.DeliveryPending || r.PartsSent != 2 {
		t.Fatalf("after failure at part 3: %+v", r)
	}
	e.setNow(dlvEpoch.Add(time.Second))
	dlvRunOnce(t, d)
	got := fp.sendsTo("u1")
	total := got[0].Total
	if total < 4 || len(got) != total {
		t.Fatalf("got %d messages of %d parts", len(got), total)
	}
	for i, s := range got {
		if s.Part != i+1 {
			t.Fatalf("message %d is part %d: a part was resent or skipped", i, s.Part)
		}
	}
	r = e.row(t, st.ID, store.DeliveryDM, "u1")
	if r.State != store.DeliverySent || r.PartsSent != total || len(r.MessageIDs) != total {
		t.Fatalf("final row %+v", r)
	}
}

func TestDispatcherGracefulShutdown(t *testing.T) {
	e := newDlvEnv(t)
	for i := 0; i < 20; i++ {
		e.reader(t, "telegram", fmt.Sprint("u", i), dlvEpoch.Add(24*time.Hour))
	}
	st := e.story(t, "a", dlvEpoch, 1)
	e.st.QueueStory(context.Background(), st.ID, nil, []string{"telegram"})
	fp := newFakePlatform("telegram")
	// A slow platform: one send at a time, the rest wait on the limiter when the shutdown comes.
	fp.limits.GlobalRate, fp.limits.GlobalBurst = 20, 1
	inSend := make(chan struct{}, 100)
	fp.sendFn = func(Recipient, Message) error {
		inSend <- struct{}{}
		time.Sleep(20 * time.Millisecond)
		return nil
	}
	d := NewDispatcher(e.st, fp, DispatcherConfig{Concurrency: 4}, dlvLogger(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	<-inSend
	<-inSend
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ds, _ := e.st.StoryDeliveries(context.Background(), st.ID)
	sent, pending := 0, 0
	for _, r := range ds {
		switch {
		case r.State == store.DeliverySent:
			sent++
		case r.State == store.DeliveryPending && r.Recoveries == 0 && r.Attempts == 0:
			pending++
		default:
			t.Fatalf("row after shutdown: %+v", r)
		}
	}
	fp.mu.Lock()
	n := len(fp.sends)
	fp.mu.Unlock()
	if sent < 2 || sent != n || sent+pending != 20 || pending == 0 {
		t.Fatalf("sent %d (platform got %d), released %d", sent, n, pending)
	}
	// A restart delivers the rest exactly once.
	dlvRunOnce(t, NewDispatcher(e.st, fp, DispatcherConfig{}, dlvLogger(), nil))
	for i := 0; i < 20; i++ {
		if got := len(fp.sendsTo(fmt.Sprint("u", i))); got != 1 {
			t.Fatalf("u%d received %d", i, got)
		}
	}
}

func TestKeyedLimitersEvictIdle(t *testing.T) {
	k := newKeyedLimiters(1000, 1)
	ctx := context.Background()
	for i := 0; i < 500; i++ {
		if err := k.Wait(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if k.Len() != 500 {
		t.Fatalf("%d limiters", k.Len())
	}
	time.Sleep(k.idle + 20*time.Millisecond)
	k.Wait(ctx, "new")
	if k.Len() != 1 {
		t.Fatalf("%d limiters after idle ones were due for eviction", k.Len())
	}
	if unlimited := newKeyedLimiters(0, 0); unlimited.Wait(ctx, "x") != nil || unlimited.Len() != 0 {
		t.Fatal("an unlimited rate keeps limiters")
	}
}

func TestGatePause(t *testing.T) {
	g := newGate(0, 0)
	g.Pause(60 * time.Millisecond)
	g.Pause(time.Millisecond) // never shortens a pause in force
	start := time.Now()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("waited %s through a 60 ms pause", waited)
	}
	g.Pause(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestRecoverInFlightOnStart(t *testing.T) {
	ctx := context.Background()
	e := newDlvEnv(t)
	e.reader(t, "telegram", "u1", dlvEpoch.Add(24*time.Hour))
	e.reader(t, "telegram", "u2", dlvEpoch.Add(24*time.Hour))
	st := e.story(t, "a", dlvEpoch, 1)
	e.st.QueueStory(ctx, st.ID, nil, []string{"telegram"})
	// A crash left both rows in flight; u2's had been recovered once already.
	claimed, _ := e.st.ClaimDue(ctx, "telegram", 10)
	e.exec(t, `UPDATE deliveries SET recoveries = 1 WHERE id = ?`, claimed[1].ID)
	fp := newFakePlatform("telegram")
	dlvRunOnce(t, NewDispatcher(e.st, fp, DispatcherConfig{}, dlvLogger(), nil))
	if r := e.row(t, st.ID, store.DeliveryDM, "u1"); r.State != store.DeliverySent || r.Recoveries != 1 {
		t.Fatalf("u1 %+v", r)
	}
	if r := e.row(t, st.ID, store.DeliveryDM, "u2"); r.State != store.DeliveryFailed || r.Reason != store.ReasonInterruptedTwice {
		t.Fatalf("u2 %+v", r)
	}
	if len(fp.sendsTo("u2")) != 0 {
		t.Fatal("a twice-interrupted row was sent a third time")
	}
}

// TestDispatcherDoesNotInterleaveAReadersArticles: two split articles to one reader arrive one
// after the other, whatever the concurrency, and the parts of each stay in order.
func TestDispatcherDoesNotInterleaveAReadersArticles(t *testing.T) {
	ctx := context.Background()
	e := newDlvEnv(t)
	e.reader(t, "telegram", "u1", dlvEpoch.Add(365*24*time.Hour))
	fp := newFakePlatform("telegram")
	fp.limits.MaxText = 300 // every story below splits into several parts
	var inFlight, maxInFlight int
	var mu sync.Mutex
	fp.sendFn = func(Recipient, Message) error {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // give a concurrent send a chance to slip in
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	}
	d := NewDispatcher(e.st, fp, DispatcherConfig{Concurrency: 8}, dlvLogger(), nil)
	q := NewQueuer(e.st, QueuerConfig{Platforms: []string{"telegram"}}, dlvLogger(), nil, d)
	for i := 0; i < 4; i++ {
		st := e.story(t, fmt.Sprint("s", i), dlvEpoch.Add(time.Duration(i)*time.Minute), 6)
		if err := q.Queue(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	dlvRunOnce(t, d)
	got := fp.sendsTo("u1")
	if len(got) < 8 {
		t.Fatalf("only %d messages; the stories did not split", len(got))
	}
	// Parts must run 1..n, then 1..n again: a part 1 may only follow a last part.
	for i, s := range got {
		if i == 0 {
			continue
		}
		prev := got[i-1]
		if s.Part == 1 && prev.Part != prev.Total || s.Part > 1 && s.Part != prev.Part+1 {
			t.Fatalf("parts interleaved at message %d: %d/%d after %d/%d", i, s.Part, s.Total, prev.Part, prev.Total)
		}
	}
	if maxInFlight > 1 {
		t.Errorf("%d sends to one reader were in flight at once", maxInFlight)
	}
}
