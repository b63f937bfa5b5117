package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldnews/herald/internal/testutil"
	"github.com/heraldnews/herald/store"
)

const subToken = "sub-test-token-not-secret"

// subServer is an API server on a temporary database with a fixed clock and captured logs.
func subServer(t *testing.T, telegramBot string) (*Server, *store.Store, *testutil.SyncBuffer) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return now }
	logs := &testutil.SyncBuffer{}
	s := New(Options{Store: st, Token: subToken, Logger: slog.New(slog.NewTextHandler(logs, nil)), TelegramBotUsername: telegramBot})
	return s, st, logs
}

func call(t *testing.T, s *Server, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: response %d is not JSON: %q", method, path, rec.Code, rec.Body.String())
	}
	return rec.Code, out, rec.Header()
}

func TestSubscriptionAPIAuth(t *testing.T) {
	s, st, _ := subServer(t, "")
	routes := []struct{ method, path, body string }{
		{"PUT", "/v1/subscriptions/cus_1", `{"status":"canceled"}`},
		{"GET", "/v1/subscriptions/cus_1", ""},
		{"POST", "/v1/subscriptions/cus_1/link-codes", ""},
	}
	for _, r := range routes {
		for _, tok := range []string{"", "wrong", subToken + "x", strings.ToUpper(subToken)} {
			code, body, hdr := call(t, s, r.method, r.path, tok, r.body)
			if code != http.StatusUnauthorized || body["error"] == nil || hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with token %q: %d %v", r.method, r.path, tok, code, body)
			}
		}
	}
	if _, err := st.GetSubscription(context.Background(), "cus_1"); err == nil {
		t.Fatal("an unauthenticated PUT stored a subscription")
	}
}

func TestPutGetSubscription(t *testing.T) {
	s, _, _ := subServer(t, "")
	body := `{"email":"a@example.com","plan":"monthly","status":"active","current_period_end":"2025-04-01T00:00:00Z"}`
	code, out, _ := call(t, s, "PUT", "/v1/subscriptions/cus_1", subToken, body)
	if code != http.StatusCreated || out["external_id"] != "cus_1" || out["entitled"] != true || out["entitled_until"] != "2025-04-01T00:00:00Z" {
		t.Fatalf("create: %d %v", code, out)
	}
	if code, out, _ = call(t, s, "PUT", "/v1/subscriptions/cus_1", subToken, body); code != http.StatusOK {
		t.Fatalf("same again: %d %v", code, out)
	}
	code, out, _ = call(t, s, "PUT", "/v1/subscriptions/cus_1", subToken,
		`{"email":"a@example.com","plan":"monthly","status":"past_due","current_period_end":"2025-02-28T00:00:00Z","grace_until":"2025-03-01T11:00:00+00:00"}`)
	if code != http.StatusOK || out["status"] != "past_due" || out["entitled"] != false || out["grace_until"] != "2025-03-01T11:00:00Z" {
		t.Fatalf("update: %d %v", code, out)
	}
	code, out, _ = call(t, s, "GET", "/v1/subscriptions/cus_1", subToken, "")
	if code != http.StatusOK || out["plan"] != "monthly" || out["links"] == nil {
		t.Fatalf("get: %d %v", code, out)
	}
	if code, _, _ := call(t, s, "GET", "/v1/subscriptions/nobody", subToken, ""); code != http.StatusNotFound {
		t.Fatalf("missing: %d", code)
	}
}

