package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustSub(t testing.TB, s *Store, extID string, status string, end time.Time) Subscription {
	t.Helper()
	sub, _, err := s.UpsertSubscription(context.Background(), Subscription{ExternalID: extID, Status: status, CurrentPeriodEnd: end, Plan: "monthly"})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func mustMint(t testing.TB, s *Store, subID int64, platform string) string {
	t.Helper()
	code, _, err := s.MintLinkCode(context.Background(), subID, platform, 0)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestNormalizeLinkCode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ABCDE-FGHJK", "ABCDEFGHJK", true},
		{"abcde fghjk", "ABCDEFGHJK", true},
		{" a-b-c-d-e-f-g-h-j-k ", "ABCDEFGHJK", true},
		{"OoIiLl0123", "0011110123", true},               // O→0, I/L→1
		{"ABCDE\u2013FGHJK", "ABCDEFGHJK", true},         // en dash from a phone keyboard
		{"ABCDE\u2014FGHJK", "ABCDEFGHJK", true},         // em dash
		{"ABCDE\u2212FGHJK", "ABCDEFGHJK", true},         // minus sign
		{"ABCDE\u00a0FGHJK", "ABCDEFGHJK", true},         // no-break space
		{"\u201cABCDE-FGHJK\u201d.", "ABCDEFGHJK", true}, // pasted with quotes and a full stop
		{"<ABCDE-FGHJK>", "ABCDEFGHJK", true},
		{"ABC.DE-FGHJK", "", false}, // punctuation inside stays an error
		{"ABCDE-FGHJU", "", false},  // U is not Crockford
		{"ABCDE-FGHJ", "", false},   // too short
		{"ABCDE-FGHJKM", "", false}, // too long
		{"ABCDE_FGHJK", "", false},
		{"ÄBCDE-FGHJK", "", false},
		{"", "", false},
		{strings.Repeat("-", 100) + "ABCDEFGHJK", "", false},
	}
	for _, tc := range tests {
		got, ok := NormalizeLinkCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeLinkCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if FormatLinkCode("abcdefghjk") != "ABCDE-FGHJK" {
		t.Errorf("format: %q", FormatLinkCode("abcdefghjk"))
	}
}

func TestMintLinkCode(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	sub := mustSub(t, s, "cus_1", "active", clock.Now().Add(time.Hour))
	seen := map[string]bool{}
	for range 200 {
		code, exp, err := s.MintLinkCode(ctx, sub.ID, "telegram", 0)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := NormalizeLinkCode(code)
		if !ok || n != code || len(code) != LinkCodeLen {
			t.Fatalf("minted %q is not a normalized code", code)
		}
		for _, r := range code { // a Telegram deep-link payload
			if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				t.Fatalf("code %q has %q", code, r)
			}
		}
		if seen[code] {
			t.Fatalf("code %q minted twice", code)
		}
		seen[code] = true
		if !exp.Equal(clock.Now().Add(DefaultLinkCodeTTL)) {
			t.Fatalf("expires %v", exp)
		}
	}
	// Only the hash is stored.
	var hashes []string
	rows, err := s.read.Query(`SELECT code_hash FROM link_codes`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h string
		rows.Scan(&h)
		hashes = append(hashes, h)
	}
	rows.Close()
	for code := range seen {
		for _, h := range hashes {
			if strings.Contains(strings.ToUpper(h), code) {
				t.Fatalf("code stored in clear")
			}
		}
	}
	// Each mint revoked the previous: one live code remains.
	var live int
	s.read.QueryRow(`SELECT COUNT(*) FROM link_codes WHERE revoked_at = 0 AND used_at = 0`).Scan(&live)
	if live != 1 {
		t.Fatalf("%d live codes, want 1", live)
	}
	if _, _, err := s.MintLinkCode(ctx, 9999, "telegram", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown subscription: %v", err)
	}
	if _, _, err := s.MintLinkCode(ctx, sub.ID, "myspace", 0); err == nil {
		t.Fatal("unknown platform accepted")
	}
	if _, _, err := s.MintLinkCode(ctx, sub.ID, "", MaxLinkCodeTTL+time.Second); err == nil {
		t.Fatal("overlong ttl accepted")
	}
}

