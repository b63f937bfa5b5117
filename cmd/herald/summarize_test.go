package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeOpenAI speaks the part of the OpenAI API Herald uses; mode picks its behaviour.
func fakeOpenAI(t *testing.T, mode string) *httptest.Server {
	t.Helper()
	return fakeOpenAICounting(t, mode, new(atomic.Int32))
}

// fakeOpenAICounting is fakeOpenAI counting chat completion requests in calls.
func fakeOpenAICounting(t *testing.T, mode string, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case mode == "unauthorized":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
		case mode == "no-model" && strings.HasPrefix(r.URL.Path, "/v1/models"):
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}`)
		case strings.HasPrefix(r.URL.Path, "/v1/models/"):
			fmt.Fprintf(w, `{"id":%q,"object":"model","owned_by":"test"}`, strings.TrimPrefix(r.URL.Path, "/v1/models/"))
		case r.URL.Path == "/v1/chat/completions":
			calls.Add(1)
			if mode == "slow" {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			fmt.Fprint(w, `{"id":"c1","object":"chat.completion","model":"tiny","choices":[{"index":0,"finish_reason":"stop",
				"message":{"role":"assistant","content":"The harbour wall at Eastport was repaired after the winter storms."}}],
				"usage":{"prompt_tokens":120,"completion_tokens":14,"total_tokens":134}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

// `herald summarize --backend openai` against an OpenAI-compatible server: the model's
// summary when it answers, exit 2 naming the problem (never the key) when the key or model
// is wrong, and the extractive summary when the model is too slow.
func TestSummarizeOpenAIBackend(t *testing.T) {
	const key = "sk-test-DO-NOT-PRINT-1234"
	tests := []struct {
		mode           string
		wantCode       int
		wantOut        string // substring of stdout
		wantErr        string // substring of stderr
		wantSummarizer string
	}{
		{"ok", exitOK, "repaired after the winter storms.", "summarizer: openai (tiny)", "openai"},
		{"unauthorized", exitUsage, "", "HERALD_OPENAI_API_KEY", ""},
		{"no-model", exitUsage, "", `model "tiny"`, ""},
		{"slow", exitOK, "The harbour wall at Eastport was repaired this week", "summarizer: extractive", "extractive"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			srv := fakeOpenAI(t, tc.mode)
			dir := t.TempDir()
			story := filepath.Join(dir, "story.txt")
			cfg := fmt.Sprintf("[store]\npath = %q\n[summarize]\nbackend = \"openai\"\nmodel = \"tiny\"\nbase_url = \"%s/v1\"\ntimeout = \"300ms\"\nmax_retries = 0\n",
				filepath.ToSlash(filepath.Join(dir, "herald.db")), srv.URL)
			for name, body := range map[string]string{story: cliStory, filepath.Join(dir, "herald.toml"): cfg} {
				if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, args := range [][]string{{"summarize", story}, {"summarize", "--json", story}} {
				var out, errb strings.Builder
				e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: envMap(map[string]string{"HERALD_OPENAI_API_KEY": key})}
				start := time.Now()
				code := Main(t.Context(), append(args, "--config", filepath.Join(dir, "herald.toml")), e)
				if code != tc.wantCode {
					t.Fatalf("herald %v: exit %d, want %d (after %s)\nstdout: %s\nstderr: %s", args, code, tc.wantCode, time.Since(start), out.String(), errb.String())
				}
				if strings.Contains(out.String()+errb.String(), key) {
					t.Fatalf("the API key was printed:\n%s\n%s", out.String(), errb.String())
				}
				if args[1] == "--json" {
					if tc.wantCode != exitOK {
						continue
					}
					var v struct{ Summary, Summarizer string }
					if err := json.Unmarshal([]byte(out.String()), &v); err != nil || v.Summarizer != tc.wantSummarizer || !strings.Contains(v.Summary, tc.wantOut) {
						t.Errorf("--json: %v\n%s", err, out.String())
					}
					continue
				}
				if !strings.Contains(out.String(), tc.wantOut) || !strings.Contains(errb.String(), tc.wantErr) {
					t.Errorf("stdout:\n%s\nwant %q\nstderr:\n%s\nwant %q", out.String(), tc.wantOut, errb.String(), tc.wantErr)
				}
			}
		})
	}
}

// The pipeline path: a story ingested while the model is too slow records the extractive
// summarizer; with the model answering, the same content in a second file is summarized from
// the cache (one model call in all) and the tokens show in herald stats.
func TestIngestRecordsSummarizerAndCachesModel(t *testing.T) {
	for _, tc := range []struct{ mode, want string }{{"slow", "extractive"}, {"ok", "openai"}} {
		t.Run(tc.mode, func(t *testing.T) {
			var calls atomic.Int32
			srv := fakeOpenAICounting(t, tc.mode, &calls)
			dir := t.TempDir()
			cfg := fmt.Sprintf("[store]\npath = %q\n[summarize]\nbackend = \"openai\"\nmodel = \"tiny\"\nbase_url = \"%s/v1\"\ntimeout = \"300ms\"\nmax_retries = 0\n",
				filepath.ToSlash(filepath.Join(dir, "herald.db")), srv.URL)
			if err := os.WriteFile(filepath.Join(dir, "herald.toml"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"a.txt", "b.txt"} {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(cliStory), 0o600); err != nil {
					t.Fatal(err)
				}
				code, out, errOut := runHerald(t, dir, "ingest", "--json", p)
				var v struct {
					Result, Summarizer string
				}
				if code != exitOK || json.Unmarshal([]byte(out), &v) != nil || v.Result != "created" || v.Summarizer != tc.want {
					t.Fatalf("ingest %s: exit %d, %s\n%s", name, code, out, errOut)
				}
			}
			if tc.mode == "ok" && calls.Load() != 1 {
				t.Errorf("model called %d times for the same content, want 1", calls.Load())
			}
			_, out, _ := runHerald(t, dir, "stats")
			if tc.mode == "ok" && !strings.Contains(out, "tokens: 120 prompt, 14 completion") {
				t.Errorf("stats does not count the model's tokens:\n%s", out)
			}
		})
	}
}
