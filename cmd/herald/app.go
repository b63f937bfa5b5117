package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/heraldnews/herald/api"
	"github.com/heraldnews/herald/store"
)

type appOptions struct {
	dryRun bool
	out    io.Writer // where the dry-run printer writes
}

// app is Herald wired together: the one place that builds concrete types from the config.
type app struct {
	cfg     Config
	opts    appOptions
	logger  *slog.Logger
	store   *store.Store
	reg     *prometheus.Registry
	api     *api.Server
	tmpDir  string // dry run: holds the throwaway database
	closers []func() error
}

func newApp(ctx context.Context, cfg Config, logger *slog.Logger, opts appOptions) (*app, error) {
	a := &app{cfg: cfg, opts: opts, logger: logger, reg: prometheus.NewRegistry()}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.openStore(ctx); err != nil {
		return nil, err
	}
	a.api = api.New(api.Options{
		Store: a.store, Token: cfg.API.Token, Logger: logger, Gatherer: a.reg,
		TelegramBotUsername: cfg.Telegram.BotUsername,
	})
	return a, nil
}

// openStore opens the configured database; a dry run works on a throwaway copy so that
// nothing it "delivers" is recorded as delivered for the real run.
func (a *app) openStore(ctx context.Context) error {
	path := a.cfg.Store.Path
	if a.opts.dryRun {
		dir, err := os.MkdirTemp("", "herald-dry-run-")
		if err != nil {
			return fmt.Errorf("dry run: %w", err)
		}
		a.tmpDir = dir
		tmp := filepath.Join(dir, "herald.db")
		if _, err := os.Stat(path); err == nil {
			src, err := store.Open(path)
			if err != nil {
				return err
			}
			err = src.SnapshotTo(ctx, tmp)
			src.Close()
			if err != nil {
				return err
			}
		}
		a.logger.Info("dry run: using a throwaway copy of the database", "source", path)
		path = tmp
	}
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	a.store = st
	return nil
}

// RunOnce runs one ingest and delivery cycle.
func (a *app) RunOnce(ctx context.Context) error {
	return nil
}

// Run serves until ctx ends, then shuts down in order within delivery.shutdown_timeout.
func (a *app) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api: listen on %s (api.listen): %w", a.cfg.API.Listen, err)
	}
	srv := &http.Server{Handler: a.api, ReadHeaderTimeout: 10 * time.Second}
	a.logger.Info("operator API listening", "addr", ln.Addr().String())
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("api: %w", err)
		}
	}()
	var runErr error
	select {
	case <-ctx.Done():
		a.logger.Info("shutting down")
	case runErr = <-errc:
		a.logger.Error("component failed, shutting down", "err", runErr)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), a.cfg.Delivery.ShutdownTimeout.Duration)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		a.logger.Warn("api shutdown", "err", err)
	}
	wg.Wait()
	return runErr
}

// Close releases everything the app opened, in reverse order.
func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	if a.tmpDir != "" {
		os.RemoveAll(a.tmpDir)
	}
	return errors.Join(errs...)
}
