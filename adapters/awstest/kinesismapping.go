package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// The defaults of KinesisMappingConfig.
const (
	// DefaultKinesisBatchSize is Lambda's default BatchSize for a Kinesis stream.
	DefaultKinesisBatchSize = 100
	// DefaultKinesisMaxRetries bounds the retries of a failing batch; Lambda's own
	// default, -1, retries until the records expire from the stream.
	DefaultKinesisMaxRetries = 3
	// DefaultKinesisPollInterval is how long a shard without new records waits to be
	// read again; Lambda reads each shard about once a second, which tests need not.
	DefaultKinesisPollInterval = 100 * time.Millisecond
	// DefaultKinesisRetryDelay is how long a failed batch waits to be retried.
	DefaultKinesisRetryDelay = 200 * time.Millisecond
)

// KinesisMappingConfig says which stream a KinesisMapping reads, which function it
// invokes and how.
type KinesisMappingConfig struct {
	// Stream is the name of the stream.
	Stream string
	// FunctionURL is the function's invocation URL, such as RIE.URL.
	FunctionURL string
	// StartingPosition is where each shard is first read: TRIM_HORIZON (the default)
	// or LATEST.
	StartingPosition types.ShardIteratorType
	// BatchSize is the most records of one invocation; DefaultKinesisBatchSize when 0.
	BatchSize int
	// MaxRetries is how many times a failed batch is retried from the same checkpoint
	// before its records from there on are discarded, as MaximumRetryAttempts;
	// DefaultKinesisMaxRetries when 0.
	MaxRetries int
	// PollInterval is DefaultKinesisPollInterval when 0; RetryDelay
	// DefaultKinesisRetryDelay.
	PollInterval, RetryDelay time.Duration
	// Logger, when set, logs each invocation (its shard, records, retry, what it
	// reported) and each discard, never a record's data.
	Logger *slog.Logger
}

func (c *KinesisMappingConfig) setDefaults() {
	if c.StartingPosition == "" {
		c.StartingPosition = types.ShardIteratorTypeTrimHorizon
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultKinesisBatchSize
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultKinesisMaxRetries
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultKinesisPollInterval
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = DefaultKinesisRetryDelay
	}
}

// Validate reports a setting the mapping cannot work with.
func (c KinesisMappingConfig) Validate() error {
	switch {
	case c.Stream == "" || c.FunctionURL == "":
		return errors.New("kinesis mapping: a stream and a function URL are required")
	case c.StartingPosition != types.ShardIteratorTypeTrimHorizon && c.StartingPosition != types.ShardIteratorTypeLatest:
		return fmt.Errorf("kinesis mapping: starting position %q, want TRIM_HORIZON or LATEST", c.StartingPosition)
	case c.BatchSize < 1 || c.BatchSize > 10000:
		return fmt.Errorf("kinesis mapping: batch size %d, want 1 to 10000 (Lambda's range)", c.BatchSize)
	case c.MaxRetries < 0 || c.PollInterval < 0 || c.RetryDelay < 0:
		return errors.New("kinesis mapping: negative retries, poll interval or retry delay")
	}
	return nil
}

// KinesisMapping stands in for Lambda's event source mapping of a Kinesis stream, for
// tests and local recipes: it reads every shard with GetShardIterator and GetRecords,
// invokes the function with each batch as a Kinesis event ("Using Lambda with Kinesis
// Data Streams", docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html: one batch is
// of one shard), one invocation at a time (the RIE crashes on a concurrent one), and
// reads the answer as a mapping with ReportBatchItemFailures does ("Configuring
// partial batch response with Kinesis Data Streams and Lambda",
// docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html):
//   - an empty or null batchItemFailures, or an empty or null response, is a success:
//     the shard is checkpointed after the batch;
//   - otherwise Lambda checkpoints at the lowest sequence number reported and retries
//     every record from there on;
//   - a function error, or an itemIdentifier empty, null (a wrong key name) or not of
//     the batch, is a complete failure: the whole batch is retried.
//
// A batch failing MaxRetries times in a row at the same checkpoint is discarded from
// there on, as Lambda discards it, and the shard goes on. It records each invocation.
// It is no shard coordinator: no leases, no resharding, no parallelization factor.
type KinesisMapping struct {
	cfg    KinesisMappingConfig
	client *kinesis.Client

	mu          sync.Mutex
	invocations []KinesisInvocation
	discarded   []events.KinesisEventRecord
}

