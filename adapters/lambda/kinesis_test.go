package lambda_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

const (
	vehiclesARN = "arn:aws:kinesis:us-east-1:123456789012:stream/vehicles"
	shard0      = "shardId-000000000000"
	shard1      = "shardId-000000000001"
)

// kinesisRecord is a record of the vehicles stream, field by field as Lambda's example
// event has it ("Using Lambda with Kinesis Data Streams",
// docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html).
func kinesisRecord(stream, shard, seq, key, data string) events.KinesisEventRecord {
	return events.KinesisEventRecord{
		AwsRegion:         "us-east-1",
		EventID:           shard + ":" + seq,
		EventName:         "aws:kinesis:record",
		EventSource:       "aws:kinesis",
		EventSourceArn:    stream,
		EventVersion:      "1.0",
		InvokeIdentityArn: "arn:aws:iam::123456789012:role/lambda-role",
		Kinesis: events.KinesisRecord{
			KinesisSchemaVersion:        "1.0",
			PartitionKey:                key,
			SequenceNumber:              seq,
			Data:                        []byte(data),
			ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: time.Unix(1545084650, 987e6)},
		},
	}
}

func TestKinesisMessages(t *testing.T) {
	e := events.KinesisEvent{Records: []events.KinesisEventRecord{
		kinesisRecord(vehiclesARN, shard0, "101", "v-42", `{"VehicleID":"v-42","lat":1}`),
		kinesisRecord(vehiclesARN, shard0, "102", "v-7", `{"VehicleID":"v-7","lat":2}`),
		kinesisRecord(vehiclesARN, shard0, "103", "v-42", `not json`),
		kinesisRecord(vehiclesARN, shard1, "201", "v-42", `{"VehicleID":"v-42","lat":3}`),
		// Another stream's shard of the same id: a batch is of one shard, but the keys
		// must not take two streams' shards for one.
		kinesisRecord("arn:aws:kinesis:us-east-1:123456789012:stream/other", shard0, "301", "v-42", `{}`),
	}}
	msgs, groups, shards := lambda.KinesisMessages(e)
	if len(msgs) != 5 || len(groups) != 5 || len(shards) != 5 {
		t.Fatalf("%d messages, %d groups, %d shards, want 5 of each", len(msgs), len(groups), len(shards))
	}
	for i, m := range msgs {
		r := e.Records[i]
		if m.UUID != r.EventID || string(m.Payload) != string(r.Kinesis.Data) {
			t.Errorf("message %d: %s %q, want the record's event id %s and its data %q", i, m.UUID, m.Payload, r.EventID, r.Kinesis.Data)
		}
		if got := m.Metadata.Get(pipeline.EventSourceKey); got != handlers.SourceKinesis {
			t.Errorf("message %d: %s %q, want %q", i, pipeline.EventSourceKey, got, handlers.SourceKinesis)
		}
	}
	// Same key, same shard: one group, in order; the same key in another shard or stream
	// is another group.
	sameGroup := func(i, j int) bool { return groups[i] == groups[j] }
	sameShard := func(i, j int) bool { return shards[i] == shards[j] }
	for _, tc := range []struct {
		i, j         int
		group, shard bool
	}{
		{0, 2, true, true},   // v-42 in shard 0
		{0, 1, false, true},  // v-42 and v-7 in shard 0
		{0, 3, false, false}, // v-42 in shards 0 and 1
		{0, 4, false, false}, // v-42 in shard 0 of two streams
	} {
		if sameGroup(tc.i, tc.j) != tc.group || sameShard(tc.i, tc.j) != tc.shard {
			t.Errorf("records %d and %d: same group %t, same shard %t; want %t, %t", tc.i, tc.j,
				sameGroup(tc.i, tc.j), sameShard(tc.i, tc.j), tc.group, tc.shard)
		}
	}
	for i, g := range groups {
		if g == "" || shards[i] == "" {
			t.Errorf("record %d has group %q, shard %q: every record of a stream is in both", i, g, shards[i])
		}
	}
}

// TestKinesisResponse checks the per-shard rule of partial batch responses: from a
// shard's first record not settled, every record of that shard is reported, settled or
// not, and a shard all settled reports nothing ("Configuring partial batch response
// with Kinesis Data Streams and Lambda",
// docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html).
func TestKinesisResponse(t *testing.T) {
	e := events.KinesisEvent{Records: []events.KinesisEventRecord{
		kinesisRecord(vehiclesARN, shard0, "101", "v-42", `{}`),
		kinesisRecord(vehiclesARN, shard1, "201", "v-7", `{}`),
		kinesisRecord(vehiclesARN, shard0, "102", "v-42", `{}`),
		kinesisRecord(vehiclesARN, shard1, "202", "v-7", `{}`),
		kinesisRecord(vehiclesARN, shard0, "103", "v-9", `{}`),
		kinesisRecord(vehiclesARN, shard0, "104", "v-42", `{}`),
	}}
	failed := errors.New("not settled")
	for _, tc := range []struct {
		name     string
		errs     []error
		reported []string
		redone   int
	}{
		{"all settled", []error{nil, nil, nil, nil, nil, nil}, []string{}, 0},
		{"the last of a shard", []error{nil, nil, nil, nil, nil, failed}, []string{"104"}, 0},
		{"the first of a shard: all of it", []error{failed, nil, nil, nil, nil, nil}, []string{"101", "102", "103", "104"}, 3},
		{"from the middle of a shard, the other shard settled", []error{nil, nil, failed, nil, nil, nil}, []string{"102", "103", "104"}, 2},
		{"one in each shard", []error{nil, nil, nil, failed, failed, failed}, []string{"202", "103", "104"}, 0},
		{"a later failure of the shard is reported, not redone", []error{nil, nil, failed, nil, failed, nil}, []string{"102", "103", "104"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, redone := lambda.KinesisResponse(e, tc.errs)
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if resp.BatchItemFailures == nil {
				t.Error("batchItemFailures is null: answer an empty list")
			}
			if !slices.Equal(got, tc.reported) && !(len(got) == 0 && len(tc.reported) == 0) {
				t.Errorf("reported %v, want %v", got, tc.reported)
			}
			if redone != tc.redone {
				t.Errorf("redone %d, want %d: the settled records reported after a shard's first failure", redone, tc.redone)
			}
		})
	}
}
