//go:build linux

package function_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// seed002 is seed 002's deployment: clients watch a vehicle with ?VehicleID= and no
// user, and the function maps each record of the stream, the vehicle's position, to a
// request to the vehicle's topic whose data is the record.
var seed002 = map[string]string{
	"SUBSCRIPTIONS_TABLE_NAME": stacktest.SubscriptionsTable,
	"TOPIC_PARAMS":             "VehicleID",
	"TOPICS_PUBLIC":            "v-*",
	"ANONYMOUS_CONNECTIONS":    "true",
	"KINESIS_MAPPING":          "{topics: [VehicleID]}",
}

// The vehicles of the tests, by the shard of a stream of two that their partition key
// hashes to (the MD5 of the key; PutRecord checks it): v-42 and v-8 in the first, v-7
// in the second.
const (
	firstShard  = "shardId-000000000000"
	secondShard = "shardId-000000000001"
)

var vehicleShards = map[string]string{"v-42": firstShard, "v-8": firstShard, "v-7": secondShard}

// TestKinesisAsDeployed runs seed 002 as a deployment does: records put on a Kinesis
// stream (kinesalite) with the SDK, read back by an emulator of Lambda's event source
// mapping with ReportBatchItemFailures and handed to the function, built as bootstrap,
// under the Lambda Runtime Interface Emulator, behind `pusher gateway
// --lambda-integration`, whose WebSocket clients watch vehicles without a user.
func TestKinesisAsDeployed(t *testing.T) {
	began := time.Now()
	bootstrap := awstest.BuildBootstrap(t, "./cmd/pusher-lambda")
	s := stacktest.New(t)
	kin := awstest.KinesisClient(awstest.Kinesalite(t))
	d := deploy(t, s, bootstrap, seed002)
	var invocations []awstest.KinesisInvocation // of every case, for the numbers

	t.Run("a vehicle's records reach the clients watching it, in order, once each", func(t *testing.T) {
		v := newVehicles(t, kin, "vehicles-1")
		w1, w2 := d.dial(t, "w1", "VehicleID=v-42"), d.dial(t, "w2", "VehicleID=v-42")
		w7, w8 := d.dial(t, "w7", "VehicleID=v-7"), d.dial(t, "w8", "VehicleID=v-8")
		m := v.mapping(t, d.invoke, 0)
		var want42, want7 []string
		for n := range 8 {
			want42 = append(want42, v.put(t, "v-42", position("v-42", n)).data)
			if n%2 == 0 {
				want7 = append(want7, v.put(t, "v-7", position("v-7", n)).data)
			}
		}
		for c, want := range map[*gatewaytest.Client][]string{w1: want42, w2: want42, w7: want7} {
			for _, w := range want {
				if got := c.Next(t); got != w {
					t.Fatalf("%s got %s, want %s: the vehicle's records, as put, in order", c.Name, got, w)
				}
			}
		}
		for _, c := range []*gatewaytest.Client{w1, w2, w7, w8} {
			c.Quiet(t, 300*time.Millisecond) // once each; v-8 has no record
		}
		invs := settledInvocations(t, m, len(want42)+len(want7))
		for _, inv := range invs {
			if len(inv.Reported()) != 0 {
				t.Errorf("the batch of %s %v reported %v, want nothing", inv.Shard, inv.Sequences(), inv.Reported())
			}
		}
		invocations = append(invocations, invs...)
		closeAll(t, s, []string{"v-42", "v-7", "v-8"}, w1, w2, w7, w8)
	})

	t.Run("an unreadable record in the middle of a batch is parked, and the records around it are delivered once", func(t *testing.T) {
		v := newVehicles(t, kin, "vehicles-2")
		w := d.dial(t, "w", "VehicleID=v-42")
		before := v.put(t, "v-42", position("v-42", 1))
		notJSON := v.put(t, "v-42", "GPS fix lost")
		noVehicle := v.put(t, "v-42", `{"lat":48.85,"lng":2.35}`)
		after := v.put(t, "v-42", position("v-42", 2))
		m := v.mapping(t, d.invoke, 0) // after the puts: one batch of four
		for _, want := range []record{before, after} {
			if got := w.Next(t); got != want.data {
				t.Fatalf("w got %s, want %s", got, want.data)
			}
		}
		w.Quiet(t, 300*time.Millisecond)
		checkParkedRecords(t, s, map[record]string{
			notJSON:   "decode kinesis event: event is not JSON",
			noVehicle: `decode kinesis event: mapping "{topics: [VehicleID]}" gave no topics and no users for this event`,
		})
		invs := settledInvocations(t, m, 4)
		if len(invs) != 1 || len(invs[0].Reported()) != 0 {
			t.Errorf("invocations %+v, want one of the four records, reporting nothing: a parked record is settled", invs)
		}
		invocations = append(invocations, invs...)
		closeAll(t, s, []string{"v-42"}, w)
	})

	t.Run("an unreadable record the poison queue cannot take is reported with the rest of its shard, then parked on retry", func(t *testing.T) {
		faults := awstest.NewSQSFaults(t, os.Getenv("AWS_ENDPOINT_URL_SQS"))
		env := maps.Clone(seed002)
		// A park that fails is retried until the invocation's cutoff: 3s less 1s.
		env["AWS_ENDPOINT_URL_SQS"], env["AWS_LAMBDA_FUNCTION_TIMEOUT"], env["DEADLINE_MARGIN"] = faults.URL, "3", "1s"
		d := deploy(t, s, bootstrap, env)
		v := newVehicles(t, kin, "vehicles-3")
		w, w7 := d.dial(t, "w", "VehicleID=v-42"), d.dial(t, "w7", "VehicleID=v-7")
		faults.FailQueue(s.PoisonURL, awstest.SQSUnavailable)
		a1, a2 := v.put(t, "v-42", position("v-42", 1)), v.put(t, "v-42", position("v-42", 2))
		bad := v.put(t, "v-42", "GPS fix lost")
		a3, a4 := v.put(t, "v-42", position("v-42", 3)), v.put(t, "v-42", position("v-42", 4))
		b1, b2 := v.put(t, "v-7", position("v-7", 1)), v.put(t, "v-7", position("v-7", 2))
		m := v.mapping(t, d.invoke, 20)

		for c, want := range map[*gatewaytest.Client][]record{w: {a1, a2}, w7: {b1, b2}} {
			for _, r := range want {
				if got := c.Next(t); got != r.data {
					t.Fatalf("%s got %s, want %s", c.Name, got, r.data)
				}
			}
		}
		var failed awstest.KinesisInvocation
		stacktest.Eventually(t, "the first batch of the first shard answered", func() bool {
			i := slices.IndexFunc(m.Invocations(), func(inv awstest.KinesisInvocation) bool { return inv.Shard == firstShard })
			if i >= 0 {
				failed = m.Invocations()[i]
			}
			return i >= 0
		})
		if want := seqs(bad, a3, a4); !slices.Equal(failed.Reported(), want) || failed.Err != nil {
			t.Errorf("the first batch reported %v (%v), want the unreadable record and every one after it, %v", failed.Reported(), failed.Err, want)
		}
		for _, inv := range m.Invocations() {
			if inv.Shard == secondShard && len(inv.Reported()) != 0 {
				t.Errorf("the second shard's batch reported %v: nothing of it failed", inv.Reported())
			}
		}
		w.Quiet(t, 300*time.Millisecond) // v-42's records after the unreadable one were not started
		if faults.Failed() == 0 {
			t.Fatal("the poison queue was never called: the record did not fail for want of it")
		}

		faults.FailQueue("", "") // the queue is back: the next retry parks the record
		checkParkedRecords(t, s, map[record]string{bad: "decode kinesis event: event is not JSON"})
		for _, r := range []record{a3, a4} {
			if got := w.Next(t); got != r.data {
				t.Fatalf("w got %s, want %s", got, r.data)
			}
		}
		w.Quiet(t, 300*time.Millisecond)  // a1 and a2 not again
		w7.Quiet(t, 100*time.Millisecond) // its frames were all in by now
		invs := settledInvocations(t, m, 7)
		if last := invs[len(invs)-1]; last.Shard != firstShard || last.Retry == 0 || !slices.Equal(last.Sequences(), seqs(bad, a3, a4)) {
			t.Errorf("the last invocation is of %s %v (retry %d), want the first shard's retry from the unreadable record", last.Shard, last.Sequences(), last.Retry)
		}
		if d := m.Discarded(); len(d) != 0 {
			t.Errorf("%d records discarded", len(d))
		}
		invocations = append(invocations, invs...)
		closeAll(t, s, []string{"v-42", "v-7"}, w, w7)
	})

	records := 0
	for _, inv := range invocations {
		records += len(inv.Event.Records)
	}
	t.Logf("wall time %s (build, emulators, two functions under the RIE); %d invocations of %d records (%.1f per invocation)",
		time.Since(began).Round(time.Millisecond), len(invocations), records, float64(records)/float64(max(len(invocations), 1)))
}

