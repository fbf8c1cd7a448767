package function_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/emf"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestKinesisKeepsPartitionKeyOrder works on a batch of one shard where the records of
// two vehicles alternate and each post takes less time than the one before it: the
// records of a partition key reach its connection in the stream's order all the same,
// and the whole batch settles.
func TestKinesisKeepsPartitionKeyOrder(t *testing.T) {
	poster := &slowPoster{delay: func(frame string) time.Duration {
		var n int
		_, _ = fmt.Sscanf(frame, `{"n":%d}`, &n)
		return time.Duration(10-n) * 10 * time.Millisecond // the first slowest
	}}
	fn := kinesisFunction(t, poster, memory.NewPoisonQueue())
	var recs []events.KinesisEventRecord
	for n := range 10 {
		user := []string{"alice", "bob"}[n%2]
		recs = append(recs, vehicleRecord(shardA, fmt.Sprint(100+n), user, fmt.Sprintf(`{"users":[%q],"data":{"n":%d}}`, user, n)))
	}
	resp := fn.Kinesis(withTimeout(t, 10*time.Second), events.KinesisEvent{Records: recs})
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("reported %v, want none", resp.BatchItemFailures)
	}
	for conn, want := range map[string][]string{
		"alice-1": {`{"n":0}`, `{"n":2}`, `{"n":4}`, `{"n":6}`, `{"n":8}`},
		"bob-1":   {`{"n":1}`, `{"n":3}`, `{"n":5}`, `{"n":7}`, `{"n":9}`},
	} {
		if got := poster.frames(conn); !slices.Equal(got, want) {
			t.Errorf("%s got %v, want %v in the stream's order", conn, got, want)
		}
	}
}

// TestKinesisStopsShardAtFirstFailure works on a batch of two shards where a record of
// shard A cannot be settled (it does not decode, and the poison queue refuses it): the
// records of shard A after it are not started, whatever their partition key, and are
// reported with it, from it on; those before it are delivered and not reported; shard
// B goes on.
func TestKinesisStopsShardAtFirstFailure(t *testing.T) {
	// bob's first post is slow: his second record, after the failing one in shard A,
	// starts once the failure is known.
	poster := &slowPoster{delay: func(frame string) time.Duration {
		if frame == `{"b":0}` {
			return 300 * time.Millisecond
		}
		return 0
	}}
	fn := kinesisFunction(t, poster, refusingPoison{})
	batch := events.KinesisEvent{Records: []events.KinesisEventRecord{
		vehicleRecord(shardA, "101", "bob", `{"users":["bob"],"data":{"b":0}}`),
		vehicleRecord(shardA, "102", "alice", `not a request`),
		vehicleRecord(shardA, "103", "bob", `{"users":["bob"],"data":{"b":1}}`),
		vehicleRecord(shardA, "104", "alice", `{"users":["alice"],"data":{"a":1}}`),
		vehicleRecord(shardB, "201", "carol", `{"users":["carol"],"data":{"c":1}}`),
		vehicleRecord(shardB, "202", "carol", `{"users":["carol"],"data":{"c":2}}`),
	}}
	resp := fn.Kinesis(withTimeout(t, 10*time.Second), batch)

	var reported []string
	for _, f := range resp.BatchItemFailures {
		reported = append(reported, f.ItemIdentifier)
	}
	if want := []string{"102", "103", "104"}; !slices.Equal(reported, want) {
		t.Errorf("reported %v, want shard A from its failing record on, %v", reported, want)
	}
	for conn, want := range map[string][]string{
		"bob-1":   {`{"b":0}`}, // not {"b":1}: after the failure in its shard
		"alice-1": nil,         // not {"a":1}: after its own key's failure
		"carol-1": {`{"c":1}`, `{"c":2}`},
	} {
		if got := poster.frames(conn); !slices.Equal(got, want) {
			t.Errorf("%s got %v, want %v", conn, got, want)
		}
	}
}

const (
	shardA = "shardId-000000000000"
	shardB = "shardId-000000000001"
)

// vehicleRecord is a record of a stream's shard whose partition key is key, field by
// field as Lambda's example event has it ("Using Lambda with Kinesis Data Streams",
// docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html).
func vehicleRecord(shard, seq, key, data string) events.KinesisEventRecord {
	return events.KinesisEventRecord{
		AwsRegion:         "us-east-1",
		EventID:           shard + ":" + seq,
		EventName:         "aws:kinesis:record",
		EventSource:       "aws:kinesis",
		EventSourceArn:    "arn:aws:kinesis:us-east-1:123456789012:stream/vehicles",
		EventVersion:      "1.0",
		InvokeIdentityArn: "arn:aws:iam::123456789012:role/lambda-role",
		Kinesis: events.KinesisRecord{
			KinesisSchemaVersion:        "1.0",
			PartitionKey:                key,
			SequenceNumber:              seq,
			Data:                        []byte(data),
			ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: time.Now()},
		},
	}
}

// kinesisFunction returns the function on a pipeline of memory adapters, as FuzzHandle
// builds it, posting with poster and parking on poison, where alice, bob and carol have
// one connection each (alice-1, ...).
func kinesisFunction(t *testing.T, poster handlers.Poster, poison message.Publisher) *function.Function {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := memory.NewStore(0)
	for _, user := range []string{"alice", "bob", "carol"} {
		if err := store.AddConnection(ctx, handlers.Connection{UserID: user, ConnectionID: user + "-1"}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := pipeline.New(pipeline.Config{CloseTimeout: time.Second}, store, poster, poison, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := function.Defaults(function.Config{Config: onaws.Config{
		APIGWEndpoint:  "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
		Table:          dynamodb.Config{Table: "connections"},
		PoisonQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/notifications-poison",
	}})
	if err != nil {
		t.Fatal(err)
	}
	fn, err := function.New(cfg, p, nil, store, handlers.Subscriber{Store: store}, emf.New(io.Discard), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done, err := fn.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return fn
}

// withTimeout returns a context of Lambda's deadline, timeout from now.
func withTimeout(t *testing.T, timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// slowPoster takes every post after delay(frame), and records the frames each
// connection got, in the order their posts ended.
type slowPoster struct {
	delay func(frame string) time.Duration
	mu    sync.Mutex
	got   map[string][]string
}

func (p *slowPoster) PostToConnection(ctx context.Context, conn string, frame []byte) error {
	select {
	case <-time.After(p.delay(string(frame))):
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.got == nil {
		p.got = map[string][]string{}
	}
	p.got[conn] = append(p.got[conn], string(frame))
	return nil
}

func (p *slowPoster) frames(conn string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[conn]
}

// refusingPoison is a poison queue that refuses every message for good, as one the
// function may not write to.
type refusingPoison struct{}

func (refusingPoison) Publish(string, ...*message.Message) error {
	return handlers.Permanent(errors.New("the poison queue refuses every message"))
}

func (refusingPoison) Close() error { return nil }
