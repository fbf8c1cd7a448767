package lambda

import (
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// KinesisMessages reads the records of a Kinesis event: each one's data (which the
// event carries base64-encoded and events.KinesisEvent decodes) is the payload of a
// message from handlers.SourceKinesis, which decode reads with the Kinesis mapping, or
// as a request without one. Each message's UUID is its record's event id, the shard
// and sequence number.
//
// shards[i] is the shard of msgs[i] (its stream's ARN and shard id) and groups[i] its
// partition key within that shard: a stream keeps the order of a partition key's
// records, which the records of one group must be worked on in, as Lambda's own
// ParallelizationFactor keeps it ("Using Lambda with Kinesis",
// docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html).
func KinesisMessages(e events.KinesisEvent) (msgs []*message.Message, groups, shards []string) {
	msgs = make([]*message.Message, len(e.Records))
	groups = make([]string, len(e.Records))
	shards = make([]string, len(e.Records))
	for i, r := range e.Records {
		msgs[i] = message.NewMessage(r.EventID, r.Kinesis.Data)
		msgs[i].Metadata.Set(pipeline.EventSourceKey, handlers.SourceKinesis)
		shards[i] = kinesisShard(r)
		groups[i] = shards[i] + "\x00" + r.Kinesis.PartitionKey
	}
	return msgs, groups, shards
}

// kinesisShard names the shard of r: its stream's ARN and the shard id its event id
// starts with ("shardId-000000000000:<sequence number>").
func kinesisShard(r events.KinesisEventRecord) string {
	shard, _, _ := strings.Cut(r.EventID, ":")
	return r.EventSourceArn + "\x00" + shard
}

// KinesisResponse is the answer to a Kinesis event whose records' work ended with errs
// (errs[i] nil for a record settled): for each shard, the sequence number of its first
// record not settled and of every record after it, settled or not, for Lambda to
// retry from the first. That is AWS's rule for streams: Lambda checkpoints at the
// lowest sequence number reported and retries every record after it ("Configuring
// partial batch response with Kinesis Data Streams and Lambda",
// docs.aws.amazon.com/lambda/latest/dg/kinesis-batchfailurereporting.html), so
// records after a failure are delivered again even when their work was done: redone
// counts them. The event source mapping must report batch item failures
// (FunctionResponseTypes: ReportBatchItemFailures), or Lambda takes the response for a
// success.
func KinesisResponse(e events.KinesisEvent, errs []error) (resp events.KinesisEventResponse, redone int) {
	resp.BatchItemFailures = []events.KinesisBatchItemFailure{}
	failed := map[string]bool{}
	for i, r := range e.Records {
		shard := kinesisShard(r)
		if errs[i] == nil && !failed[shard] {
			continue
		}
		if errs[i] == nil {
			redone++
		}
		failed[shard] = true
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
	}
	return resp, redone
}
