package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Defaults for HTTP fetching.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBodyBytes = 10 << 20
	DefaultUserAgent    = "Herald/1.0 (news distribution bot; +https://github.com/heraldnews/herald)"
	maxRedirects        = 10
)

// ErrBodyTooLarge is returned when a response body exceeds the configured size cap.
var ErrBodyTooLarge = errors.New("ingest: too large")

// HTTPError is a response status Herald does not accept (anything but 2xx and 304).
type HTTPError struct {
	Status int
	URL    string
}

// Error names the status and the URL with its query and credentials redacted.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("ingest: %s: HTTP %d %s", redactURL(e.URL), e.Status, http.StatusText(e.Status))
}

// HTTPOptions configures how feeds and article pages are fetched.
type HTTPOptions struct {
	// Client is the HTTP client; nil builds one. Its CheckRedirect is replaced to track permanent redirects.
	Client *http.Client
	// UserAgent names Herald to publishers; empty uses DefaultUserAgent.
	UserAgent string
	// Timeout bounds one request including reading the body; 0 uses DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes caps a (decompressed) response body; 0 uses DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// fetcher performs Herald's GETs: size-capped, time-bounded, conditional, redirect-aware.
type fetcher struct {
	client    *http.Client
	userAgent string
	timeout   time.Duration
	maxBytes  int64
}

type redirectTraceKey struct{}

// redirectTrace records whether every redirect hop of a request was permanent.
type redirectTrace struct {
	hops      int
	permanent bool
	final     string
}

func newFetcher(o HTTPOptions) *fetcher {
	f := &fetcher{userAgent: o.UserAgent, timeout: o.Timeout, maxBytes: o.MaxBodyBytes}
	if f.userAgent == "" {
		f.userAgent = DefaultUserAgent
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBodyBytes
	}
	var c http.Client
	if o.Client != nil {
		c = *o.Client
	} else {
		// The default transport decompresses gzip transparently because Herald never sets Accept-Encoding itself.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 4
		c.Transport = t
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("ingest: stopped after %d redirects", maxRedirects)
		}
		if tr, ok := req.Context().Value(redirectTraceKey{}).(*redirectTrace); ok && req.Response != nil {
			tr.hops++
			code := req.Response.StatusCode
			if code != http.StatusMovedPermanently && code != http.StatusPermanentRedirect {
				tr.permanent = false
			}
			tr.final = req.URL.String()
		}
		return nil
	}
	f.client = &c
	return f
}

// request is one GET.
type request struct {
	url          string
	accept       string
	headers      map[string]string
	etag         string
	lastModified string
}

// response is what a GET returned.
type response struct {
	status       int
	body         []byte
	contentType  string
	etag         string
	lastModified string
	finalURL     string
	// movedTo is the new URL when every redirect hop was permanent (301/308); empty otherwise.
	movedTo string
}

// get fetches r. A 304 is a normal response with no body; other non-2xx statuses
// are *HTTPError; a body over the cap is ErrBodyTooLarge.
func (f *fetcher) get(ctx context.Context, r request) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	tr := &redirectTrace{permanent: true}
	ctx = context.WithValue(ctx, redirectTraceKey{}, tr)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return response{}, fmt.Errorf("ingest: bad url %s: %w", redactURL(r.url), err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	if r.etag != "" {
		req.Header.Set("If-None-Match", r.etag)
	}
	if r.lastModified != "" {
		req.Header.Set("If-Modified-Since", r.lastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the URL, which may carry a token in its query
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return response{}, fmt.Errorf("ingest: get %s: timed out after %s", redactURL(r.url), f.timeout)
		}
		return response{}, fmt.Errorf("ingest: get %s: %w", redactURL(r.url), err)
	}
	defer resp.Body.Close()
	out := response{
		status:       resp.StatusCode,
		contentType:  resp.Header.Get("Content-Type"),
		etag:         resp.Header.Get("ETag"),
		lastModified: resp.Header.Get("Last-Modified"),
		finalURL:     resp.Request.URL.String(),
	}
	if tr.hops > 0 && tr.permanent {
		out.movedTo = tr.final
	}
	if resp.StatusCode == http.StatusNotModified {
		return out, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, &HTTPError{Status: resp.StatusCode, URL: r.url}
	}
	if resp.ContentLength > f.maxBytes {
		return out, fmt.Errorf("%w: %s declares %d bytes, over the %s limit (ingest.max_body_bytes)", ErrBodyTooLarge, redactURL(r.url), resp.ContentLength, byteSize(f.maxBytes))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return out, fmt.Errorf("ingest: read %s: timed out after %s", redactURL(r.url), f.timeout)
		}
		return out, fmt.Errorf("ingest: read %s: %w", redactURL(r.url), err)
	}
	if int64(len(body)) > f.maxBytes {
		return out, fmt.Errorf("%w: %s is over the %s limit (ingest.max_body_bytes)", ErrBodyTooLarge, redactURL(r.url), byteSize(f.maxBytes))
	}
	out.body = body
	return out, nil
}

// redactURL drops the query and user info of u for logs and errors: feed URLs sometimes carry access tokens.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable url)"
	}
	p.User = nil
	if p.RawQuery != "" {
		p.RawQuery = "…"
	}
	p.Fragment = ""
	return p.String()
}

// byteSize writes n bytes for people: "10 MiB (10485760 bytes)".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB (%d bytes)", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}
