package bots

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limitOf turns a configured rate (per second, 0 = unlimited) into a rate.Limit.
func limitOf(perSecond float64) rate.Limit {
	if perSecond <= 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

// gate is a platform-wide rate limiter that a global 429 can pause: every send of the
// platform waits out the platform's requested delay, not only the one that was refused.
type gate struct {
	lim *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
}

func newGate(perSecond float64, burst int) *gate {
	return &gate{lim: rate.NewLimiter(limitOf(perSecond), max(burst, 1))}
}

// Pause holds all sends for d from now (extending, never shortening, a pause in force).
func (g *gate) Pause(d time.Duration) {
	until := time.Now().Add(d)
	g.mu.Lock()
	if until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
	g.mu.Unlock()
}

func (g *gate) paused() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Until(g.pausedUntil)
}

// Wait blocks until a send may go out, or ctx ends.
func (g *gate) Wait(ctx context.Context) error {
	for {
		if d := g.paused(); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if err := g.lim.Wait(ctx); err != nil {
			return err
		}
		// A pause that began while this send waited for its token applies to it too.
		if g.paused() <= 0 {
			return nil
		}
	}
}

// keyedLimiters holds one rate limiter per chat or channel. A limiter left idle long enough to
// have refilled its burst is the same as a new one, so such limiters are dropped: the map holds
// only the chats sent to in the last few seconds, however many readers there are.
type keyedLimiters struct {
	limit rate.Limit
	burst int
	idle  time.Duration

	mu        sync.Mutex
	m         map[string]*keyedLimiter
	lastSweep time.Time
}

type keyedLimiter struct {
	lim   *rate.Limiter
	last  time.Time
	users int
}

func newKeyedLimiters(perSecond float64, burst int) *keyedLimiters {
	k := &keyedLimiters{limit: limitOf(perSecond), burst: max(burst, 1), m: map[string]*keyedLimiter{}}
	if k.limit != rate.Inf {
		k.idle = time.Duration(float64(k.burst) / float64(k.limit) * float64(time.Second))
	}
	k.idle = max(k.idle, 100*time.Millisecond)
	return k
}

// Wait blocks until a message to key may go out, or ctx ends.
func (k *keyedLimiters) Wait(ctx context.Context, key string) error {
	if k.limit == rate.Inf {
		return nil
	}
	now := time.Now()
	k.mu.Lock()
	// Sweeping four times per idle period keeps the map within about 1.25 idle periods of chats.
	if now.Sub(k.lastSweep) >= k.idle/4 {
		k.sweep(now)
	}
	e := k.m[key]
	if e == nil {
		e = &keyedLimiter{lim: rate.NewLimiter(k.limit, k.burst)}
		k.m[key] = e
	}
	e.users++
	k.mu.Unlock()

	err := e.lim.Wait(ctx)

	k.mu.Lock()
	e.users--
	e.last = time.Now()
	k.mu.Unlock()
	return err
}

func (k *keyedLimiters) sweep(now time.Time) {
	for key, e := range k.m {
		if e.users == 0 && now.Sub(e.last) >= k.idle {
			delete(k.m, key)
		}
	}
	k.lastSweep = now
}

// Len returns the number of limiters held.
func (k *keyedLimiters) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