func TestPutSubscriptionValidation(t *testing.T) {
	s, _, _ := subServer(t, "")
	tests := []struct {
		name, path, body, field string
		code                    int
	}{
		{"no body", "/v1/subscriptions/a", ``, "", 400},
		{"not json", "/v1/subscriptions/a", `{status: active}`, "", 400},
		{"two objects", "/v1/subscriptions/a", `{"status":"canceled"} {}`, "", 400},
		{"unknown field", "/v1/subscriptions/a", `{"status":"canceled","colour":"red"}`, "colour", 400},
		{"wrong type", "/v1/subscriptions/a", `{"status":7}`, "status", 400},
		{"missing status", "/v1/subscriptions/a", `{"email":"a@example.com"}`, "status", 400},
		{"bad status", "/v1/subscriptions/a", `{"status":"paid"}`, "status", 400},
		{"bad email", "/v1/subscriptions/a", `{"status":"canceled","email":"nope"}`, "email", 400},
		{"bad period end", "/v1/subscriptions/a", `{"status":"active","current_period_end":"tomorrow"}`, "current_period_end", 400},
		{"date only period end", "/v1/subscriptions/a", `{"status":"active","current_period_end":"2025-04-01"}`, "current_period_end", 400},
		{"active without end", "/v1/subscriptions/a", `{"status":"active"}`, "current_period_end", 400},
		{"bad grace", "/v1/subscriptions/a", `{"status":"past_due","grace_until":"soon"}`, "grace_until", 400},
		{"long id", "/v1/subscriptions/" + strings.Repeat("x", 300), `{"status":"canceled"}`, "external_id", 400},
		{"too big", "/v1/subscriptions/a", `{"plan":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, "", 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := call(t, s, "PUT", tc.path, subToken, tc.body)
			if code != tc.code {
				t.Fatalf("code %d, want %d: %v", code, tc.code, out)
			}
			if got, _ := out["field"].(string); got != tc.field {
				t.Fatalf("field %q, want %q: %v", got, tc.field, out)
			}
			if msg, _ := out["error"].(string); msg == "" || (tc.field != "" && !strings.Contains(msg, tc.field)) {
				t.Fatalf("error message %q does not name %q", msg, tc.field)
			}
		})
	}
}

func TestPostLinkCode(t *testing.T) {
	s, st, logs := subServer(t, "@herald_test_bot")
	ctx := context.Background()
	if code, _, _ := call(t, s, "PUT", "/v1/subscriptions/cus_1", subToken, `{"status":"active","current_period_end":"2025-04-01T00:00:00Z"}`); code != 201 {
		t.Fatal(code)
	}
	code, out, hdr := call(t, s, "POST", "/v1/subscriptions/cus_1/link-codes", subToken, "")
	if code != http.StatusCreated || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("mint: %d %v", code, out)
	}
	shown, _ := out["code"].(string)
	norm, ok := store.NormalizeLinkCode(shown)
	if !ok || len(shown) != 11 || shown[5] != '-' {
		t.Fatalf("code %q", shown)
	}
	if out["expires_at"] != "2025-03-01T12:15:00Z" || out["telegram_url"] != "https://t.me/herald_test_bot?start="+norm {
		t.Fatalf("mint: %v", out)
	}
	// The deep-link payload redeems.
	if _, _, err := st.RedeemLinkCode(ctx, "telegram", "42", norm); err != nil {
		t.Fatal(err)
	}
	_, got, _ := call(t, s, "GET", "/v1/subscriptions/cus_1", subToken, "")
	links, _ := got["links"].([]any)
	if len(links) != 1 || links[0].(map[string]any)["user_id"] != "42" || links[0].(map[string]any)["reachable"] != true {
		t.Fatalf("links %v", got["links"])
	}

	code, out, _ = call(t, s, "POST", "/v1/subscriptions/cus_1/link-codes", subToken, `{"platform":"discord","ttl_seconds":3600}`)
	if code != 201 || out["telegram_url"] != nil || out["expires_at"] != "2025-03-01T13:00:00Z" || out["platform"] != "discord" {
		t.Fatalf("discord: %d %v", code, out)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"platform":"myspace"}`, "platform"},
		{`{"ttl_seconds":-1}`, "ttl_seconds"},
		{`{"ttl_seconds":99999999}`, "ttl_seconds"},
		{`{"code":"ABCDE-FGHJK"}`, "code"},
	} {
		code, out, _ := call(t, s, "POST", "/v1/subscriptions/cus_1/link-codes", subToken, tc.body)
		if code != 400 || out["field"] != tc.field {
			t.Errorf("%s: %d %v", tc.body, code, out)
		}
	}
	if code, _, _ := call(t, s, "POST", "/v1/subscriptions/nobody/link-codes", subToken, ""); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	if l := logs.String(); strings.Contains(l, norm) || strings.Contains(l, shown) || strings.Contains(l, subToken) || !strings.Contains(l, "link code minted") {
		t.Fatalf("logs leak a code or token, or say nothing:\n%s", l)
	}
}
