package bots

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// BenchmarkFanout delivers one story as DMs to every reader through the dispatcher and a fake
// platform server that answers 429 beyond the configured rate. Per op it reports the achieved
// rate as a share of the configured one, the 429s received, duplicate messages, and the peak heap,
// for two reader counts so the heap can be compared (flat in the number of readers).
//
//	go test ./bots -run '^$' -bench Fanout -benchtime 1x
func BenchmarkFanout(b *testing.B) {
	for _, readers := range []int{5_000, 10_000} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) { benchFanout(b, readers) })
	}
}

func benchFanout(b *testing.B, readers int) {
	const (
		perSecond = 2000.0
		burst     = 10
	)
	ctx := context.Background()
	e := newDlvEnv(b)
	e.st.Now = time.Now
	e.readers(b, "telegram", readers)
	// The server allows the configured rate with twice the client's burst, for network jitter.
	fs, url := newFakeServer(b, rate.NewLimiter(perSecond, 2*burst))
	limits := Limits{MaxText: 4096, Measure: spTelegramMeasure, GlobalRate: perSecond, GlobalBurst: burst, PerChatRate: 1, PerChatBurst: 1}
	d := NewDispatcher(e.st, newHTTPPlatform("telegram", url, limits), DispatcherConfig{Concurrency: 16}, dlvLogger(), nil)
	q := NewQueuer(e.st, QueuerConfig{Platforms: []string{"telegram"}}, dlvLogger(), nil)

	var peakHeap uint64
	var sent, limited, dups int
	var busy time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := e.story(b, fmt.Sprintf("fanout-%d-%d", readers, i), time.Now(), 3)
		if err := q.Queue(ctx, st); err != nil {
			b.Fatal(err)
		}
		fs.mu.Lock()
		fs.got, fs.accepted, fs.limited = map[string]int{}, 0, 0
		fs.mu.Unlock()
		runtime.GC()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms runtime.MemStats
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		b.StartTimer()

		n, err := d.RunOnce(ctx)

		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if n != readers {
			b.Fatalf("handled %d rows, want %d", n, readers)
		}
		fs.mu.Lock()
		for key, c := range fs.got {
			if c > 1 {
				dups += c - 1
				b.Errorf("%s received %d times", key, c)
			}
		}
		if len(fs.got) != readers {
			b.Errorf("%d readers received the story, want %d", len(fs.got), readers)
		}
		sent += fs.accepted
		limited += fs.limited
		busy += fs.last.Sub(fs.first)
		fs.mu.Unlock()
		b.StartTimer()
	}
	b.StopTimer()
	achieved := float64(sent-b.N) / busy.Seconds() // intervals between the first and last message of each run
	b.ReportMetric(achieved, "msgs/s")
	b.ReportMetric(100*achieved/perSecond, "%of-limit")
	b.ReportMetric(float64(limited)/float64(b.N), "429s/op")
	b.ReportMetric(float64(dups)/float64(b.N), "dups/op")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(d.chats.Len()), "chat-limiters")
}
