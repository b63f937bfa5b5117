package bots

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldnews/herald/store"
)

// The crash test re-runs this test binary as a child "herald" that delivers from a shared database
// to a fake platform server in the parent; the parent kills it with SIGKILL and restarts it.
const (
	crashChildEnv = "HERALD_DELIVERY_CRASH_CHILD"
	crashDBEnv    = "HERALD_DELIVERY_CRASH_DB"
	crashURLEnv   = "HERALD_DELIVERY_CRASH_URL"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) == "1" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashLimits keep the crash test's articles two parts long and its sends fast.
func crashLimits() Limits {
	return Limits{MaxText: 120, Measure: spTelegramMeasure, GlobalRate: 3000, GlobalBurst: 10}
}

func crashChild() int {
	st, err := store.Open(os.Getenv(crashDBEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := dlvLogger()
	d := NewDispatcher(st, newHTTPPlatform("telegram", os.Getenv(crashURLEnv), crashLimits()), DispatcherConfig{Concurrency: 8, BaseBackoff: 10 * time.Millisecond}, log, nil)
	ctx := context.Background()
	for {
		if _, err := d.RunOnce(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		depth, _, err := st.DeliveryBacklog(ctx, "telegram")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if depth == 0 {
			return 0
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeServer is a chat platform over HTTP that counts every message it accepts and, when limit is
// set, answers 429 with the time to wait to anything beyond its rate.
type fakeServer struct {
	limit *rate.Limiter

	mu          sync.Mutex
	got         map[string]int // "user/part" → times received
	accepted    int
	limited     int
	first, last time.Time
}

func newFakeServer(tb testing.TB, limit *rate.Limiter) (*fakeServer, string) {
	fs := &fakeServer{limit: limit, got: map[string]int{}}
	srv := httptest.NewServer(fs)
	tb.Cleanup(srv.Close)
	return fs, srv.URL
}

type fakeWireMessage struct {
	User  string `json:"user"`
	Part  int    `json:"part"`
	Total int    `json:"total"`
}

func (fs *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m fakeWireMessage
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if fs.limit != nil {
		if res := fs.limit.Reserve(); res.Delay() > 0 {
			res.Cancel()
			fs.mu.Lock()
			fs.limited++
			fs.mu.Unlock()
			w.Header().Set("Retry-After-Ms", strconv.FormatInt(max(res.Delay().Milliseconds(), 1), 10))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
	}
	fs.mu.Lock()
	now := time.Now()
	if fs.accepted == 0 {
		fs.first = now
	}
	fs.last = now
	fs.accepted++
	fs.got[fmt.Sprintf("%s/%d", m.User, m.Part)]++
	id := fs.accepted
	fs.mu.Unlock()
	fmt.Fprintf(w, `{"message_id":"%d"}`, id)
}

// httpPlatform is the child's Platform: a small client of fakeServer with the adapters' error mapping.
type httpPlatform struct {
	name, url string
	limits    Limits
	client    *http.Client
}

var _ Platform = (*httpPlatform)(nil)

func newHTTPPlatform(name, url string, l Limits) *httpPlatform {
	return &httpPlatform{name: name, url: url, limits: l, client: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}}
}

func (p *httpPlatform) Name() string                             { return p.name }
func (p *httpPlatform) Limits() Limits                           { return p.limits }
func (p *httpPlatform) Run(ctx context.Context, _ Handler) error { <-ctx.Done(); return nil }

func (p *httpPlatform) Post(ctx context.Context, channel string, card StoryCard) (Ref, error) {
	id, err := p.call(ctx, fakeWireMessage{User: "channel:" + channel, Part: 1, Total: 1})
	if err != nil {
		return Ref{}, err
	}
	return Ref{ChatID: channel, MessageIDs: []string{id}}, nil
}

func (p *httpPlatform) Send(ctx context.Context, to Recipient, msgs []Message) (Ref, error) {
	ref := Ref{ChatID: to.UserID}
	for _, m := range msgs {
		id, err := p.call(ctx, fakeWireMessage{User: to.UserID, Part: max(m.Part, 1), Total: max(m.Total, 1)})
		if err != nil {
			return ref, err
		}
		ref.MessageIDs = append(ref.MessageIDs, id)
	}
	return ref, nil
}

func (p *httpPlatform) call(ctx context.Context, m fakeWireMessage) (string, error) {
	body, _ := json.Marshal(m)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", &RetryAfter{Reason: err.Error()}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		ms, _ := strconv.Atoi(resp.Header.Get("Retry-After-Ms"))
		return "", &RetryAfter{After: time.Duration(ms) * time.Millisecond, Global: true, Reason: "429 Too Many Requests"}
	case resp.StatusCode == http.StatusForbidden:
		return "", fmt.Errorf("403: %w", ErrUnreachable)
	case resp.StatusCode >= 500:
		return "", &RetryAfter{Reason: resp.Status}
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("%s: %w", resp.Status, ErrRejected)
	}
	var out struct {
		ID string `json:"message_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", &RetryAfter{Reason: "bad response: " + err.Error()}
	}
	return out.ID, nil
}

// readers inserts n entitled readers on platform (user ids r0…) in one transaction.
func (e *dlvEnv) readers(tb testing.TB, platform string, n int) {
	tb.Helper()
	tx, err := e.db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	now, end := dlvEpoch.UnixMilli(), time.Now().Add(365*24*time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		r, err := tx.Exec(`INSERT INTO subscriptions (external_id, status, current_period_end, created_at, updated_at) VALUES (?, 'active', ?, ?, ?)`,
			fmt.Sprintf("%s-r%d", platform, i), end, now, now)
		if err != nil {
			tb.Fatal(err)
		}
		sub, _ := r.LastInsertId()
		if _, err := tx.Exec(`INSERT INTO links (subscription_id, platform, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			sub, platform, fmt.Sprint("r", i), now, now); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func TestCrashRecoveryFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: several child processes, a few seconds")
	}
	const readers, kills, inFlight = 2000, 5, 8
	seed := time.Now().UnixNano()
	rnd := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)

	e := newDlvEnv(t)
	e.st.Now = time.Now
	e.readers(t, "telegram", readers)
	st := e.story(t, "crash", time.Now(), 3)
	if _, err := e.st.QueueStory(context.Background(), st.ID, nil, []string{"telegram"}); err != nil {
		t.Fatal(err)
	}
	parts := len(ArticleMessages(st, crashLimits()))
	if parts < 2 {
		t.Fatalf("article is %d part(s); the test wants multi-part DMs", parts)
	}
	fs, url := newFakeServer(t, nil)

	run := func(killAfter time.Duration) (killed bool) {
		var out bytes.Buffer
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDBEnv+"="+e.st.Path(), crashURLEnv+"="+url)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var timer <-chan time.Time
		if killAfter > 0 {
			timer = time.After(killAfter)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("child failed: %v\n%s", err, out.String())
			}
			return false
		case <-timer:
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			return true
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("child did not finish\n%s", out.String())
		}
		return false
	}
	actualKills := 0
	for i := 0; i < kills; i++ {
		fs.mu.Lock()
		before := fs.accepted
		fs.mu.Unlock()
		if run(time.Duration(80+rnd.Intn(400)) * time.Millisecond) {
			actualKills++
		}
		fs.mu.Lock()
		t.Logf("run %d: %d messages accepted before the kill", i+1, fs.accepted-before)
		fs.mu.Unlock()
	}
	if run(0) {
		t.Fatal("final run killed")
	}

	ds, err := e.st.StoryDeliveries(context.Background(), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != readers {
		t.Fatalf("%d rows, want %d", len(ds), readers)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dups, missing, interrupted := 0, 0, 0
	for _, d := range ds {
		complete := true
		for p := 1; p <= parts; p++ {
			n := fs.got[fmt.Sprintf("%s/%d", d.Target, p)]
			if n == 0 {
				complete = false
			}
			if n > 1 {
				dups += n - 1
			}
		}
		switch {
		case d.State == store.DeliverySent:
			if !complete {
				missing++
				t.Errorf("%s: row sent but not every part arrived", d.Target)
			}
		case d.State == store.DeliveryFailed && d.Reason == store.ReasonInterruptedTwice:
			interrupted++
		default:
			t.Errorf("row %d for %s left %s %q", d.ID, d.Target, d.State, d.Reason)
		}
	}
	t.Logf("%d kills; %d messages accepted for %d readers × %d parts; %d duplicate messages; %d rows interrupted twice",
		actualKills, fs.accepted, readers, parts, dups, interrupted)
	// A kill can catch at most inFlight rows mid-send; each may be resent once (all its parts at worst).
	if limit := actualKills * inFlight * parts; dups > limit {
		t.Errorf("%d duplicates, more than the %d the in-flight rows allow", dups, limit)
	}
	if interrupted > actualKills*inFlight {
		t.Errorf("%d rows interrupted twice", interrupted)
	}
	if missing > 0 {
		t.Errorf("%d readers missing parts", missing)
	}
}
