package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill"
	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The message attributes of a parked message besides its metadata keys.
const (
	// UUIDAttribute holds the Watermill message's UUID; it is watermill-aws's, so its
	// default unmarshaler reads it too.
	UUIDAttribute = wmsqs.UUIDAttribute
	// MetadataAttribute holds, as a JSON object of strings, the metadata that has no
	// attribute of its own.
	MetadataAttribute = "pusher_metadata"
	// BodyEncodingAttribute tells how the body holds a payload SQS cannot carry as is:
	// "base64" for one that is not UTF-8 or has characters SQS refuses, "gzip+base64"
	// for one compressed to fit the queue, "empty" for an empty one, the body then being
	// a placeholder. It is absent when the body is the payload.
	BodyEncodingAttribute = "pusher_body_encoding"
)

// attributeKeys are the metadata keys that a parked message carries as attributes of
// their own, for the SQS console and tools to show and select: with UUIDAttribute,
// MetadataAttribute and BodyEncodingAttribute, at most 10, SQS's limit per message. The
// rest (the failure times, the resolve cursor, the connection id, Watermill's topic and
// subscriber) go to MetadataAttribute.
var attributeKeys = []string{
	middleware.PoisonedHandlerKey,
	middleware.ReasonForPoisonedKey,
	pipeline.ErrorClassKey,
	pipeline.AttemptsKey,
	pipeline.CorrelationIDKey,
	pipeline.RequestIDKey,
	pipeline.UserIDKey,
}

// Body encodings of BodyEncodingAttribute.
const (
	bodyBase64 = "base64"
	bodyGzip   = "gzip+base64"
	bodyEmpty  = "empty"
)

const emptyBody = "(empty payload)"

// PoisonMarshaler is the format of the poison queue's messages. The body is the
// message's payload as is: the original request for the decode stage, the delivery's
// frame for the post stage. The UUID and metadata are message attributes: see
// attributeKeys, MetadataAttribute and BodyEncodingAttribute. A message is made to fit
// MaxMessageBytes: compressed if it must, and only if that is not enough with its
// payload truncated (see TruncatedFromKey). It implements watermill-aws's sqs.Marshaler
// and sqs.Unmarshaler, so a watermill-aws subscriber of the poison queue can read
// parked messages back.
type PoisonMarshaler struct {
	// MaxMessageBytes is the largest message Marshal makes, as SQS counts it: at most
	// the queue's MaximumMessageSize. Zero is DefaultMaxMessageBytes.
	MaxMessageBytes int
}

var (
	_ wmsqs.Marshaler   = PoisonMarshaler{}
	_ wmsqs.Unmarshaler = PoisonMarshaler{}
)

// Marshal implements watermill-aws's sqs.Marshaler. It fails only for a message whose
// metadata alone is too large for MaxMessageBytes.
func (m PoisonMarshaler) Marshal(msg *message.Message) (*types.Message, error) {
	out, _, err := fit(msg, m.limit())
	return out, err
}

func (m PoisonMarshaler) limit() int {
	if m.MaxMessageBytes == 0 {
		return DefaultMaxMessageBytes
	}
	return m.MaxMessageBytes
}

