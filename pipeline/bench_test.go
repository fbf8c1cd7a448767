//go:build unix

package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// counter is a gateway that takes every frame at once: what is left is the pipeline's own cost.
type counter struct{ n atomic.Int64 }

func (c *counter) PostToConnection(context.Context, string, []byte) error {
	c.n.Add(1)
	return nil
}

// benchPipeline runs, until the benchmark ends, a pipeline over a memory store of n
// connections posting through gw.
func benchPipeline(b *testing.B, n int, cfg pipeline.Config, gw handlers.Poster) *pipeline.Pipeline {
	b.Helper()
	store := memory.NewStore(100)
	for i := range n {
		_ = store.AddConnection(context.Background(), handlers.Connection{UserID: fmt.Sprint("user-", i), ConnectionID: fmt.Sprint("conn-", i)})
	}
	p, err := pipeline.New(cfg, store, gw, memory.NewPoisonQueue(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	<-p.Running()
	return p
}

// broadcast sends one broadcast and fails the benchmark unless all n connections got it.
func broadcast(b *testing.B, p *pipeline.Pipeline, n int) {
	res, err := p.Process(context.Background(), message.NewMessage(watermill.NewUUID(), []byte(`{"data":{"text":"hello"}}`)))
	if err != nil || res.Delivered != n {
		b.Fatalf("delivered %d of %d: %v", res.Delivered, n, err)
	}
}

// BenchmarkPipelineBroadcast measures the pipeline alone: a broadcast over an in-memory
// store to a gateway that costs nothing. Its peak heap shows that a broadcast streams:
// it should stay about the same from 10,000 to 100,000 connections. Its CPU per frame
// is the pipeline's own: the process's user and system time over the frames.
//
//	go test -run '^$' -bench PipelineBroadcast ./pipeline/
func BenchmarkPipelineBroadcast(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := benchPipeline(b, n, pipeline.Config{}, &counter{})
			runtime.GC()
			base := heapBytes()
			ctx, stop := context.WithCancel(context.Background())
			peak := sampleHeap(ctx)
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			for range b.N {
				broadcast(b, p, n)
			}
			b.StopTimer()
			stop()
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "frames/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N*n), "cpu-µs/frame")
			b.ReportMetric(float64(peak()-base)/(1<<20), "peak-heap-growth-MiB")
		})
	}
}

// BenchmarkPostConcurrency broadcasts to 2,000 connections through a gateway that
// answers each post after 20ms, as API Gateway's Management API takes a few tens of
// milliseconds, with as many posts in flight as PostConcurrency allows: the rate grows
// with it until the pipeline runs out of CPU.
//
//	go test -run '^$' -bench PostConcurrency -benchtime 5x ./pipeline/
func BenchmarkPostConcurrency(b *testing.B) {
	const n = 2_000
	for _, posts := range []int{64, 256, 1024} {
		b.Run(fmt.Sprint("posts=", posts), func(b *testing.B) {
			p := benchPipeline(b, n, pipeline.Config{PostConcurrency: posts}, gatewayFunc(func(ctx context.Context, _ string, _ []byte) error {
				select {
				case <-time.After(20 * time.Millisecond):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}))
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				broadcast(b, p, n)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "frames/s")
		})
	}
}

// heapBytes returns the bytes of live and unswept heap objects, read without stopping
// the world (runtime/metrics, unlike runtime.ReadMemStats).
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap samples the heap every 10ms until ctx is done; the returned func gives the
// peak.
func sampleHeap(ctx context.Context) func() uint64 {
	var peak atomic.Uint64
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapBytes(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return peak.Load
}

// BenchmarkTopic sends a request to one topic that all 10,000 connections of the store
// follow, and the same request as a broadcast: the topic costs a read of its
// subscribers where the broadcast scans the table.
//
//	go test -run '^$' -bench Topic -benchtime 10x ./pipeline/
func BenchmarkTopic(b *testing.B) {
	const n = 10_000
	for _, c := range []struct{ name, body string }{
		{"topic", `{"topics":["news"],"data":{"text":"hello"}}`},
		{"broadcast", `{"data":{"text":"hello"}}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			store := memory.NewStore(100)
			for i := range n {
				conn := handlers.Connection{UserID: fmt.Sprint("user-", i), ConnectionID: fmt.Sprint("conn-", i)}
				_ = store.AddConnection(context.Background(), conn)
				_ = store.Subscribe(context.Background(), conn, []string{"news"}, handlers.DefaultMaxTopics)
			}
			p, err := pipeline.New(pipeline.Config{}, store, &counter{}, memory.NewPoisonQueue(), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- p.Run(ctx) }()
			b.Cleanup(func() { cancel(); <-done })
			<-p.Running()
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				res, err := p.Process(context.Background(), message.NewMessage(watermill.NewUUID(), []byte(c.body)))
				if err != nil || res.Delivered != n {
					b.Fatalf("delivered %d of %d: %v", res.Delivered, n, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "frames/s")
		})
	}
}
