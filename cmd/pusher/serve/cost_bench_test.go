//go:build linux

package serve_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
)

// The table and load of BenchmarkCost.
const (
	costClients = 1000
	// Two connections a user, as a user with a phone and a browser open.
	costUsers = costClients / 2
	// costSubscribers of the clients follow the topic costTopic.
	costSubscribers = 200
	costTopic       = "order-7"
	// costMulticastUsers are the users one multicast names.
	costMulticastUsers = 3
	// costPostLatency is how long the Management API takes to answer a post.
	costPostLatency = 20 * time.Millisecond
)

// BenchmarkCost measures what `pusher serve` costs to run, from the outside: a child
// process on goaws and dynalite, posting to 1,000 live WebSocket clients of `pusher
// gateway` (500 users of two connections, 200 of them following a topic) through a
// Management API that answers each post in 20 ms. Proxies in front of DynamoDB and SQS
// count the process's calls, and the read units DynamoDB's reads consume (see
// awstest.Recorder); its CPU time (user and system) is read from /proc before and
// after each load. The queue has SQS's default visibility timeout, 30s.
//
//	go test -run '^$' -bench Cost -benchtime 20x ./cmd/pusher/serve/
//
// An op of broadcast is one broadcast to the 1,000 connections; of multicast, ten
// multicasts of three users (a SendMessageBatch); of topic, one request to the topic.
func BenchmarkCost(b *testing.B) {
	bin := stacktest.BuildPusher(b)
	s := stacktest.New(b)
	ddb := awstest.NewRecorder(b, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	sqs := awstest.NewRecorder(b, os.Getenv("AWS_ENDPOINT_URL_SQS"))
	s.Faults.Fail(func(string, int) int {
		time.Sleep(costPostLatency) // the gateway's latency, not a wait for an event
		return 0
	})
	clients := s.ConnectCounting(b, costClients, func(i int) string {
		q := fmt.Sprintf("user_id=user-%04d", i%costUsers)
		if i < costSubscribers {
			q += "&topic=" + costTopic
		}
		return q
	})
	queue := awstest.CreateQueue(b, s.SQS, "notifications-cost", map[string]string{"VisibilityTimeout": "30"})
	serve := s.StartServe(b, "serve", bin, map[string]string{
		"NOTIFICATIONS_QUEUE_URL":   queue,
		"AWS_ENDPOINT_URL_DYNAMODB": ddb.URL,
		"AWS_ENDPOINT_URL_SQS":      sqs.URL,
		"LOG_LEVEL":                 "warn",
	})
	load := costLoad{s: s, queue: queue, serve: serve, clients: clients, ddb: ddb, sqs: sqs}

	b.Run("broadcast", func(b *testing.B) {
		load.run(b, func(op int) ([]string, int) {
			return []string{fmt.Sprintf(`{"data":{"n":%d}}`, op)}, costClients
		})
		b.ReportMetric(load.units/float64(load.requests)/(costClients/1000), "rcu/1k-conns")
	})
	b.Run("multicast", func(b *testing.B) {
		next := 0
		load.run(b, func(op int) ([]string, int) {
			bodies := make([]string, 10)
			for i := range bodies {
				var users []string
				for range costMulticastUsers {
					users = append(users, fmt.Sprintf("%q", fmt.Sprintf("user-%04d", next%costUsers)))
					next++
				}
				bodies[i] = fmt.Sprintf(`{"users":[%s],"data":{"n":%d}}`, strings.Join(users, ","), op)
			}
			return bodies, len(bodies) * costMulticastUsers * costClients / costUsers
		})
		b.ReportMetric(load.units/float64(load.requests*costMulticastUsers), "rcu/user")
	})
	b.Run("topic", func(b *testing.B) {
		load.run(b, func(op int) ([]string, int) {
			return []string{fmt.Sprintf(`{"topics":[%q],"data":{"n":%d}}`, costTopic, op)}, costSubscribers
		})
		b.ReportMetric(load.units/float64(load.requests), "rcu/topic")
	})
	// What deciding whether to split a broadcast reads (BROADCAST_SPLIT_ABOVE; at most
	// once a minute an instance): here the whole table, which is too small for a
	// sample of it to count on.
	b.Run("estimate", func(b *testing.B) {
		store, err := dynamodb.New(awstest.DynamoDBClient(ddb.URL), stacktest.Tables())
		if err != nil {
			b.Fatal(err)
		}
		before := ddb.Snapshot()
		for range b.N {
			if _, err := store.EstimateConnections(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		calls := ddb.Snapshot().Since(before)
		b.ReportMetric(calls.TotalUnits()/float64(b.N), "rcu/estimate")
		b.ReportMetric(float64(calls.TotalCalls())/float64(b.N), "dynamodb-calls/estimate")
	})
}

// costLoad is the stack of BenchmarkCost, and what the last load cost.
type costLoad struct {
	s        *stacktest.Stack
	queue    string
	serve    *stacktest.Process
	clients  *stacktest.FrameCounter
	ddb, sqs *awstest.Recorder

	requests int
	units    float64 // DynamoDB read units
}

// run sends b.N ops of requests, the bodies op returns, each expected to bring the
// clients frames frames, waits until every frame is received and every request's
// message deleted, and reports what it cost the serve process.
func (l *costLoad) run(b *testing.B, op func(i int) (bodies []string, frames int)) {
	cpuBefore := l.cpu(b)
	ddbBefore, sqsBefore := l.ddb.Snapshot(), l.sqs.Snapshot()
	framesBefore := l.clients.Frames()
	b.ResetTimer()
	start := time.Now()
	requests, frames := 0, 0
	for i := range b.N {
		bodies, n := op(i)
		requests += len(bodies)
		frames += n
		for chunk := range slices.Chunk(bodies, 10) {
			entries := make([]sqstypes.SendMessageBatchRequestEntry, len(chunk))
			for j, body := range chunk {
				entries[j] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(body)}
			}
			out, err := l.s.SQS.SendMessageBatch(context.Background(), &awssqs.SendMessageBatchInput{QueueUrl: aws.String(l.queue), Entries: entries})
			if err != nil || len(out.Failed) > 0 {
				b.Fatalf("send %d requests: %v %v", len(entries), err, out)
			}
		}
	}
	l.clients.Await(b, framesBefore+int64(frames), 5*time.Minute)
	stacktest.EventuallyWithin(b, time.Minute, "every request's message deleted", func() bool {
		// goaws counts the hidden messages in ApproximateNumberOfMessages too.
		name := sqstypes.QueueAttributeNameApproximateNumberOfMessages
		out, err := l.s.SQS.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
			QueueUrl: aws.String(l.queue), AttributeNames: []sqstypes.QueueAttributeName{name}})
		return err == nil && out.Attributes[string(name)] == "0"
	})
	took := time.Since(start)
	b.StopTimer()
	cpu := l.cpu(b) - cpuBefore
	ddbCalls, sqsCalls := l.ddb.Snapshot().Since(ddbBefore), l.sqs.Snapshot().Since(sqsBefore)
	if got := l.clients.Frames() - framesBefore; got != int64(frames) {
		b.Errorf("%d frames received, want %d", got, frames)
	}
	l.requests, l.units = requests, ddbCalls.TotalUnits()

	b.ReportMetric(float64(frames)/took.Seconds(), "frames/s")
	b.ReportMetric(cpu.Seconds()/float64(frames)*1e6, "cpu-s/1M-frames")
	b.ReportMetric(cpu.Seconds()/float64(requests)*1e3, "cpu-ms/request")
	b.ReportMetric(float64(sqsCalls.TotalCalls())/float64(requests), "sqs-calls/request")
	b.ReportMetric(float64(ddbCalls.TotalCalls())/float64(requests), "dynamodb-calls/request")
	b.Logf("%d requests, %d frames in %s, %s of CPU; SQS calls %v; DynamoDB calls %v, read units %v",
		requests, frames, took.Round(time.Millisecond), cpu, sqsCalls.Calls, ddbCalls.Calls, ddbCalls.Units)
}

// cpu returns the CPU time the serve process has spent so far.
func (l *costLoad) cpu(b *testing.B) time.Duration {
	b.Helper()
	d, err := stacktest.ProcessCPU(l.serve.Pid())
	if err != nil {
		b.Fatal(err)
	}
	return d
}
