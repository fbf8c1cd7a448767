//go:build unix

package pipeline_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// BenchmarkPostWorkers measures what the long-lived post workers save: a broadcast to
// 5,000 connections posted through the SDK-based poster (as production posts) to a
// gateway that answers at once, with the workers and with posts made on the router's
// own goroutines, reporting the process's CPU time per frame.
//
//	go test -run '^$' -bench PostWorkers -benchtime 20x ./pipeline/
func BenchmarkPostWorkers(b *testing.B) {
	const n = 5_000
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	b.Cleanup(gateway.Close)
	poster, err := apigw.New(apigw.LocalConfig(""), apigw.Config{Endpoint: gateway.URL})
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []bool{true, false} {
		b.Run(fmt.Sprint("workers=", workers), func(b *testing.B) {
			var tune func(*pipeline.Pipeline)
			if !workers {
				tune = pipeline.RunPostsInline
			}
			p := benchPipeline(b, n, pipeline.Config{}, poster, tune)
			broadcast(b, p, n) // warm the connections
			cpu := cpuTime()
			start := time.Now()
			b.ResetTimer()
			for range b.N {
				broadcast(b, p, n)
			}
			b.StopTimer()
			frames := float64(b.N * n)
			b.ReportMetric(frames/time.Since(start).Seconds(), "frames/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/frames, "cpu-µs/frame")
		})
	}
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
