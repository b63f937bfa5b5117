package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/heraldnews/herald/ingest"
	"github.com/heraldnews/herald/store"
)

const pushToken = "test-token-not-secret"

// recordingQueuer counts queued stories.
type recordingQueuer struct {
	mu  sync.Mutex
	ids []int64
}

func (q *recordingQueuer) Queue(_ context.Context, s store.Story) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, s.ID)
	return nil
}

// pushServer is an API server whose pusher is a real pipeline on a temporary database.
func pushServer(t *testing.T) (*Server, *store.Store, *recordingQueuer) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q := &recordingQueuer{}
	logger := slog.New(slog.DiscardHandler)
	pipe := ingest.NewPipeline(st, nil, q, ingest.PipelineOptions{Logger: logger})
	return New(Options{Store: st, Token: pushToken, Logger: logger, Pusher: pipe}), st, q
}

func push(t *testing.T, s *Server, token, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/stories", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response %d is not JSON: %q", rec.Code, rec.Body.String())
	}
	return rec.Code, out
}

const storyHTML = `<p>The regional airport will close its second runway for resurfacing from April, moving all flights to the main runway for eight weeks.</p><p>The operator said delays should be short because the second runway handles only light aircraft. Flying clubs based at the airport have been offered space at a neighbouring airfield during the works.</p>`

func TestPushStory(t *testing.T) {
	s, st, q := pushServer(t)
	body := `{"guid":"cms-1001","url":"https://news.example/airport-runway?utm_source=cms","title":"Airport runway to close for resurfacing",
		"byline":"Ada Lovelace","published_at":"2025-03-01T09:30:00+01:00","html":` + jsonString(storyHTML) + `,"image_url":"https://news.example/img/runway.jpg"}`
	code, out := push(t, s, pushToken, body)
	if code != http.StatusCreated || out["created"] != true || out["queued"] != true {
		t.Fatalf("first push: %d %v", code, out)
	}
	id := int64(out["id"].(float64))
	got, err := st.GetStory(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Origin != "push" || got.GUID != "cms-1001" || got.URL != "https://news.example/airport-runway" || got.Byline != "Ada Lovelace" ||
		got.PublishedAt.Hour() != 8 || !got.HasFullText() || !strings.Contains(got.Text, "neighbouring airfield") {
		t.Fatalf("stored story: %+v", got)
	}
	// Idempotent on guid: 200, same id, not queued again.
	code, out = push(t, s, pushToken, body)
	if code != http.StatusOK || out["created"] != false || out["queued"] != false || int64(out["id"].(float64)) != id {
		t.Fatalf("second push: %d %v", code, out)
	}
	// Plain text is accepted too.
	code, out = push(t, s, pushToken, `{"guid":"cms-1002","title":"Short note","text":"First paragraph.\n\nSecond paragraph."}`)
	if code != http.StatusCreated || out["created"] != true {
		t.Fatalf("text push: %d %v", code, out)
	}
	if len(q.ids) != 2 {
		t.Fatalf("queued %v, want two stories", q.ids)
	}
}

func TestPushStoryErrors(t *testing.T) {
	s, _, _ := pushServer(t)
	valid := map[string]any{"guid": "g", "title": "T", "text": "Body."}
	with := func(k string, v any) string {
		m := map[string]any{}
		for kk, vv := range valid {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name  string
		body  string
		code  int
		field string
	}{
		{"no guid", with("guid", nil), 400, "guid"},
		{"blank guid", with("guid", "  "), 400, "guid"},
		{"no title", with("title", nil), 400, "title"},
		{"neither html nor text", with("text", nil), 400, "html"},
		{"both html and text", with("html", "<p>x</p>"), 400, "text"},
		{"relative url", with("url", "/story"), 400, "url"},
		{"ftp url", with("url", "ftp://news.example/x"), 400, "url"},
		{"bad image url", with("image_url", "javascript:alert(1)"), 400, "image_url"},
		{"bad date", with("published_at", "yesterday"), 400, "published_at"},
		{"date without zone", with("published_at", "2025-03-01T09:30:00"), 400, "published_at"},
		{"wrong type", with("title", 42), 400, "title"},
		{"not json", `{"guid":`, 400, ""},
		{"two objects", `{"guid":"a","title":"b","text":"c"} {}`, 400, ""},
		{"empty", ``, 400, ""},
		{"too large", `{"guid":"big","title":"Big","text":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := push(t, s, pushToken, tt.body)
			if code != tt.code {
				t.Fatalf("code %d (%v), want %d", code, out, tt.code)
			}
			if f, _ := out["field"].(string); f != tt.field {
				t.Fatalf("field %q (%v), want %q", f, out["error"], tt.field)
			}
			if msg, _ := out["error"].(string); msg == "" {
				t.Fatal("no error message")
			}
		})
	}
}

func TestPushStoryAuth(t *testing.T) {
	s, st, _ := pushServer(t)
	body := `{"guid":"g","title":"T","text":"Body."}`
	for _, tok := range []string{"", "wrong-token"} {
		if code, _ := push(t, s, tok, body); code != http.StatusUnauthorized {
			t.Fatalf("token %q: %d, want 401", tok, code)
		}
	}
	if n, err := st.LatestStories(context.Background(), 10); err != nil || len(n) != 0 {
		t.Fatalf("unauthorized push stored %d stories (%v)", len(n), err)
	}
}

func TestPushNotConfigured(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Options{Store: st, Token: pushToken, Logger: slog.New(slog.DiscardHandler)})
	if code, _ := push(t, s, pushToken, `{"guid":"g","title":"T","text":"Body."}`); code != http.StatusNotImplemented {
		t.Fatalf("code %d, want 501", code)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
