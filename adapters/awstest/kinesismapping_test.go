package awstest_test

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// TestKinesisMappingEvent checks the events the mapping invokes the function with
// against Lambda's example event ("Using Lambda with Kinesis Data Streams",
// docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html), as JSON on the wire: one
// shard's records per batch, in the order they were put, each field as AWS spells it.
func TestKinesisMappingEvent(t *testing.T) {
	client := awstest.KinesisClient(awstest.Kinesalite(t))
	stream := awstest.CreateStream(t, client, "vehicles", 2)
	fn := newFunction(t, nil)
	shardOf := map[string]string{}
	var put []string
	for i := range 6 {
		key := fmt.Sprintf("v-%d", i%3)
		out, err := client.PutRecord(t.Context(), &kinesis.PutRecordInput{
			StreamName: aws.String("vehicles"), PartitionKey: aws.String(key), Data: fmt.Appendf(nil, `{"n":%d}`, i),
		})
		if err != nil {
			t.Fatal(err)
		}
		seq := aws.ToString(out.SequenceNumber)
		shardOf[seq] = aws.ToString(out.ShardId)
		put = append(put, seq)
	}
	m := awstest.StartKinesisMapping(t, client, awstest.KinesisMappingConfig{Stream: "vehicles", FunctionURL: fn.url})
	waitFor(t, "the six records invoked", func() bool { return len(sequences(m.Invocations())) == 6 })

	var order []string
	for i, payload := range fn.payloads() {
		var raw struct{ Records []map[string]any }
		if err := json.Unmarshal(payload, &raw); err != nil {
			t.Fatal(err)
		}
		shard := ""
		for _, r := range raw.Records {
			kin, _ := r["kinesis"].(map[string]any)
			seq, _ := kin["sequenceNumber"].(string)
			order = append(order, seq)
			if shard = cmp.Or(shard, shardOf[seq]); shardOf[seq] != shard {
				t.Errorf("invocation %d holds records of shards %s and %s", i, shard, shardOf[seq])
			}
			want := map[string]any{
				"eventSource": "aws:kinesis", "eventName": "aws:kinesis:record", "eventVersion": "1.0",
				"eventID": shardOf[seq] + ":" + seq, "eventSourceARN": stream, "awsRegion": awstest.Region,
				"invokeIdentityArn": "arn:aws:iam::000000000000:role/pusher-kinesis",
			}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("record %s: %s = %v, want %v", seq, k, r[k], v)
				}
			}
			data, _ := kin["data"].(string)
			decoded, err := base64.StdEncoding.DecodeString(data)
			if err != nil || !json.Valid(decoded) {
				t.Errorf("record %s: data %q is not the base64 of what was put (%v)", seq, data, err)
			}
			if at, ok := kin["approximateArrivalTimestamp"].(float64); !ok || time.Since(time.Unix(int64(at), 0)) > time.Minute {
				t.Errorf("record %s: approximateArrivalTimestamp %v, want seconds since the epoch, of now", seq, kin["approximateArrivalTimestamp"])
			}
			if kin["kinesisSchemaVersion"] != "1.0" || !strings.HasPrefix(kin["partitionKey"].(string), "v-") {
				t.Errorf("record %s: kinesis %v", seq, kin)
			}
		}
	}
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		in := func(seq string) bool { return shardOf[seq] != shard }
		if got, want := slices.DeleteFunc(slices.Clone(order), in), slices.DeleteFunc(slices.Clone(put), in); !slices.Equal(got, want) {
			t.Errorf("%s invoked in the order %v, want %v", shard, got, want)
		}
	}
}

// TestKinesisMappingPartialBatchResponse reports two records of a batch, the later one
// first: the mapping retries from the lowest one reported, and no record before it is
// sent again.
func TestKinesisMappingPartialBatchResponse(t *testing.T) {
	client := awstest.KinesisClient(awstest.Kinesalite(t))
	awstest.CreateStream(t, client, "s", 1)
	seqs := putRecords(t, client, "s", 5)
	fn := newFunction(t, func(n int, ev events.KinesisEvent) string {
		if n == 0 {
			return fmt.Sprintf(`{"batchItemFailures":[{"itemIdentifier":%q},{"itemIdentifier":%q}]}`, seqs[3], seqs[2])
		}
		return `{"batchItemFailures":[]}`
	})
	m := awstest.StartKinesisMapping(t, client, awstest.KinesisMappingConfig{Stream: "s", FunctionURL: fn.url})
	waitFor(t, "two invocations", func() bool { return len(m.Invocations()) == 2 })
	time.Sleep(300 * time.Millisecond) // a third would come after the poll interval
	invs := m.Invocations()
	if len(invs) != 2 {
		t.Fatalf("%d invocations, want 2", len(invs))
	}
	if got := invs[0].Sequences(); !slices.Equal(got, seqs) || invs[0].Retry != 0 {
		t.Errorf("first batch %v (retry %d), want %v", got, invs[0].Retry, seqs)
	}
	if got := invs[0].Reported(); !slices.Equal(got, []string{seqs[3], seqs[2]}) {
		t.Errorf("first batch reported %v", got)
	}
	if got := invs[1].Sequences(); !slices.Equal(got, seqs[2:]) || invs[1].Retry != 1 {
		t.Errorf("retried batch %v (retry %d), want %v, retry 1", got, invs[1].Retry, seqs[2:])
	}
	if d := m.Discarded(); len(d) != 0 {
		t.Errorf("discarded %v", d)
	}
}

