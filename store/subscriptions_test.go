package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUpsertSubscription(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	end := clock.Now().Add(30 * 24 * time.Hour)
	sub := Subscription{ExternalID: " cus_1 ", Email: "a@example.com", Plan: "monthly", Status: "Active", CurrentPeriodEnd: end}

	got, ch, err := s.UpsertSubscription(ctx, sub)
	if err != nil || ch != SubscriptionCreated {
		t.Fatalf("first upsert: %v %v", ch, err)
	}
	if got.ID == 0 || got.ExternalID != "cus_1" || got.Status != StatusActive || !got.CurrentPeriodEnd.Equal(end) {
		t.Fatalf("stored %+v", got)
	}
	if _, ch, err = s.UpsertSubscription(ctx, sub); err != nil || ch != SubscriptionUnchanged {
		t.Fatalf("same again: %v %v", ch, err)
	}
	clock.Add(time.Minute)
	sub.Status = StatusPastDue
	sub.GraceUntil = clock.Now().Add(72 * time.Hour)
	upd, ch, err := s.UpsertSubscription(ctx, sub)
	if err != nil || ch != SubscriptionUpdated || upd.ID != got.ID || upd.Status != StatusPastDue {
		t.Fatalf("update: %+v %v %v", upd, ch, err)
	}
	back, err := s.GetSubscription(ctx, "cus_1")
	if err != nil {
		t.Fatal(err)
	}
	if back.Status != StatusPastDue || !back.GraceUntil.Equal(sub.GraceUntil) || !back.UpdatedAt.Equal(clock.Now()) || !back.CreatedAt.Before(back.UpdatedAt) {
		t.Fatalf("read back %+v", back)
	}
	byID, err := s.GetSubscriptionByID(ctx, got.ID)
	if err != nil || byID.ExternalID != "cus_1" {
		t.Fatalf("by id: %+v %v", byID, err)
	}
	if _, err := s.GetSubscription(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := s.GetSubscriptionByID(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing id: %v", err)
	}
}

func TestSubscriptionValidation(t *testing.T) {
	end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'x'
	}
	tests := []struct {
		name  string
		sub   Subscription
		field string // "" = valid
	}{
		{"ok", Subscription{ExternalID: "a", Status: "active", CurrentPeriodEnd: end}, ""},
		{"ok canceled without dates", Subscription{ExternalID: "a", Status: "canceled"}, ""},
		{"ok past_due without grace", Subscription{ExternalID: "a", Status: "past_due"}, ""},
		{"no id", Subscription{Status: "active", CurrentPeriodEnd: end}, "external_id"},
		{"blank id", Subscription{ExternalID: "  ", Status: "active", CurrentPeriodEnd: end}, "external_id"},
		{"long id", Subscription{ExternalID: string(long), Status: "active", CurrentPeriodEnd: end}, "external_id"},
		{"control in id", Subscription{ExternalID: "a\x00b", Status: "active", CurrentPeriodEnd: end}, "external_id"},
		{"bad email", Subscription{ExternalID: "a", Email: "nope", Status: "active", CurrentPeriodEnd: end}, "email"},
		{"no status", Subscription{ExternalID: "a"}, "status"},
		{"bad status", Subscription{ExternalID: "a", Status: "paid"}, "status"},
		{"active without end", Subscription{ExternalID: "a", Status: "active"}, "current_period_end"},
		{"trialing without end", Subscription{ExternalID: "a", Status: "trialing"}, "current_period_end"},
		{"long plan", Subscription{ExternalID: "a", Plan: string(long), Status: "canceled"}, "plan"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sub.Validate()
			var fe *FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.field != "" && !errors.As(err, &fe):
				t.Fatalf("error %v, want a FieldError for %s", err, tc.field)
			case tc.field != "" && fe.Field != tc.field:
				t.Fatalf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
}

func TestListAndSetSubscriptions(t *testing.T) {
	ctx := context.Background()
	s, clock := subTestStore(t)
	now := clock.Now()
	for _, sub := range []Subscription{
		{ExternalID: "a1", Email: "ann@example.com", Status: "active", CurrentPeriodEnd: now.Add(time.Hour)},
		{ExternalID: "b2", Email: "bob@example.com", Status: "canceled"},
		{ExternalID: "c3", Email: "cat@example.org", Status: "active", CurrentPeriodEnd: now.Add(-time.Hour)},
		{ExternalID: "d4_x", Email: "dan@example.org", Status: "past_due", GraceUntil: now.Add(time.Hour)},
	} {
		if _, _, err := s.UpsertSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(subs []Subscription) (out []string) {
		for _, s := range subs {
			out = append(out, s.ExternalID)
		}
		return out
	}
	yes := true
	tests := []struct {
		f    SubscriptionFilter
		want string
	}{
		{SubscriptionFilter{}, "[a1 b2 c3 d4_x]"},
		{SubscriptionFilter{Status: "active"}, "[a1 c3]"},
		{SubscriptionFilter{Entitled: &yes}, "[a1 d4_x]"},
		{SubscriptionFilter{Search: "example.org"}, "[c3 d4_x]"},
		{SubscriptionFilter{Search: "_"}, "[d4_x]"}, // LIKE wildcards are literal
		{SubscriptionFilter{Limit: 2}, "[a1 b2]"},
	}
	for _, tc := range tests {
		got, err := s.ListSubscriptions(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if g := fmtList(ids(got)); g != tc.want {
			t.Errorf("%+v: got %s want %s", tc.f, g, tc.want)
		}
	}
	page, _ := s.ListSubscriptions(ctx, SubscriptionFilter{Limit: 2})
	rest, _ := s.ListSubscriptions(ctx, SubscriptionFilter{AfterID: page[1].ID})
	if fmtList(ids(rest)) != "[c3 d4_x]" {
		t.Errorf("second page %v", ids(rest))
	}

	// set: renew c3 and clear d4's grace.
	end := now.Add(30 * 24 * time.Hour)
	got, err := s.SetSubscription(ctx, "c3", SubscriptionPatch{CurrentPeriodEnd: &end})
	if err != nil || !got.EntitledAt(now) || got.Email != "cat@example.org" {
		t.Fatalf("renew: %+v %v", got, err)
	}
	zero := time.Time{}
	got, err = s.SetSubscription(ctx, "d4_x", SubscriptionPatch{GraceUntil: &zero})
	if err != nil || got.EntitledAt(now) {
		t.Fatalf("clear grace: %+v %v", got, err)
	}
	bad := "paid"
	var fe *FieldError
	if _, err := s.SetSubscription(ctx, "a1", SubscriptionPatch{Status: &bad}); !errors.As(err, &fe) || fe.Field != "status" {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := s.SetSubscription(ctx, "zz", SubscriptionPatch{Status: &bad}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if a, _ := s.GetSubscription(ctx, "a1"); a.Status != "active" {
		t.Fatalf("a failed set changed the record: %+v", a)
	}
}

func fmtList(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}
