package console_test

import (
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/console"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// BenchmarkObserver measures what the console adds to each post on the pipeline's hot
// path, the calls a delivered frame makes (PostQueued, Posted, then Progressed), from
// as many goroutines as the machine has cores, as the post stage's workers make them.
func BenchmarkObserver(b *testing.B) {
	c, err := console.New(console.Config{Connections: (&conns{}).connections, Poison: memory.NewPoisonQueue()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.PostQueued(0)
			c.Posted(time.Millisecond, nil)
			c.Progressed(pipeline.Stats{Delivered: 1})
		}
	})
}
