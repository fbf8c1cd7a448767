package handlers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// BenchmarkResolveTopics resolves a request to one topic of 10,000 subscribers, and to
// three topics of 5,000 that overlap (10,000 connections), on a memory store in pages
// of 100: the cost of the merge per connection, without the rest of the pipeline.
//
//	go test -run '^$' -bench ResolveTopics ./handlers/
func BenchmarkResolveTopics(b *testing.B) {
	const n = 10_000
	for _, c := range []struct {
		name   string
		topics []string
		follow func(i int) []string
	}{
		{"one topic", []string{"a"}, func(int) []string { return []string{"a"} }},
		{"three topics", []string{"a", "b", "c"}, func(i int) []string {
			var out []string
			for j, topic := range []string{"a", "b", "c"} {
				if i >= j*n/4 && i < j*n/4+n/2 {
					out = append(out, topic)
				}
			}
			return out
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			store := memory.NewStore(100)
			for i := range n {
				conn := handlers.Connection{UserID: fmt.Sprint("user-", i), ConnectionID: fmt.Sprintf("conn-%05d", i)}
				_ = store.AddConnection(ctx, conn)
				if topics := c.follow(i); len(topics) > 0 {
					if err := store.Subscribe(ctx, conn, topics, handlers.DefaultMaxTopics); err != nil {
						b.Fatal(err)
					}
				}
			}
			r := handlers.Resolver{Store: store, PageSize: 100}
			req := handlers.Request{Topics: c.topics, Data: []byte(`1`)}
			b.ResetTimer()
			for range b.N {
				sent := 0
				err := r.Resolve(ctx, req, "", func(page handlers.Recipients, _ string) error {
					sent += len(page.Connections)
					return nil
				})
				if err != nil || sent != n {
					b.Fatalf("sent %d: %v", sent, err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "connections/s")
		})
	}
}
