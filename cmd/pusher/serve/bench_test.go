package serve_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
)

// BenchmarkServe measures `pusher serve` from SQS to WebSocket clients, on goaws,
// dynalite and `pusher gateway`: each op is one request, a broadcast to 50 clients,
// sent in batches of 10 with SendMessageBatch.
//
//	go test -run '^$' -bench Serve -benchtime 200x ./cmd/pusher/serve/
func BenchmarkServe(b *testing.B) {
	s := stacktest.New(b)
	const clients = 50
	var cs []*gatewaytest.Client
	for i := range clients {
		cs = append(cs, s.Connect(b, fmt.Sprint("c", i), fmt.Sprint("user-", i)))
	}
	s.Serve(b, func(c *serve.Config) { c.Concurrency = 50 })
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for ; len(entries) < 10 && sent < b.N; sent++ {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{
				Id: aws.String(fmt.Sprint(sent)), MessageBody: aws.String(fmt.Sprintf(`{"data":{"n":%d}}`, sent)),
			})
		}
		if _, err := s.SQS.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(s.QueueURL), Entries: entries}); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range cs {
		for range b.N {
			c.Next(b)
		}
	}
	took := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/took, "requests/s")
	b.ReportMetric(float64(b.N*clients)/took, "frames/s")
}
