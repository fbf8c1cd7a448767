package awstest_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// TestKinesaliteStream makes a stream of two shards and reads back, with the calls
// Lambda's event source mapping makes, what PutRecord put: each record in the shard
// PutRecord named, with its data, partition key and sequence number, those of a
// partition key in the order they were put.
func TestKinesaliteStream(t *testing.T) {
	client := awstest.KinesisClient(awstest.Kinesalite(t))
	arn := awstest.CreateStream(t, client, "vehicles", 2)
	if want := "arn:aws:kinesis:" + awstest.Region + ":000000000000:stream/vehicles"; arn != want {
		t.Errorf("stream ARN %s, want %s", arn, want)
	}
	out, err := client.DescribeStream(t.Context(), &kinesis.DescribeStreamInput{StreamName: aws.String("vehicles")})
	if err != nil {
		t.Fatal(err)
	}
	if s := out.StreamDescription; s.StreamStatus != types.StreamStatusActive || len(s.Shards) != 2 {
		t.Fatalf("stream %s of %d shards, want ACTIVE of 2", s.StreamStatus, len(s.Shards))
	}

	type put struct{ key, data, seq string }
	byShard := map[string][]put{}
	for i := range 6 {
		key := fmt.Sprintf("v-%d", i%3)
		data := fmt.Sprintf(`{"VehicleID":%q,"n":%d}`, key, i)
		res, err := client.PutRecord(t.Context(), &kinesis.PutRecordInput{
			StreamName: aws.String("vehicles"), PartitionKey: aws.String(key), Data: []byte(data),
		})
		if err != nil {
			t.Fatalf("PutRecord: %v", err)
		}
		shard := aws.ToString(res.ShardId)
		byShard[shard] = append(byShard[shard], put{key, data, aws.ToString(res.SequenceNumber)})
	}
	for shard, want := range byShard {
		it, err := client.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{
			StreamName: aws.String("vehicles"), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("GetShardIterator %s: %v", shard, err)
		}
		recs, err := client.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatalf("GetRecords %s: %v", shard, err)
		}
		var got []put
		for _, r := range recs.Records {
			got = append(got, put{aws.ToString(r.PartitionKey), string(r.Data), aws.ToString(r.SequenceNumber)})
			if r.ApproximateArrivalTimestamp == nil || time.Since(*r.ApproximateArrivalTimestamp) > time.Minute {
				t.Errorf("record %s arrived at %v", aws.ToString(r.SequenceNumber), r.ApproximateArrivalTimestamp)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("shard %s holds\n%v\nwant what was put there, in order\n%v", shard, got, want)
		}
	}
}

// TestKinesaliteListensOnLoopback checks that kinesalite, whose command has no --host,
// is reached on 127.0.0.1 and on no other address of the machine.
func TestKinesaliteListensOnLoopback(t *testing.T) {
	endpoint := awstest.Kinesalite(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(endpoint, "http://"))
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	other := ""
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() {
			other = ip.IP.String()
		}
	}
	if other == "" {
		t.Skip("the machine has no IPv4 address but the loopback's")
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(other, port), time.Second); err == nil {
		conn.Close()
		t.Errorf("kinesalite takes connections on %s", other)
	}
}

// TestKinesaliteSurvivesAbortedRequests hangs up in the middle of a request, as a client
// does whose context is cancelled: kinesalite 3.3.3 alone dies of it, as dynalite does.
func TestKinesaliteSurvivesAbortedRequests(t *testing.T) {
	endpoint := awstest.Kinesalite(t)
	hangUpMidRequest(t, endpoint, "application/x-amz-json-1.1", "Kinesis_20131202.ListStreams")

	client := awstest.KinesisClient(endpoint)
	if _, err := client.ListStreams(t.Context(), &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("ListStreams after an aborted request: %v", err)
	}
}