// marshal returns the SQS message of a parked message with body, which holds its
// payload in encoding.
func marshal(uuid string, md message.Metadata, body, encoding string) (*types.Message, error) {
	attrs := make(map[string]types.MessageAttributeValue, 10)
	set := func(name, value string) {
		attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
	}
	if uuid != "" && sqsText(uuid) {
		set(UUIDAttribute, uuid)
	}
	rest := make(map[string]string)
	for k, v := range md {
		// SQS refuses empty attributes and some characters: JSON keeps them.
		if slices.Contains(attributeKeys, k) && v != "" && sqsText(v) {
			set(k, v)
		} else {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		v, err := marshalMetadata(rest)
		if err != nil {
			return nil, fmt.Errorf("marshal the metadata of %s: %w", uuid, err)
		}
		set(MetadataAttribute, v)
	}
	if encoding != "" {
		set(BodyEncodingAttribute, encoding)
	}
	return &types.Message{Body: aws.String(body), MessageAttributes: attrs}, nil
}

// Unmarshal implements watermill-aws's sqs.Unmarshaler: it rebuilds a message Marshal
// made, with its UUID, payload and metadata. A message of another format gets SQS's
// message id, its body, and its string attributes as metadata.
func (PoisonMarshaler) Unmarshal(m *types.Message) (*message.Message, error) {
	if m == nil {
		return nil, errors.New("unmarshal a parked message: nil")
	}
	id := aws.ToString(m.MessageId)
	md := make(message.Metadata, len(m.MessageAttributes))
	var uuid, encoding string
	for name, v := range m.MessageAttributes {
		if v.StringValue == nil {
			continue
		}
		switch name {
		case UUIDAttribute:
			uuid = *v.StringValue
		case BodyEncodingAttribute:
			encoding = *v.StringValue
		case MetadataAttribute:
			rest, err := unmarshalMetadata(*v.StringValue)
			if err != nil {
				return nil, fmt.Errorf("unmarshal parked message %s: %s: %w", id, MetadataAttribute, err)
			}
			for k, v := range rest {
				if _, ok := md[k]; !ok { // an attribute of its own wins
					md[k] = v
				}
			}
		default:
			md[name] = *v.StringValue
		}
	}
	body := aws.ToString(m.Body)
	var payload []byte
	switch encoding {
	case "":
		payload = []byte(body)
	case bodyEmpty:
	case bodyBase64:
		var err error
		if payload, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, fmt.Errorf("unmarshal parked message %s: body: %w", id, err)
		}
	case bodyGzip:
		var err error
		if payload, err = gunzipBase64(body); err != nil {
			return nil, fmt.Errorf("unmarshal parked message %s: body: %w", id, err)
		}
	default:
		return nil, fmt.Errorf("unmarshal parked message %s: unknown %s %q", id, BodyEncodingAttribute, encoding)
	}
	if uuid == "" {
		uuid = id
	}
	if uuid == "" {
		uuid = watermill.NewUUID()
	}
	msg := message.NewMessage(uuid, payload)
	msg.Metadata = md
	return msg, nil
}

// metadataBinary prefixes a MetadataAttribute value that holds metadata JSON cannot
// carry as SQS text: base64 of the JSON of its pairs of byte strings.
const metadataBinary = "base64:"

// marshalMetadata returns the MetadataAttribute value of md: its JSON object, readable
// in the SQS console, when SQS takes that as text and it holds every byte of md (JSON
// would replace bytes that are not UTF-8); otherwise a lossless binary form.
func marshalMetadata(md map[string]string) (string, error) {
	plain := true
	for k, v := range md {
		plain = plain && utf8.ValidString(k) && utf8.ValidString(v)
	}
	if plain {
		b, err := json.Marshal(md)
		if err != nil {
			return "", err
		}
		if sqsText(string(b)) {
			return string(b), nil
		}
	}
	pairs := make([][2][]byte, 0, len(md))
	for k, v := range md {
		pairs = append(pairs, [2][]byte{[]byte(k), []byte(v)})
	}
	b, err := json.Marshal(pairs)
	if err != nil {
		return "", err
	}
	return metadataBinary + base64.StdEncoding.EncodeToString(b), nil
}