func TestRedeemLinkCode(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	sub := mustSub(t, s, "cus_1", "active", clock.Now().Add(time.Hour))

	t.Run("typed form links", func(t *testing.T) {
		code := mustMint(t, s, sub.ID, "telegram")
		typed := strings.ToLower(FormatLinkCode(code))
		l, moved, err := s.RedeemLinkCode(ctx, "telegram", "u1", typed)
		if err != nil || moved != nil || l.SubscriptionID != sub.ID || l.UserID != "u1" {
			t.Fatalf("%+v %v %v", l, moved, err)
		}
		gl, gs, err := s.LinkFor(ctx, "telegram", "u1")
		if err != nil || gl.ID != l.ID || gs.ExternalID != "cus_1" || !gs.EntitledAt(clock.Now()) {
			t.Fatalf("LinkFor: %+v %+v %v", gl, gs, err)
		}
	})
	t.Run("used code fails", func(t *testing.T) {
		code := mustMint(t, s, sub.ID, "telegram")
		if _, _, err := s.RedeemLinkCode(ctx, "telegram", "u2", code); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.RedeemLinkCode(ctx, "telegram", "u3", code); !errors.Is(err, ErrCodeInvalid) {
			t.Fatalf("reuse: %v", err)
		}
	})
	t.Run("expired code fails", func(t *testing.T) {
		code, _, err := s.MintLinkCode(ctx, sub.ID, "telegram", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Minute)
		if _, _, err := s.RedeemLinkCode(ctx, "telegram", "u4", code); !errors.Is(err, ErrCodeInvalid) {
			t.Fatalf("expired: %v", err)
		}
	})
	t.Run("revoked by a newer code", func(t *testing.T) {
		old := mustMint(t, s, sub.ID, "discord")
		newer := mustMint(t, s, sub.ID, "discord")
		if _, _, err := s.RedeemLinkCode(ctx, "discord", "d5", old); !errors.Is(err, ErrCodeInvalid) {
			t.Fatalf("old code: %v", err)
		}
		if _, _, err := s.RedeemLinkCode(ctx, "discord", "d5", newer); err != nil {
			t.Fatalf("newer code: %v", err)
		}
	})
	t.Run("revoked explicitly", func(t *testing.T) {
		code := mustMint(t, s, sub.ID, "telegram")
		if err := s.RevokeLinkCode(ctx, FormatLinkCode(code)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.RedeemLinkCode(ctx, "telegram", "u6", code); !errors.Is(err, ErrCodeInvalid) {
			t.Fatalf("revoked: %v", err)
		}
	})
	t.Run("wrong platform fails", func(t *testing.T) {
		code := mustMint(t, s, sub.ID, "telegram")
		if _, _, err := s.RedeemLinkCode(ctx, "discord", "d7", code); !errors.Is(err, ErrCodeInvalid) {
			t.Fatalf("wrong platform: %v", err)
		}
		any := mustMint(t, s, sub.ID, "")
		if _, _, err := s.RedeemLinkCode(ctx, "discord", "d7", any); err != nil {
			t.Fatalf("any-platform code: %v", err)
		}
	})
	t.Run("error never carries the code", func(t *testing.T) {
		code := mustMint(t, s, sub.ID, "telegram")
		wrong := code[:9] + "X"
		if code[9] == 'X' { // one code in 32 ends in X
			wrong = code[:9] + "Y"
		}
		_, _, err := s.RedeemLinkCode(ctx, "telegram", "u8", wrong)
		if err == nil || strings.Contains(err.Error(), code[:9]) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestRedeemLockout(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	sub := mustSub(t, s, "cus_1", "active", clock.Now().Add(24*time.Hour))
	code, _, err := s.MintLinkCode(ctx, sub.ID, "telegram", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	var invalid, locked int
	for i := range 1000 {
		guess := fmt.Sprintf("%010d", i)
		if i == 500 {
			guess = code // the right code, once locked out, must not be found either
		}
		_, _, err := s.RedeemLinkCode(ctx, "telegram", "attacker", guess)
		var le *LockedOutError
		switch {
		case errors.Is(err, ErrCodeInvalid):
			invalid++
		case errors.As(err, &le):
			locked++
			if !le.Until.Equal(start.Add(15 * time.Minute)) {
				t.Fatalf("until %v", le.Until)
			}
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if invalid != 5 || locked != 995 {
		t.Fatalf("%d invalid, %d locked; want 5 and 995", invalid, locked)
	}
	if _, _, err := s.LinkFor(ctx, "telegram", "attacker"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("attacker linked: %v", err)
	}
	// Lockout is per account: another reader can still use the code.
	if _, _, err := s.RedeemLinkCode(ctx, "telegram", "reader", code); err != nil {
		t.Fatalf("other reader: %v", err)
	}
	// After the window the attacker may try again (and fails on the used code).
	clock.Add(15 * time.Minute)
	if _, _, err := s.RedeemLinkCode(ctx, "telegram", "attacker", code); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("after window: %v", err)
	}

	// A configured policy: 2 attempts per minute.
	pol := LinkPolicy{MaxAttempts: 2, Window: time.Minute}
	for i := range 2 {
		if _, _, err := s.RedeemLinkCodeWithPolicy(ctx, pol, "discord", "x", "0000000000"); !errors.Is(err, ErrCodeInvalid) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		clock.Add(10 * time.Second)
	}
	var le *LockedOutError
	if _, _, err := s.RedeemLinkCodeWithPolicy(ctx, pol, "discord", "x", "0000000000"); !errors.As(err, &le) {
		t.Fatalf("third: %v", err)
	}
	clock.Add(41 * time.Second) // the first attempt left the window
	if _, _, err := s.RedeemLinkCodeWithPolicy(ctx, pol, "discord", "x", "0000000000"); !errors.Is(err, ErrCodeInvalid) {
		t.Fatalf("after first left the window: %v", err)
	}
}

func TestConcurrentRedeem(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	sub := mustSub(t, s, "cus_1", "active", clock.Now().Add(time.Hour))
	for round := range 20 {
		code := mustMint(t, s, sub.ID, "telegram")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = s.RedeemLinkCode(ctx, "telegram", fmt.Sprintf("r%d-u%d", round, i), code)
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrCodeInvalid):
				t.Fatal(err)
			}
		}
		links, err := s.LinksForSubscription(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if wins != 1 || len(links) != 1 {
			t.Fatalf("round %d: %d winners, %d links", round, wins, len(links))
		}
	}
}

func TestRelinkMovesAndRepoints(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	a := mustSub(t, s, "cus_a", "active", clock.Now().Add(time.Hour))
	b := mustSub(t, s, "cus_b", "active", clock.Now().Add(time.Hour))

	if _, _, err := s.RedeemLinkCode(ctx, "telegram", "alice", mustMint(t, s, a.ID, "telegram")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RedeemLinkCode(ctx, "discord", "alice-d", mustMint(t, s, a.ID, "discord")); err != nil {
		t.Fatal(err)
	}
	// bob links subscription a on telegram: the link moves, alice is returned to be told.
	l, moved, err := s.RedeemLinkCode(ctx, "telegram", "bob", mustMint(t, s, a.ID, "telegram"))
	if err != nil || moved == nil || moved.UserID != "alice" || l.UserID != "bob" {
		t.Fatalf("move: %+v %+v %v", l, moved, err)
	}
	if _, _, err := s.LinkFor(ctx, "telegram", "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("alice still linked: %v", err)
	}
	links, _ := s.LinksForSubscription(ctx, a.ID)
	if len(links) != 2 { // bob on telegram, alice-d on discord: other platforms are untouched
		t.Fatalf("links %+v", links)
	}
	// bob redeems a code of subscription b: his account is re-pointed, not duplicated.
	if _, err := s.SetPaused(ctx, "telegram", "bob", true); err != nil {
		t.Fatal(err)
	}
	l2, moved, err := s.RedeemLinkCode(ctx, "telegram", "bob", mustMint(t, s, b.ID, "telegram"))
	if err != nil || moved != nil || l2.ID != l.ID || l2.SubscriptionID != b.ID || !l2.Paused {
		t.Fatalf("repoint: %+v %+v %v", l2, moved, err)
	}
	if links, _ := s.LinksForSubscription(ctx, a.ID); len(links) != 1 || links[0].Platform != "discord" {
		t.Fatalf("a keeps %+v", links)
	}
	// Redeeming again for the same subscription keeps the one link.
	l3, moved, err := s.RedeemLinkCode(ctx, "telegram", "bob", mustMint(t, s, b.ID, "telegram"))
	if err != nil || moved != nil || l3.ID != l.ID {
		t.Fatalf("same again: %+v %+v %v", l3, moved, err)
	}
}

func TestLinkStateChanges(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	sub := mustSub(t, s, "cus_1", "active", clock.Now().Add(time.Hour))
	if _, _, err := s.RedeemLinkCode(ctx, "discord", "u1", mustMint(t, s, sub.ID, "discord")); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkLinkUnreachable(ctx, "discord", "u1", "50007 cannot send messages to this user"); err != nil {
		t.Fatal(err)
	}
	l, _, _ := s.LinkFor(ctx, "discord", "u1")
	if l.Reachable() || l.UnreachableReason == "" {
		t.Fatalf("unreachable not recorded: %+v", l)
	}
	if err := s.MarkLinkReachable(ctx, "discord", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLinkDMChat(ctx, "discord", "u1", "dm-42"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.SetPaused(ctx, "discord", "u1", true); err != nil || !l.Paused {
		t.Fatalf("pause %+v %v", l, err)
	}
	l, _, _ = s.LinkFor(ctx, "discord", "u1")
	if !l.Reachable() || l.DMChat != "dm-42" || !l.Paused {
		t.Fatalf("%+v", l)
	}
	for name, err := range map[string]error{
		"pause":       func() error { _, err := s.SetPaused(ctx, "discord", "ghost", true); return err }(),
		"unreachable": s.MarkLinkUnreachable(ctx, "discord", "ghost", "x"),
		"reachable":   s.MarkLinkReachable(ctx, "discord", "ghost"),
		"dm chat":     s.SetLinkDMChat(ctx, "discord", "ghost", "x"),
		"unlink":      func() error { _, err := s.Unlink(ctx, "discord", "ghost"); return err }(),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s on unlinked account: %v", name, err)
		}
	}
}

func TestUnlinkSkipsPendingDMs(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	sub := mustSub(t, s, "cus_1", "active", clock.Now().Add(time.Hour))
	l, _, err := s.RedeemLinkCode(ctx, "telegram", "u1", mustMint(t, s, sub.ID, "telegram"))
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := s.UpsertStory(ctx, Story{Origin: "cli", GUID: "g1", Title: "T", Body: BodyFromText("Some text.")})
	if err != nil {
		t.Fatal(err)
	}
	now := ms(clock.Now())
	if _, err := s.write.Exec(`INSERT INTO deliveries (story_id, kind, platform, target, link_id, created_at, updated_at) VALUES (?, 'dm', 'telegram', 'u1', ?, ?, ?)`,
		st.ID, l.ID, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlink(ctx, "telegram", "u1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LinkFor(ctx, "telegram", "u1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("still linked: %v", err)
	}
	var state, reason string
	s.read.QueryRow(`SELECT state, reason FROM deliveries WHERE target = 'u1'`).Scan(&state, &reason)
	if state != "skipped" || reason != "unlinked" {
		t.Fatalf("pending DM after unlink: %s %q", state, reason)
	}

	// A link moved to another account: the old account's pending DM is skipped, others' are not.
	l2, _, err := s.RedeemLinkCode(ctx, "telegram", "u2", mustMint(t, s, sub.ID, "telegram"))
	if err != nil {
		t.Fatal(err)
	}
	other := mustSub(t, s, "cus_2", "active", clock.Now().Add(time.Hour))
	l3, _, err := s.RedeemLinkCode(ctx, "telegram", "u3", mustMint(t, s, other.ID, "telegram"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []Link{l2, l3} {
		if _, err := s.write.Exec(`INSERT INTO deliveries (story_id, kind, platform, target, link_id, created_at, updated_at) VALUES (?, 'dm', 'telegram', ?, ?, ?, ?)`,
			st.ID, l.UserID, l.ID, now, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, moved, err := s.RedeemLinkCode(ctx, "telegram", "u4", mustMint(t, s, sub.ID, "telegram")); err != nil || moved == nil || moved.UserID != "u2" {
		t.Fatalf("move: %+v %v", moved, err)
	}
	for target, want := range map[string]string{"u2": "skipped", "u3": "pending"} {
		var state string
		s.read.QueryRow(`SELECT state FROM deliveries WHERE target = ?`, target).Scan(&state)
		if state != want {
			t.Errorf("%s: DM %s, want %s", target, state, want)
		}
	}
}

// seedSubscriptions fills n subscriptions, each linked on telegram as user "tg<i>", in one import.
func seedSubscriptions(b testing.TB, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	if _, err := s.ImportSubscriptionsCSV(ctx, strings.NewReader(string(genCSV(n, 0))), nil); err != nil {
		b.Fatal(err)
	}
	now := s.now()
	if _, err := s.write.ExecContext(ctx, `INSERT INTO links (subscription_id, platform, user_id, created_at, updated_at)
		SELECT id, 'telegram', 'tg' || id, ?, ? FROM subscriptions`, now, now); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEntitlementLookup is the check made for one chat user before any full text leaves:
// LinkFor plus EntitledAt, with 100,000 linked subscriptions.
func BenchmarkEntitlementLookup(b *testing.B) {
	ctx := context.Background()
	s, clock := subTestStore(b)
	seedSubscriptions(b, s, 100_000)
	now := clock.Now()
	i := 0
	for b.Loop() {
		i++
		_, sub, err := s.LinkFor(ctx, "telegram", fmt.Sprintf("tg%d", 1+i%100_000))
		if err != nil {
			b.Fatal(err)
		}
		_ = sub.EntitledAt(now)
	}
}

// BenchmarkRedeemAndEntitlement mints (untimed), redeems a code and checks entitlement, with 100,000
// linked subscriptions; each redeem moves a link, the most expensive path.
func BenchmarkRedeemAndEntitlement(b *testing.B) {
	ctx := context.Background()
	s, clock := subTestStore(b)
	seedSubscriptions(b, s, 100_000)
	now := clock.Now()
	i := 0
	for b.Loop() {
		i++
		subID := int64(1 + i%100_000)
		b.StopTimer()
		code, _, err := s.MintLinkCode(ctx, subID, "telegram", 0)
		if err != nil {
			b.Fatal(err)
		}
		user := fmt.Sprintf("new%d", i)
		b.StartTimer()
		if _, _, err := s.RedeemLinkCode(ctx, "telegram", user, FormatLinkCode(code)); err != nil {
			b.Fatal(err)
		}
		_, sub, err := s.LinkFor(ctx, "telegram", user)
		if err != nil || sub.ID != subID {
			b.Fatal(err)
		}
		_ = sub.EntitledAt(now)
	}
}
