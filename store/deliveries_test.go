package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// The helpers here carry a dlv prefix so they cannot collide with other files' test helpers in this package.

var dlvEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func dlvOpen(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "herald.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	now := dlvEpoch
	s.Now = func() time.Time { return now }
	return s
}

func dlvSetNow(s *Store, t time.Time) { s.Now = func() time.Time { return t } }

func dlvStory(tb testing.TB, s *Store, guid string, published time.Time, withText bool) Story {
	tb.Helper()
	st := Story{Origin: "cli", GUID: guid, Title: "Story " + guid, PublishedAt: published, Excerpt: "excerpt"}
	if withText {
		st.Body = BodyFromText("First paragraph.\n\nSecond paragraph.")
	} else {
		st.ExtractError = "no article found"
	}
	got, _, err := s.UpsertStory(context.Background(), st)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// dlvReader inserts a subscription and a link with plain SQL and returns the link id.
func dlvReader(tb testing.TB, s *Store, platform, userID, status string, periodEnd time.Time) int64 {
	tb.Helper()
	ctx := context.Background()
	now := s.now()
	r, err := s.write.ExecContext(ctx, `INSERT INTO subscriptions (external_id, status, current_period_end, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		platform+":"+userID, status, ms(periodEnd), now, now)
	if err != nil {
		tb.Fatal(err)
	}
	sub, _ := r.LastInsertId()
	r, err = s.write.ExecContext(ctx, `INSERT INTO links (subscription_id, platform, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		sub, platform, userID, now, now)
	if err != nil {
		tb.Fatal(err)
	}
	id, _ := r.LastInsertId()
	return id
}

func dlvExec(tb testing.TB, s *Store, q string, args ...any) {
	tb.Helper()
	if _, err := s.write.Exec(q, args...); err != nil {
		tb.Fatal(err)
	}
}

func dlvCount(tb testing.TB, s *Store, q string, args ...any) int {
	tb.Helper()
	var n int
	if err := s.read.QueryRow(q, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestQueueStory(t *testing.T) {
	ctx := context.Background()
	future := dlvEpoch.Add(30 * 24 * time.Hour)
	tests := []struct {
		name     string
		text     bool
		setup    func(*Store)
		wantDMs  []string // user ids
		wantPost int64
	}{
		{name: "entitled readers on enabled platforms", text: true, setup: func(s *Store) {
			dlvReader(t, s, "telegram", "t1", StatusActive, future)
			dlvReader(t, s, "telegram", "t2", StatusTrialing, future)
			dlvReader(t, s, "discord", "d1", StatusActive, future)
			dlvReader(t, s, "console", "c1", StatusActive, future) // platform not enabled
		}, wantDMs: []string{"t1", "t2", "d1"}, wantPost: 2},
		{name: "lapsed, canceled, paused, unreachable are left out", text: true, setup: func(s *Store) {
			dlvReader(t, s, "telegram", "ok", StatusActive, future)
			dlvReader(t, s, "telegram", "lapsed", StatusActive, dlvEpoch.Add(-time.Minute))
			dlvReader(t, s, "telegram", "canceled", StatusCanceled, future)
			p := dlvReader(t, s, "telegram", "paused", StatusActive, future)
			dlvExec(t, s, `UPDATE links SET paused = 1 WHERE id = ?`, p)
			u := dlvReader(t, s, "telegram", "blocked", StatusActive, future)
			dlvExec(t, s, `UPDATE links SET unreachable_at = 1 WHERE id = ?`, u)
			g := dlvReader(t, s, "telegram", "grace", StatusPastDue, dlvEpoch.Add(-time.Hour))
			dlvExec(t, s, `UPDATE subscriptions SET grace_until = ? WHERE id = (SELECT subscription_id FROM links WHERE id = ?)`, ms(future), g)
		}, wantDMs: []string{"ok", "grace"}, wantPost: 2},
		{name: "no full text: posts only", text: false, setup: func(s *Store) {
			dlvReader(t, s, "telegram", "t1", StatusActive, future)
		}, wantPost: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := dlvOpen(t)
			tc.setup(s)
			st := dlvStory(t, s, "a", dlvEpoch, tc.text)
			posts := []PostTarget{{"telegram", "@news"}, {"discord", "123"}}
			res, err := s.QueueStory(ctx, st.ID, posts, []string{"telegram", "discord"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Posts != tc.wantPost || res.DMs != int64(len(tc.wantDMs)) || res.NoFullText == tc.text {
				t.Fatalf("result %+v, want %d posts, %d DMs", res, tc.wantPost, len(tc.wantDMs))
			}
			rows, err := s.StoryDeliveries(ctx, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, d := range rows {
				if d.Kind == DeliveryDM {
					got[d.Target] = true
					if d.LinkID == 0 {
						t.Errorf("dm %s without link id", d.Target)
					}
				}
				if d.State != DeliveryPending || !d.PublishedAt.Equal(dlvEpoch) {
					t.Errorf("row %+v", d)
				}
			}
			for _, u := range tc.wantDMs {
				if !got[u] {
					t.Errorf("no dm for %s (got %v)", u, got)
				}
			}
			// Queuing again, even after a new reader linked, changes nothing.
			dlvReader(t, s, "telegram", "late", StatusActive, future)
			res2, err := s.QueueStory(ctx, st.ID, posts, []string{"telegram", "discord"})
			if err != nil {
				t.Fatal(err)
			}
			if !res2.AlreadyQueued || res2.Posts != 0 || res2.DMs != 0 {
				t.Fatalf("second queue: %+v", res2)
			}
			if n := dlvCount(t, s, `SELECT COUNT(*) FROM deliveries WHERE story_id = ?`, st.ID); n != len(rows) {
				t.Fatalf("rows after second queue: %d, want %d", n, len(rows))
			}
			if got, _ := s.GetStory(ctx, st.ID); got.QueuedAt.IsZero() {
				t.Fatal("queued_at not set")
			}
		})
	}
	if _, err := dlvOpen(t).QueueStory(ctx, 999, nil, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown story: %v", err)
	}
}

func TestClaimDueOrderPerChannel(t *testing.T) {
	ctx := context.Background()
	s := dlvOpen(t)
	dlvReader(t, s, "telegram", "u1", StatusActive, dlvEpoch.Add(time.Hour))
	// Stories queued out of publication order.
	b := dlvStory(t, s, "b", dlvEpoch.Add(2*time.Minute), true)
	a := dlvStory(t, s, "a", dlvEpoch.Add(1*time.Minute), true)
	c := dlvStory(t, s, "c", dlvEpoch.Add(3*time.Minute), true)
	for _, st := range []Story{b, a, c} {
		if _, err := s.QueueStory(ctx, st.ID, []PostTarget{{"telegram", "@x"}, {"telegram", "@y"}}, []string{"telegram"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ClaimDue(ctx, "telegram", 100)
	if err != nil {
		t.Fatal(err)
	}
	// One post per channel (story a), then the three DMs in publication order.
	want := []string{"post a @x", "post a @y", "dm a u1", "dm b u1", "dm c u1"}
	names := map[int64]string{a.ID: "a", b.ID: "b", c.ID: "c"}
	var gotS []string
	for _, d := range got {
		gotS = append(gotS, d.Kind+" "+names[d.StoryID]+" "+d.Target)
		if d.State != DeliverySending {
			t.Errorf("claimed row state %s", d.State)
		}
	}
	if fmt.Sprint(gotS) != fmt.Sprint(want) {
		t.Fatalf("claimed %v, want %v", gotS, want)
	}
	if more, _ := s.ClaimDue(ctx, "telegram", 100); len(more) != 0 {
		t.Fatalf("claimed again while earlier posts in flight: %d rows", len(more))
	}
	// A retry of a's post to @x holds b's post to @x back, but not @y's.
	if err := s.ScheduleRetry(ctx, got[0].ID, dlvEpoch.Add(time.Minute), "503"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, got[1].ID, []string{"m1"}, ""); err != nil {
		t.Fatal(err)
	}
	next, _ := s.ClaimDue(ctx, "telegram", 100)
	if len(next) != 1 || next[0].Target != "@y" || next[0].StoryID != b.ID {
		t.Fatalf("after retry: %+v", next)
	}
	dlvSetNow(s, dlvEpoch.Add(time.Minute))
	next, _ = s.ClaimDue(ctx, "telegram", 100)
	if len(next) != 1 || next[0].Target != "@x" || next[0].StoryID != a.ID || next[0].Attempts != 1 || next[0].Reason != "503" {
		t.Fatalf("retry due: %+v", next)
	}
	if other, _ := s.ClaimDue(ctx, "discord", 10); len(other) != 0 {
		t.Fatal("claimed another platform's rows")
	}
}

func TestDeliveryTransitions(t *testing.T) {
	ctx := context.Background()
	s := dlvOpen(t)
	link := dlvReader(t, s, "discord", "u1", StatusActive, dlvEpoch.Add(time.Hour))
	st := dlvStory(t, s, "a", dlvEpoch, true)
	if _, err := s.QueueStory(ctx, st.ID, nil, []string{"discord"}); err != nil {
		t.Fatal(err)
	}
	ds, _ := s.ClaimDue(ctx, "discord", 10)
	if len(ds) != 1 {
		t.Fatalf("claimed %d", len(ds))
	}
	d := ds[0]
	if err := s.RecordPartsSent(ctx, d.ID, 2, []string{"p1", "p2"}, "dmchan"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, d.ID, []string{"p3"}, "dmchan"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetDelivery(ctx, d.ID)
	if got.State != DeliverySent || got.PartsSent != 3 || fmt.Sprint(got.MessageIDs) != "[p1 p2 p3]" || got.SentAt.IsZero() {
		t.Fatalf("sent row %+v", got)
	}
	var chat string
	s.read.QueryRow(`SELECT dm_chat FROM links WHERE id = ?`, link).Scan(&chat)
	if chat != "dmchan" {
		t.Fatalf("dm_chat %q", chat)
	}
	for name, op := range map[string]func() error{
		"sent again": func() error { return s.MarkSent(ctx, d.ID, nil, "") },
		"fail":       func() error { return s.MarkFailed(ctx, d.ID, "x") },
		"skip":       func() error { return s.MarkSkipped(ctx, d.ID, "x") },
		"retry":      func() error { return s.ScheduleRetry(ctx, d.ID, dlvEpoch, "x") },
	} {
		if err := op(); !errors.Is(err, ErrConflict) {
			t.Errorf("%s on a final row: %v, want ErrConflict", name, err)
		}
	}
}

func TestRecoverInFlight(t *testing.T) {
	ctx := context.Background()
	s := dlvOpen(t)
	for i := 0; i < 3; i++ {
		dlvReader(t, s, "telegram", fmt.Sprint("u", i), StatusActive, dlvEpoch.Add(time.Hour))
	}
	dlvReader(t, s, "discord", "d", StatusActive, dlvEpoch.Add(time.Hour))
	st := dlvStory(t, s, "a", dlvEpoch, true)
	if _, err := s.QueueStory(ctx, st.ID, nil, []string{"telegram", "discord"}); err != nil {
		t.Fatal(err)
	}
	ds, _ := s.ClaimDue(ctx, "telegram", 2)
	dd, _ := s.ClaimDue(ctx, "discord", 1)
	// Graceful release does not count as a recovery.
	if err := s.ReleaseClaimed(ctx, ds[1].ID); err != nil {
		t.Fatal(err)
	}
	req, failed, err := s.RecoverInFlight(ctx, "telegram")
	if err != nil || req != 1 || failed != 0 {
		t.Fatalf("first recovery: %d %d %v", req, failed, err)
	}
	if got, _ := s.GetDelivery(ctx, dd[0].ID); got.State != DeliverySending {
		t.Fatalf("recovery touched another platform: %s", got.State)
	}
	if got, _ := s.GetDelivery(ctx, ds[1].ID); got.Recoveries != 0 || got.State != DeliveryPending {
		t.Fatalf("released row %+v", got)
	}
	// Crash again with everything in flight: the recovered row fails, the others are requeued.
	all, _ := s.ClaimDue(ctx, "telegram", 10)
	if len(all) != 3 {
		t.Fatalf("claimed %d", len(all))
	}
	req, failed, err = s.RecoverInFlight(ctx, "telegram")
	if err != nil || req != 2 || failed != 1 {
		t.Fatalf("second recovery: %d %d %v", req, failed, err)
	}
	got, _ := s.GetDelivery(ctx, ds[0].ID)
	if got.State != DeliveryFailed || got.Reason != ReasonInterruptedTwice {
		t.Fatalf("twice interrupted row %+v", got)
	}
}

func TestCheckDMDelivery(t *testing.T) {
	ctx := context.Background()
	future := dlvEpoch.Add(time.Hour)
	tests := []struct {
		name  string
		after func(s *Store, link int64)
		want  string
	}{
		{"still entitled", func(*Store, int64) {}, ""},
		{"lapsed", func(s *Store, _ int64) { dlvSetNow(s, future.Add(time.Second)) }, SkipNotEntitled + " (subscription active)"},
		{"canceled", func(s *Store, _ int64) { dlvExec(t, s, `UPDATE subscriptions SET status = 'canceled'`) }, SkipNotEntitled + " (subscription canceled)"},
		{"paused", func(s *Store, l int64) { dlvExec(t, s, `UPDATE links SET paused = 1 WHERE id = ?`, l) }, SkipPaused},
		{"unreachable", func(s *Store, l int64) { s.MarkRecipientUnreachable(ctx, l, "blocked") }, SkipUnreachable},
		{"unlinked", func(s *Store, l int64) { dlvExec(t, s, `DELETE FROM links WHERE id = ?`, l) }, SkipUnlinked},
		{"link moved to another account", func(s *Store, l int64) { dlvExec(t, s, `UPDATE links SET user_id = 'other' WHERE id = ?`, l) }, SkipUnlinked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := dlvOpen(t)
			link := dlvReader(t, s, "telegram", "u1", StatusActive, future)
			st := dlvStory(t, s, "a", dlvEpoch, true)
			if _, err := s.QueueStory(ctx, st.ID, nil, []string{"telegram"}); err != nil {
				t.Fatal(err)
			}
			tc.after(s, link)
			ds, _ := s.ClaimDue(ctx, "telegram", 1)
			if len(ds) != 1 {
				t.Fatalf("claimed %d", len(ds))
			}
			target, reason, err := s.CheckDMDelivery(ctx, ds[0])
			if err != nil {
				t.Fatal(err)
			}
			if reason != tc.want {
				t.Fatalf("reason %q, want %q", reason, tc.want)
			}
			if reason == "" && (target.UserID != "u1" || target.LinkID != link) {
				t.Fatalf("target %+v", target)
			}
		})
	}
}

func TestChannels(t *testing.T) {
	ctx := context.Background()
	s := dlvOpen(t)
	if err := s.EnsureChannel(ctx, "telegram", "@news"); err != nil {
		t.Fatal(err)
	}
	c, err := s.GetChannel(ctx, "telegram", "@news")
	if err != nil || c.ChatID != "@news" || !c.UnreachableAt.IsZero() {
		t.Fatalf("%+v %v", c, err)
	}
	if err := s.SetChannelChatID(ctx, "telegram", "@news", "-10042"); err != nil {
		t.Fatal(err)
	}
	s.EnsureChannel(ctx, "telegram", "@news") // keeps the migrated id
	if c, _ = s.GetChannel(ctx, "telegram", "@news"); c.ChatID != "-10042" {
		t.Fatalf("chat id %q after migration", c.ChatID)
	}
	if err := s.MarkChannelUnreachable(ctx, "telegram", "@news", "bot removed"); err != nil {
		t.Fatal(err)
	}
	if c, _ = s.GetChannel(ctx, "telegram", "@news"); c.UnreachableAt.IsZero() || c.UnreachableReason != "bot removed" {
		t.Fatalf("%+v", c)
	}
	if err := s.ClearChannelUnreachable(ctx, "telegram", "@news"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetChannel(ctx, "discord", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing channel: %v", err)
	}
	all, _ := s.ListChannels(ctx)
	if len(all) != 1 || !all[0].UnreachableAt.IsZero() {
		t.Fatalf("%+v", all)
	}
}

func TestDeliveryBacklog(t *testing.T) {
	ctx := context.Background()
	s := dlvOpen(t)
	dlvReader(t, s, "telegram", "u1", StatusActive, dlvEpoch.Add(time.Hour))
	st := dlvStory(t, s, "a", dlvEpoch, true)
	s.QueueStory(ctx, st.ID, []PostTarget{{"telegram", "@x"}}, []string{"telegram"})
	dlvSetNow(s, dlvEpoch.Add(90*time.Second))
	depth, oldest, err := s.DeliveryBacklog(ctx, "telegram")
	if err != nil || depth != 2 || oldest != 90*time.Second {
		t.Fatalf("%d %s %v", depth, oldest, err)
	}
}

// dlvLinkedReaders inserts n entitled, linked readers on platform in one transaction.
func dlvLinkedReaders(tb testing.TB, s *Store, platform string, n int) {
	tb.Helper()
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		now := s.now()
		end := ms(s.Now().Add(365 * 24 * time.Hour))
		for i := 0; i < n; i++ {
			r, err := tx.Exec(`INSERT INTO subscriptions (external_id, status, current_period_end, created_at, updated_at) VALUES (?, 'active', ?, ?, ?)`,
				fmt.Sprintf("%s-%d", platform, i), end, now, now)
			if err != nil {
				return err
			}
			sub, _ := r.LastInsertId()
			if _, err := tx.Exec(`INSERT INTO links (subscription_id, platform, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				sub, platform, fmt.Sprint(1000000+i), now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkQueueStory100k queues one story for 100,000 linked, entitled readers per op (target < 2 s).
func BenchmarkQueueStory100k(b *testing.B) {
	ctx := context.Background()
	s := dlvOpen(b)
	dlvLinkedReaders(b, s, "telegram", 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := dlvStory(b, s, fmt.Sprint("bench-", i), dlvEpoch, true)
		b.StartTimer()
		res, err := s.QueueStory(ctx, st.ID, []PostTarget{{"telegram", "@news"}}, []string{"telegram"})
		if err != nil {
			b.Fatal(err)
		}
		if res.DMs != 100_000 {
			b.Fatalf("queued %d DMs", res.DMs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/queue")
}