// unmarshalMetadata reads a value marshalMetadata made.
func unmarshalMetadata(v string) (map[string]string, error) {
	b64, binary := strings.CutPrefix(v, metadataBinary)
	if !binary {
		var md map[string]string
		return md, json.Unmarshal([]byte(v), &md)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	var pairs [][2][]byte
	if err := json.Unmarshal(b, &pairs); err != nil {
		return nil, err
	}
	md := make(map[string]string, len(pairs))
	for _, p := range pairs {
		md[string(p[0])] = string(p[1])
	}
	return md, nil
}

// ParkedMessage rebuilds the Watermill message that the pipeline parked as the SQS
// message m of a PoisonQueue, payload and metadata, so that pipeline.ParkedFrom reads it
// and a replay can publish it again.
func ParkedMessage(m types.Message) (*message.Message, error) {
	return PoisonMarshaler{}.Unmarshal(&m)
}

// sqsText tells whether SQS takes s as a body or string attribute: UTF-8 of #x9, #xA,
// #xD, #x20 to #xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF.
func sqsText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// PoisonQueue parks messages on an SQS queue, in PoisonMarshaler's format. It is the
// message.Publisher the pipeline's poison middleware publishes to; the topic is ignored.
//
// Parks are sent with SendMessageBatch: those of concurrent Publish calls, hundreds at
// once when a broadcast's posts are shed, are merged into batches of up to 10 messages,
// while a park alone goes out at once. Each call gets the result of its own messages.
type PoisonQueue struct {
	client    *sqs.Client
	queueURL  string
	marshaler PoisonMarshaler
	logger    *slog.Logger
	batches   *batcher[types.SendMessageBatchRequestEntry]

	mu     sync.RWMutex // held by Publish calls, and by Close to stop them
	closed bool
}

var _ message.Publisher = (*PoisonQueue)(nil)

// SQS's limit on the entries of one SendMessageBatch call: "You can use
// SendMessageBatch to send up to 10 messages to the specified queue"
// (SendMessageBatch, Amazon SQS API Reference,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
const maxBatchEntries = 10

// ErrPoisonQueueClosed is returned by Publish after Close.
var ErrPoisonQueueClosed = errors.New("poison queue closed")

// NewPoisonQueue returns a PoisonQueue of the queue cfg.QueueURL, with an SQS client
// made of awsCfg and cfg.OptFns. It never creates the queue.
func NewPoisonQueue(awsCfg aws.Config, cfg PoisonConfig) (*PoisonQueue, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("poison queue config: %w", err)
	}
	q := &PoisonQueue{
		client:    sqs.NewFromConfig(awsCfg, cfg.OptFns...),
		queueURL:  cfg.QueueURL,
		marshaler: PoisonMarshaler{MaxMessageBytes: cfg.MaxMessageBytes},
		logger:    cfg.Logger,
	}
	q.batches = &batcher[types.SendMessageBatchRequestEntry]{
		maxItems: maxBatchEntries,
		// "The maximum allowed individual message size and the maximum total payload
		// size (the sum of the individual lengths of all of the batched messages) are
		// both 1 MiB (1,048,576 bytes)" (SendMessageBatch, Amazon SQS API Reference);
		// it was 256 KiB before August 2025. A batch holds no more than one message may,
		// which is within either.
		maxBytes:    cfg.MaxMessageBytes,
		maxInFlight: cfg.BatchesInFlight,
		timeout:     cfg.SendTimeout,
		send:        q.sendBatch,
	}
	return q, nil
}

// Publish parks msgs; the topic is ignored. It returns once each is in the queue or
// failed, with an error naming each that failed. A message that SQS refuses for what it
// is (a SenderFault entry, such as one over the queue's MaximumMessageSize) fails with
// a permanent error (handlers.Permanent), unless another in the same call failed with
// an error that is not. When some of msgs fail, the others are parked all the same.
func (q *PoisonQueue) Publish(_ string, msgs ...*message.Message) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return fmt.Errorf("park on %s: %w", q.queueURL, ErrPoisonQueueClosed)
	}
	var errs []error
	entries := make([]types.SendMessageBatchRequestEntry, 0, len(msgs))
	sizes := make([]int, 0, len(msgs))
	uuids := make([]string, 0, len(msgs))
	for _, msg := range msgs {
		m, f, err := fit(msg, q.marshaler.limit())
		if err != nil {
			errs = append(errs, fmt.Errorf("park %s on %s: %w", msg.UUID, q.queueURL, err))
			continue
		}
		q.logFitting(msg, f)
		entries = append(entries, types.SendMessageBatchRequestEntry{MessageBody: m.Body, MessageAttributes: m.MessageAttributes})
		sizes = append(sizes, messageSize(m))
		uuids = append(uuids, msg.UUID)
	}
	for i, err := range q.batches.do(entries, sizes) {
		if err != nil {
			errs = append(errs, fmt.Errorf("park %s on %s: %w", uuids[i], q.queueURL, err))
		}
	}
	return joinParkErrors(errs)
}