// KinesisInvocation is one invocation of the function by a KinesisMapping.
type KinesisInvocation struct {
	// Shard is the shard the batch was read from, and Retry 0 for a batch read from a
	// checkpoint for the first time, n for its n-th retry.
	Shard string
	Retry int
	// Event is what the function was given; Response what it answered.
	Event    events.KinesisEvent
	Response events.KinesisEventResponse
	// Err, when not nil, is why the mapping took the answer for a complete failure.
	Err error
}

// Sequences returns the sequence numbers of the batch, in order.
func (inv KinesisInvocation) Sequences() []string {
	seqs := make([]string, len(inv.Event.Records))
	for i, r := range inv.Event.Records {
		seqs[i] = r.Kinesis.SequenceNumber
	}
	return seqs
}

// Reported returns the sequence numbers the answer named in batchItemFailures.
func (inv KinesisInvocation) Reported() []string {
	var seqs []string
	for _, f := range inv.Response.BatchItemFailures {
		seqs = append(seqs, f.ItemIdentifier)
	}
	return seqs
}

// NewKinesisMapping returns the mapping of cfg's stream, read with client.
func NewKinesisMapping(client *kinesis.Client, cfg KinesisMappingConfig) (*KinesisMapping, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &KinesisMapping{cfg: cfg, client: client}, nil
}

// StartKinesisMapping runs the mapping of cfg's stream until the test ends; an error
// that stopped it fails the test then.
func StartKinesisMapping(t TB, client *kinesis.Client, cfg KinesisMappingConfig) *KinesisMapping {
	t.Helper()
	m, err := NewKinesisMapping(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Fatalf("kinesis mapping of %s: %v", cfg.Stream, err)
		}
	})
	return m
}

// Invocations returns the invocations so far, in the order they were made.
func (m *KinesisMapping) Invocations() []KinesisInvocation {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.invocations)
}

// Discarded returns the records given up on after MaxRetries.
func (m *KinesisMapping) Discarded() []events.KinesisEventRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.discarded)
}

// shardReader is where the mapping is in one shard.
type shardReader struct {
	id       string
	iterator *string                 // nil: get one from position and at
	position types.ShardIteratorType // of the next iterator
	at       string                  // its sequence number, for AT_ and AFTER_SEQUENCE_NUMBER
	retries  int                     // failures in a row at the checkpoint at
	wait     time.Time               // not read again before
	closed   bool                    // read to its end
}

// Run reads the stream and invokes the function until ctx ends, when it returns nil,
// or until a call of the stream fails.
func (m *KinesisMapping) Run(ctx context.Context) error {
	stream, shards, err := m.describe(ctx)
	if err != nil {
		return ignoreEnded(ctx, err)
	}
	for {
		read := false
		for _, s := range shards {
			if s.closed || time.Now().Before(s.wait) {
				continue
			}
			n, err := m.step(ctx, stream, s)
			if err != nil {
				return ignoreEnded(ctx, err)
			}
			read = read || n > 0
		}
		if read {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(m.cfg.PollInterval):
		}
	}
}

