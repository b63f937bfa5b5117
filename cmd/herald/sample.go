package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/heraldnews/herald/store"
)

// sampleFS is the invented newsroom that `herald serve --dry-run` uses when no feeds are configured,
// so a newcomer sees fetching, extraction, cleaning, summaries, posts and DMs with no setup.
//
//go:embed sample
var sampleFS embed.FS

// sampleChannel and sampleReader are the demo channel and subscriber of the sample dry run.
const (
	sampleChannel    = "@herald_demo"
	sampleReaderID   = "100200300"
	sampleSubscriber = "demo-reader"
)

// startSampleSite serves the sample feed and its article pages on a loopback port and returns the feed URL.
func startSampleSite() (feedURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("sample site: %w", err)
	}
	base := "http://" + ln.Addr().String()
	sub, _ := fs.Sub(sampleFS, "sample")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{path...}", func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("path")
		data, err := fs.ReadFile(sub, p)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(p, ".xml"):
			w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		case strings.HasSuffix(p, ".html"):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write([]byte(strings.ReplaceAll(string(data), "{{BASE}}", base)))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return base + "/feed.xml", func() { srv.Close() }, nil
}

// seedSampleReader adds a demo subscriber linked on telegram to the throwaway dry-run database,
// through the same mint-and-redeem path a real reader takes, so the dry run shows the DMs an entitled reader gets.
func seedSampleReader(ctx context.Context, st *store.Store) error {
	sub, _, err := st.UpsertSubscription(ctx, store.Subscription{ExternalID: sampleSubscriber, Email: "reader@example.com",
		Plan: "digital", Status: store.StatusActive, CurrentPeriodEnd: st.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		return fmt.Errorf("sample reader: %w", err)
	}
	code, _, err := st.MintLinkCode(ctx, sub.ID, "telegram", time.Minute)
	if err != nil {
		return fmt.Errorf("sample reader: %w", err)
	}
	if _, _, err := st.RedeemLinkCode(ctx, "telegram", sampleReaderID, code); err != nil {
		return fmt.Errorf("sample reader: %w", err)
	}
	return nil
}