// logFitting logs a message that had to be compressed or cut to fit the queue.
func (q *PoisonQueue) logFitting(msg *message.Message, f fitting) {
	attrs := []any{"uuid", msg.UUID, "request_id", msg.Metadata.Get(pipeline.RequestIDKey),
		"stage", msg.Metadata.Get(middleware.PoisonedHandlerKey), "payload_bytes", f.original}
	switch f.how {
	case "compressed":
		q.logger.Debug("parked payload compressed to fit the poison queue", attrs...)
	case "metadata cut":
		q.logger.Warn("parked metadata cut to fit the poison queue", attrs...)
	case "truncated":
		q.logger.Warn("parked payload truncated to fit the poison queue", append(attrs, "kept_bytes", f.kept)...)
	}
}

// sendBatch sends entries with one SendMessageBatch call and returns the result of each.
func (q *PoisonQueue) sendBatch(ctx context.Context, entries []types.SendMessageBatchRequestEntry) []error {
	return sendBatch(ctx, q.client, q.queueURL, entries)
}

// sendBatch sends entries to queueURL with one SendMessageBatch call and returns the
// result of each: an entry SQS blames on the sender fails with a permanent error.
func sendBatch(ctx context.Context, client *sqs.Client, queueURL string, entries []types.SendMessageBatchRequestEntry) []error {
	batch := make([]types.SendMessageBatchRequestEntry, len(entries))
	for i, e := range entries {
		e.Id = aws.String(strconv.Itoa(i))
		batch[i] = e
	}
	out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: batch})
	var done []*string
	var failed []types.BatchResultErrorEntry
	if err == nil {
		for _, s := range out.Successful {
			done = append(done, s.Id)
		}
		failed = out.Failed
	}
	errs := batchResults("SendMessageBatch", len(entries), err, done, failed)
	for i, err := range errs {
		var e *EntryError
		if errors.As(err, &e) && e.SenderFault {
			errs[i] = handlers.Permanent(e)
		}
	}
	return errs
}

// batchResults returns the result of each of the n entries of a batch call op from its
// answer: the call's error callErr for all of them, else nil for the ids in done, an
// *EntryError for those failed, and an error for an entry it names in neither.
func batchResults(op string, n int, callErr error, done []*string, failed []types.BatchResultErrorEntry) []error {
	errs := make([]error, n)
	if callErr != nil {
		callErr = fmt.Errorf("%s of %d messages: %w", op, n, callErr)
		for i := range errs {
			errs[i] = callErr
		}
		return errs
	}
	ok := make([]bool, n)
	for _, id := range done {
		if i, in := entryIndex(id, n); in {
			ok[i] = true
		}
	}
	for _, f := range failed {
		if i, in := entryIndex(f.Id, n); in {
			errs[i] = &EntryError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault}
		}
	}
	for i := range errs {
		if errs[i] == nil && !ok[i] {
			errs[i] = fmt.Errorf("%s reported neither its success nor its failure", op)
		}
	}
	return errs
}

// entryIndex returns the index of the entry of id, as sendBatch numbers them.
func entryIndex(id *string, n int) (int, bool) {
	i, err := strconv.Atoi(aws.ToString(id))
	return i, err == nil && i >= 0 && i < n
}

// EntryError is SQS's refusal of one message of a SendMessageBatch call, which SQS
// lists in the call's Failed entries. Publish wraps one that SQS blames on the sender
// in handlers.Permanent: the same message cannot pass.
type EntryError struct {
	// Code and Message are SQS's, such as InvalidParameterValue.
	Code, Message string
	// SenderFault is SQS's: whether the message itself is at fault.
	SenderFault bool
}

// Error returns SQS's code and message.
func (e *EntryError) Error() string {
	return fmt.Sprintf("SQS refused the message: %s: %s", e.Code, e.Message)
}

// joinParkErrors joins the errors of one Publish call. The result is permanent only if
// every one of them is: else a retry of the call could pass for some.
func joinParkErrors(errs []error) error {
	if len(errs) <= 1 || !slices.ContainsFunc(errs, func(err error) bool { return !handlers.IsPermanent(err) }) {
		return errors.Join(errs...)
	}
	for i, err := range errs {
		if handlers.IsPermanent(err) {
			errs[i] = errors.New(err.Error())
		}
	}
	return errors.Join(errs...)
}

// Close stops taking parks, and waits for those under way to be sent.
func (q *PoisonQueue) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.batches.wait()
	return nil
}