func ignoreEnded(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// describe returns the stream's ARN and a reader of each of its shards.
func (m *KinesisMapping) describe(ctx context.Context) (string, []*shardReader, error) {
	sum, err := m.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(m.cfg.Stream)})
	if err != nil {
		return "", nil, fmt.Errorf("describe stream %s: %w", m.cfg.Stream, err)
	}
	list, err := m.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(m.cfg.Stream)})
	if err != nil {
		return "", nil, fmt.Errorf("list the shards of %s: %w", m.cfg.Stream, err)
	}
	var shards []*shardReader
	for _, sh := range list.Shards {
		shards = append(shards, &shardReader{id: aws.ToString(sh.ShardId), position: m.cfg.StartingPosition})
	}
	return aws.ToString(sum.StreamDescriptionSummary.StreamARN), shards, nil
}

// step reads the next batch of shard s and invokes the function with it, and returns
// how many records it read.
func (m *KinesisMapping) step(ctx context.Context, stream string, s *shardReader) (int, error) {
	if s.iterator == nil {
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(m.cfg.Stream), ShardId: aws.String(s.id), ShardIteratorType: s.position}
		if s.at != "" {
			in.StartingSequenceNumber = aws.String(s.at)
		}
		out, err := m.client.GetShardIterator(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("get an iterator of shard %s %s %s: %w", s.id, s.position, s.at, err)
		}
		s.iterator = out.ShardIterator
	}
	out, err := m.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: s.iterator, Limit: aws.Int32(int32(m.cfg.BatchSize))})
	if err != nil {
		return 0, fmt.Errorf("get the records of shard %s: %w", s.id, err)
	}
	if len(out.Records) == 0 {
		s.iterator, s.closed = out.NextShardIterator, out.NextShardIterator == nil
		return 0, nil
	}
	ev := kinesisEvent(stream, s.id, out.Records)
	inv := KinesisInvocation{Shard: s.id, Retry: s.retries, Event: ev}
	if inv.Response, inv.Err = m.invoke(ctx, ev); inv.Err == nil {
		inv.Err = unknownItems(inv)
	}
	if ctx.Err() != nil {
		return 0, nil // the answer of an invocation cut short is nobody's
	}
	m.mu.Lock()
	m.invocations = append(m.invocations, inv)
	m.mu.Unlock()
	m.log(slog.LevelInfo, "kinesis batch invoked", "shard", s.id, "records", len(ev.Records), "retry", inv.Retry,
		"reported", len(inv.Reported()), "error", inv.Err)

	checkpoint, failed := checkpointOf(inv)
	if !failed {
		s.iterator, s.closed, s.retries = out.NextShardIterator, out.NextShardIterator == nil, 0
		return len(out.Records), nil
	}
	if s.position == types.ShardIteratorTypeAtSequenceNumber && s.at == checkpoint {
		s.retries++
	} else {
		s.retries = 1
	}
	s.iterator, s.position, s.at, s.wait = nil, types.ShardIteratorTypeAtSequenceNumber, checkpoint, time.Now().Add(m.cfg.RetryDelay)
	if s.retries > m.cfg.MaxRetries {
		from := slices.IndexFunc(ev.Records, func(r events.KinesisEventRecord) bool { return r.Kinesis.SequenceNumber == checkpoint })
		m.mu.Lock()
		m.discarded = append(m.discarded, ev.Records[from:]...)
		m.mu.Unlock()
		m.log(slog.LevelWarn, "kinesis records discarded after their retries", "shard", s.id,
			"records", len(ev.Records)-from, "from", checkpoint, "retries", m.cfg.MaxRetries)
		s.position, s.at, s.retries = types.ShardIteratorTypeAfterSequenceNumber, ev.Records[len(ev.Records)-1].Kinesis.SequenceNumber, 0
	}
	return len(out.Records), nil
}

func (m *KinesisMapping) log(level slog.Level, msg string, args ...any) {
	if m.cfg.Logger != nil {
		m.cfg.Logger.Log(context.Background(), level, msg, append([]any{"stream", m.cfg.Stream}, args...)...)
	}
}