// vehicles is a stream of two shards that vehicles put their positions on.
type vehicles struct {
	client *kinesis.Client
	name   string
}

// record is a record put on a stream: its data and sequence number.
type record struct{ data, seq string }

func newVehicles(t *testing.T, client *kinesis.Client, name string) *vehicles {
	awstest.CreateStream(t, client, name, 2)
	return &vehicles{client: client, name: name}
}

// put puts data on the stream with the SDK's PutRecord, the vehicle its partition key,
// as a producer does, and checks the shard it went to.
func (v *vehicles) put(t *testing.T, vehicle, data string) record {
	t.Helper()
	out, err := v.client.PutRecord(context.Background(), &kinesis.PutRecordInput{
		StreamName: aws.String(v.name), PartitionKey: aws.String(vehicle), Data: []byte(data),
	})
	if err != nil {
		t.Fatalf("put a record of %s: %v", vehicle, err)
	}
	if shard := aws.ToString(out.ShardId); shard != vehicleShards[vehicle] {
		t.Fatalf("%s's record went to %s, want %s", vehicle, shard, vehicleShards[vehicle])
	}
	return record{data, aws.ToString(out.SequenceNumber)}
}

// mapping hands the stream's records to the function at invoke until the test ends,
// from the first record, retrying a failed batch after 200ms up to retries times (0:
// the mapping's default).
func (v *vehicles) mapping(t *testing.T, invoke string, retries int) *awstest.KinesisMapping {
	return awstest.StartKinesisMapping(t, v.client, awstest.KinesisMappingConfig{
		Stream: v.name, FunctionURL: invoke, MaxRetries: retries, PollInterval: 50 * time.Millisecond,
	})
}