// TestKinesisMappingCompleteFailures answers the first batch in the ways Lambda takes
// for a complete failure: the whole batch is retried, up to MaxRetries, then discarded,
// and the shard goes on with the records put after it.
func TestKinesisMappingCompleteFailures(t *testing.T) {
	for _, tc := range []struct{ name, answer string }{
		{"function error", `{"errorMessage":"boom","errorType":"Runtime.ExitError"}`},
		{"empty itemIdentifier", `{"batchItemFailures":[{"itemIdentifier":""}]}`},
		{"a wrong key name", `{"batchItemFailures":[{"itemId":"1"}]}`},
		{"not of the batch", `{"batchItemFailures":[{"itemIdentifier":"1"}]}`},
		{"not JSON", `oops`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := awstest.KinesisClient(awstest.Kinesalite(t))
			awstest.CreateStream(t, client, "s", 1)
			seqs := putRecords(t, client, "s", 3)
			fn := newFunction(t, func(_ int, ev events.KinesisEvent) string {
				if ev.Records[0].Kinesis.SequenceNumber == seqs[0] {
					return tc.answer
				}
				return "null" // a null response is a success
			})
			m := awstest.StartKinesisMapping(t, client, awstest.KinesisMappingConfig{
				Stream: "s", FunctionURL: fn.url, MaxRetries: 2, RetryDelay: 10 * time.Millisecond,
			})
			waitFor(t, "the batch discarded", func() bool { return len(m.Discarded()) == 3 })
			later := putRecords(t, client, "s", 1)
			waitFor(t, "the later record invoked", func() bool { return slices.Contains(sequences(m.Invocations()), later[0]) })
			invs := m.Invocations()
			if len(invs) != 4 {
				t.Fatalf("%d invocations, want 3 of the batch and 1 of the later record", len(invs))
			}
			for i, inv := range invs[:3] {
				if !slices.Equal(inv.Sequences(), seqs) || inv.Retry != i || inv.Err == nil {
					t.Errorf("invocation %d: %v, retry %d, error %v: want the whole batch, retry %d, a complete failure", i, inv.Sequences(), inv.Retry, inv.Err, i)
				}
			}
			if invs[3].Err != nil || invs[3].Retry != 0 {
				t.Errorf("the later record's invocation: retry %d, error %v", invs[3].Retry, invs[3].Err)
			}
		})
	}
}

// TestKinesisMappingBatchSizeAndLatest reads from LATEST in batches of two: the records
// put before it started are never invoked.
func TestKinesisMappingBatchSizeAndLatest(t *testing.T) {
	client := awstest.KinesisClient(awstest.Kinesalite(t))
	awstest.CreateStream(t, client, "s", 1)
	putRecords(t, client, "s", 2)
	fn := newFunction(t, nil)
	m := awstest.StartKinesisMapping(t, client, awstest.KinesisMappingConfig{
		Stream: "s", FunctionURL: fn.url, BatchSize: 2, StartingPosition: types.ShardIteratorTypeLatest,
	})
	time.Sleep(300 * time.Millisecond) // for its iterator to be at the end
	seqs := putRecords(t, client, "s", 5)
	waitFor(t, "the five later records invoked", func() bool { return len(sequences(m.Invocations())) == 5 })
	var sizes []int
	for _, inv := range m.Invocations() {
		sizes = append(sizes, len(inv.Event.Records))
	}
	if got := sequences(m.Invocations()); !slices.Equal(got, seqs) {
		t.Errorf("invoked %v, want %v", got, seqs)
	}
	for _, n := range sizes {
		if n > 2 {
			t.Errorf("batches of %v records, want at most 2", sizes)
		}
	}
}

// function stands for a function's invocation URL: it records each payload and answers
// it as answer says, {"batchItemFailures":[]} when answer is nil. It refuses a second
// invocation while one is under way, as the RIE cannot take it.
type function struct {
	url      string
	mu       sync.Mutex
	received [][]byte
	busy     bool
}

func newFunction(t *testing.T, answer func(n int, ev events.KinesisEvent) string) *function {
	f := &function{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n, busy := len(f.received), f.busy
		f.received, f.busy = append(f.received, payload), true
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.busy = false; f.mu.Unlock() }()
		if busy {
			t.Error("a second invocation while one is under way")
		}
		var ev events.KinesisEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Errorf("invoked with %s: %v", payload, err)
		}
		time.Sleep(5 * time.Millisecond)
		if answer == nil {
			_, _ = io.WriteString(w, `{"batchItemFailures":[]}`)
			return
		}
		_, _ = io.WriteString(w, answer(n, ev))
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/2015-03-31/functions/function/invocations"
	return f
}

func (f *function) payloads() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.received)
}

// putRecords puts n records of one partition key on stream and returns their sequence
// numbers.
func putRecords(t *testing.T, client *kinesis.Client, stream string, n int) []string {
	t.Helper()
	var seqs []string
	for i := range n {
		out, err := client.PutRecord(t.Context(), &kinesis.PutRecordInput{
			StreamName: aws.String(stream), PartitionKey: aws.String("k"), Data: fmt.Appendf(nil, `{"n":%d}`, i),
		})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	return seqs
}

// sequences returns the sequence numbers of the invocations' records that were
// settled: every one of an invocation that reported nothing, those before the first
// reported one else.
func sequences(invs []awstest.KinesisInvocation) []string {
	var seqs []string
	for _, inv := range invs {
		if inv.Err != nil {
			continue
		}
		for _, seq := range inv.Sequences() {
			if slices.Contains(inv.Reported(), seq) {
				break
			}
			seqs = append(seqs, seq)
		}
	}
	return seqs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
