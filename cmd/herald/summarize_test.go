package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeOpenAI speaks the part of the OpenAI API Herald uses; mode picks its behaviour.
func fakeOpenAI(t *testing.T, mode string) *httptest.Server {
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