// position is the JSON of a vehicle's position, as seed 002's analytics put it.
func position(vehicle string, n int) string {
	return fmt.Sprintf(`{"VehicleID":%q,"lat":48.%d,"lng":2.%d}`, vehicle, 850+n, 350+n)
}

func seqs(recs ...record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.seq)
	}
	return out
}

// settledInvocations waits until the mapping's invocations settled n records, counted
// by the records no answer reported, and returns them.
func settledInvocations(t *testing.T, m *awstest.KinesisMapping, n int) []awstest.KinesisInvocation {
	t.Helper()
	var invs []awstest.KinesisInvocation
	stacktest.Eventually(t, fmt.Sprintf("%d records settled", n), func() bool {
		invs = m.Invocations()
		settled := 0
		for _, inv := range invs {
			settled += len(inv.Event.Records) - len(inv.Reported())
		}
		return settled >= n
	})
	return invs
}

// checkParkedRecords checks that the poison queue holds the records of want and nothing else,
// each parked at decode, permanently, with its reason, the source it came from
// (event_source kinesis) and its record's event id as correlation id.
func checkParkedRecords(t *testing.T, s *stacktest.Stack, want map[record]string) {
	t.Helper()
	parked := s.Parked(t, len(want))
	if len(parked) != len(want) {
		t.Errorf("parked %d messages, want %d", len(parked), len(want))
	}
	for r, reason := range want {
		i := slices.IndexFunc(parked, func(p pipeline.Parked) bool { return p.Payload == r.data })
		if i < 0 {
			t.Errorf("%q was not parked: %+v", r.data, parked)
			continue
		}
		p := parked[i]
		if p.Stage != pipeline.StageDecode || p.Class != "permanent" || !strings.Contains(p.Reason, reason) ||
			p.EventSource != handlers.SourceKinesis || !strings.HasSuffix(p.CorrelationID, ":"+r.seq) {
			t.Errorf("parked %+v, want it parked at decode, permanently, for %q, from %s, correlated by its event id", p, reason, handlers.SourceKinesis)
		}
	}
}

// closeAll closes the clients and waits until the topics have no subscriber left: their
// $disconnect removed them.
func closeAll(t *testing.T, s *stacktest.Stack, topics []string, clients ...*gatewaytest.Client) {
	t.Helper()
	for _, c := range clients {
		c.Close()
	}
	stacktest.Eventually(t, fmt.Sprintf("%v have no subscriber", topics), func() bool {
		for _, topic := range topics {
			left := 0
			err := s.Store.TopicConnections(context.Background(), topic, "", func(conns []handlers.Connection, _ string) error {
				left += len(conns)
				return nil
			})
			if err != nil || left > 0 {
				return false
			}
		}
		return true
	})
}
