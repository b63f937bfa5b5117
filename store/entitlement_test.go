package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// testClock is a clock tests move while other goroutines read it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// subTestStore opens a fresh database for the subscription and linking tests, with a movable clock.
func subTestStore(t testing.TB) (*Store, *testClock) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "subs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.Now = c.Now
	return s, c
}

// rel places a date relative to now for the entitlement table.
type rel int

const (
	relNone   rel = iota // zero time: not set
	relPast              // an hour ago
	relNow               // exactly now: a period ending now has ended
	relFuture            // in an hour
)

func (r rel) String() string { return [...]string{"none", "past", "now", "future"}[r] }

func (r rel) at(now time.Time) time.Time {
	switch r {
	case relPast:
		return now.Add(-time.Hour)
	case relNow:
		return now
	case relFuture:
		return now.Add(time.Hour)
	}
	return time.Time{}
}

// entitlementCases is every status × period end × grace combination with the expected answer,
// stated per status as the issue does: active/trialing need a future period end; past_due needs
// a future grace end; canceled and expired never, whatever their dates say.
func entitlementCases() []struct {
	status        string
	period, grace rel
	want          bool
} {
	type c = struct {
		status        string
		period, grace rel
		want          bool
	}
	var out []c
	for _, status := range Statuses() {
		for p := relNone; p <= relFuture; p++ {
			for g := relNone; g <= relFuture; g++ {
				var want bool
				switch status {
				case "active", "trialing":
					want = p == relFuture
				case "past_due":
					want = g == relFuture
				case "canceled", "expired":
					want = false
				}
				out = append(out, c{status, p, g, want})
			}
		}
	}
	return out
}

func TestEntitledTable(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := entitlementCases()
	if len(cases) != 5*4*4 {
		t.Fatalf("table has %d cases, want 80", len(cases))
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%s/period=%s/grace=%s", tc.status, tc.period, tc.grace)
		t.Run(name, func(t *testing.T) {
			got := Entitled(tc.status, tc.period.at(now), tc.grace.at(now), now)
			if got != tc.want {
				t.Fatalf("Entitled = %v, want %v", got, tc.want)
			}
			sub := Subscription{Status: tc.status, CurrentPeriodEnd: tc.period.at(now), GraceUntil: tc.grace.at(now)}
			if sub.EntitledAt(now) != tc.want {
				t.Fatalf("EntitledAt = %v, want %v", sub.EntitledAt(now), tc.want)
			}
			// EntitledUntil must agree: entitled exactly when it lies in the future.
			if until := sub.EntitledUntil(); until.After(now) != tc.want {
				t.Fatalf("EntitledUntil = %v, entitled %v", until, tc.want)
			}
		})
	}
	for _, bogus := range []string{"", "ACTIVE", "paused", "unknown"} {
		if Entitled(bogus, now.Add(time.Hour), now.Add(time.Hour), now) {
			t.Errorf("status %q entitled", bogus)
		}
	}
}

// TestEntitledSQLMatches stores every combination and checks that the SQL condition selects exactly
// the rows Entitled accepts, so queueing and sending never disagree.
func TestEntitledSQLMatches(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	now := clock.Now()
	var want []string
	for i, tc := range entitlementCases() {
		id := fmt.Sprintf("c%03d", i)
		// Direct insert: Validate would refuse some combinations (active without a period end) that old data may hold.
		if _, err := s.write.ExecContext(ctx, `INSERT INTO subscriptions (external_id, status, current_period_end, grace_until, created_at, updated_at)
			VALUES (?, ?, ?, ?, 0, 0)`, id, tc.status, ms(tc.period.at(now)), ms(tc.grace.at(now))); err != nil {
			t.Fatal(err)
		}
		if Entitled(tc.status, tc.period.at(now), tc.grace.at(now), now) {
			want = append(want, id)
		}
	}
	rows, err := s.read.QueryContext(ctx, `SELECT external_id FROM subscriptions x WHERE `+entitledSQL("x.")+` ORDER BY external_id`, ms(now), ms(now))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("entitledSQL selects %v\nEntitled accepts %v", got, want)
	}
	if len(want) == 0 {
		t.Fatal("no entitled combination: the table is wrong")
	}
	// ListSubscriptions' entitled filter is built on the same condition.
	yes, no := true, false
	ent, err := s.ListSubscriptions(ctx, SubscriptionFilter{Entitled: &yes, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	not, err := s.ListSubscriptions(ctx, SubscriptionFilter{Entitled: &no, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(ent) != len(want) || len(ent)+len(not) != 80 {
		t.Fatalf("filter: %d entitled + %d not, want %d of 80", len(ent), len(not), len(want))
	}
	for _, sub := range ent {
		if !sub.EntitledAt(now) {
			t.Errorf("%s listed as entitled but EntitledAt is false", sub.ExternalID)
		}
	}
}
