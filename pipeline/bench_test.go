package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
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

// BenchmarkPipelineBroadcast measures the pipeline alone: a broadcast over an in-memory
// store to a gateway that costs nothing. Its peak heap shows that a broadcast streams:
// it should stay about the same from 10,000 to 100,000 connections.
//
//	go test -run '^$' -bench PipelineBroadcast ./pipeline/
func BenchmarkPipelineBroadcast(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			store := memory.NewStore(100)
			for i := range n {
				_ = store.AddConnection(context.Background(), handlers.Connection{UserID: fmt.Sprint("user-", i), ConnectionID: fmt.Sprint("conn-", i)})
			}
			gw := &counter{}
			p, err := pipeline.New(pipeline.Config{}, store, gw, memory.NewPoisonQueue(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- p.Run(ctx) }()
			defer func() { cancel(); <-done }()
			<-p.Running()

			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			peak := sampleHeap(ctx)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				res, err := p.Process(ctx, message.NewMessage(watermill.NewUUID(), []byte(`{"data":{"text":"hello"}}`)))
				if err != nil || res.Delivered != n {
					b.Fatalf("delivered %d of %d: %v", res.Delivered, n, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "frames/s")
			b.ReportMetric(float64(peak()-base.HeapInuse)/(1<<20), "peak-heap-growth-MiB")
		})
	}
}

// sampleHeap samples the heap in use every millisecond; the returned func gives the peak.
func sampleHeap(ctx context.Context) func() uint64 {
	var peak atomic.Uint64
	go func() {
		var m runtime.MemStats
		for ctx.Err() == nil {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return peak.Load
}