// kinesisEvent builds the event of records read from shard of stream, field by field
// as Lambda's example event has them ("Using Lambda with Kinesis Data Streams").
func kinesisEvent(stream, shard string, records []types.Record) events.KinesisEvent {
	region, account := Region, "000000000000"
	if a, err := arn.Parse(stream); err == nil {
		region, account = a.Region, a.AccountID
	}
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(records))}
	for i, r := range records {
		seq := aws.ToString(r.SequenceNumber)
		ev.Records[i] = events.KinesisEventRecord{
			AwsRegion:         region,
			EventID:           shard + ":" + seq,
			EventName:         "aws:kinesis:record",
			EventSource:       "aws:kinesis",
			EventSourceArn:    stream,
			EventVersion:      "1.0",
			InvokeIdentityArn: "arn:aws:iam::" + account + ":role/pusher-kinesis",
			Kinesis: events.KinesisRecord{
				KinesisSchemaVersion:        "1.0",
				PartitionKey:                aws.ToString(r.PartitionKey),
				SequenceNumber:              seq,
				Data:                        r.Data, // base64 in the JSON, as []byte
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: aws.ToTime(r.ApproximateArrivalTimestamp)},
			},
		}
		if r.EncryptionType == types.EncryptionTypeKms {
			ev.Records[i].Kinesis.EncryptionType = string(r.EncryptionType)
		}
	}
	return ev
}

// invoke invokes the function with ev and reads its answer. The error is the
// function's, or what makes the answer a complete failure.
func (m *KinesisMapping) invoke(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	var resp events.KinesisEventResponse
	payload, err := json.Marshal(ev)
	if err != nil {
		return resp, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.cfg.FunctionURL, bytes.NewReader(payload))
	if err != nil {
		return resp, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return resp, fmt.Errorf("invoke %s: %w", m.cfg.FunctionURL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return resp, fmt.Errorf("invoke %s: read the answer: %w", m.cfg.FunctionURL, err)
	}
	// A function error comes back as {"errorMessage":..., "errorType":...}.
	var answer struct {
		Failures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	switch {
	case res.StatusCode != http.StatusOK:
		return resp, fmt.Errorf("invoke %s: %s: %s", m.cfg.FunctionURL, res.Status, body)
	case json.Unmarshal(body, &answer) != nil:
		return resp, fmt.Errorf("the function answered %s, not a response", body)
	case answer.ErrorType != "" || answer.ErrorMessage != "":
		return resp, fmt.Errorf("the function failed: %s: %s", answer.ErrorType, answer.ErrorMessage)
	}
	for _, f := range answer.Failures {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: aws.ToString(f.ItemIdentifier)})
		if f.ItemIdentifier == nil {
			err = errors.New("a batch item failure without itemIdentifier")
		}
	}
	return resp, err
}

// unknownItems returns an error when inv's answer names an item that is no sequence
// number of its batch, such as an empty one: Lambda takes it for a complete failure.
func unknownItems(inv KinesisInvocation) error {
	seqs := inv.Sequences()
	for _, id := range inv.Reported() {
		if !slices.Contains(seqs, id) {
			return fmt.Errorf("the function reported item %q, no sequence number of the batch", id)
		}
	}
	return nil
}

// checkpointOf returns where the shard of inv is retried from, and whether it is: the
// lowest sequence number inv's answer reported, or the batch's first for a complete
// failure.
func checkpointOf(inv KinesisInvocation) (string, bool) {
	if inv.Err != nil {
		return inv.Event.Records[0].Kinesis.SequenceNumber, true
	}
	var lowest *big.Int
	checkpoint := ""
	for _, id := range inv.Reported() {
		// Sequence numbers are decimal numbers of up to 128 bits, of varying lengths.
		n, _ := new(big.Int).SetString(id, 10)
		if lowest == nil || n.Cmp(lowest) < 0 {
			lowest, checkpoint = n, id
		}
	}
	return checkpoint, checkpoint != ""
}
