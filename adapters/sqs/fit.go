package sqs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// SQS's bounds on a queue's MaximumMessageSize. "MaximumMessageSize – The limit of how
// many bytes a message can contain before Amazon SQS rejects it. Valid values: An
// integer from 1,024 bytes (1 KiB) to 1,048,576 bytes (1 MiB). Default: 1,048,576 bytes
// (1 MiB)." (CreateQueue, Amazon SQS API Reference,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
// Until SQS raised its limit in August 2025, 262,144 bytes (256 KiB) was both the
// largest size and the default, so queues made before are likely set to it; a queue
// takes that much unless set lower: DefaultMaxMessageBytes.
const (
	minMessageBytes = 1024
	maxMessageBytes = 1 << 20
	// DefaultMaxMessageBytes is the largest parked message by default: 262,144 bytes,
	// which a queue takes whenever it was made, unless set lower.
	DefaultMaxMessageBytes = 256 << 10
)

// Metadata that a parked message gets when its payload had to be truncated to fit the
// poison queue. A message without TruncatedFromKey holds its whole payload.
const (
	// TruncatedFromKey holds the size in bytes of the payload before it was truncated.
	TruncatedFromKey = "payload_truncated_from"
	// PayloadSHA256Key holds the hex SHA-256 of the payload before it was truncated.
	PayloadSHA256Key = "payload_sha256"
)

const (
	// clipMetadataAt is the length metadata values are cut to when the metadata would
	// take more than half of a parked message that does not fit: a correlation id or a
	// reason that large is an anomaly, the payload is what a replay needs.
	clipMetadataAt = 1024
	// gzipLevel is gzip's default: on text such as JSON, within 15% of its best and
	// several times faster.
	gzipLevel = gzip.DefaultCompression
	// maxUnpackedBytes bounds what a gzip body may expand to when it is read back; no
	// payload the pusher parks comes near it.
	maxUnpackedBytes = 64 << 20
)

// fitting tells how a parked message was made to fit the queue.
type fitting struct {
	how      string // "", "compressed", "metadata cut" or "truncated"
	original int    // bytes of the payload
	kept     int    // bytes of the payload the message holds
}

// messageSize is what SQS counts against a queue's MaximumMessageSize: the body and
// every attribute's name, data type and value. "All parts of the message attribute,
// including Name, Type, and Value, are part of the message size restriction"
// (MessageAttributeValue, Amazon SQS API Reference,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html).
func messageSize(m *types.Message) int {
	n := len(aws.ToString(m.Body))
	for name, v := range m.MessageAttributes {
		n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// fit marshals msg into a message of at most limit bytes. It keeps msg whole if it can:
// as it is, else with its payload gzip-compressed. Only if that is still too large is
// the payload truncated, keeping as much as fits, with its size and SHA-256 in the
// metadata and a note in the reason. Metadata that would take over half of the message
// is cut first, with a note too.
func fit(msg *message.Message, limit int) (*types.Message, fitting, error) {
	f := fitting{original: len(msg.Payload), kept: len(msg.Payload)}
	out, compressed, err := whole(msg.UUID, msg.Metadata, msg.Payload, limit)
	if compressed {
		f.how = "compressed"
	}
	if err != nil || out != nil {
		return out, f, err
	}

	f.how = "truncated"
	md := msg.Metadata
	budget, err := bodyBudget(msg.UUID, md, limit)
	if err == nil && budget < limit/2 {
		md = clipMetadata(md, clipMetadataAt)
		if out, _, err = whole(msg.UUID, md, msg.Payload, limit); err != nil || out != nil {
			f.how = "metadata cut"
			return out, f, err
		}
	}
	md = truncatedMetadata(md, msg.Payload)
	if budget, err = bodyBudget(msg.UUID, md, limit); err != nil {
		return nil, f, err
	}
	if budget < len(emptyBody) {
		return nil, f, handlers.Permanent(fmt.Errorf("marshal %s: its metadata alone is over the queue's %d bytes", msg.UUID, limit))
	}
	body, encoding, kept := truncate(msg.Payload, budget)
	f.kept = kept
	out, err = marshal(msg.UUID, md, body, encoding)
	return out, f, err
}

// whole returns the message of uuid, md and the whole payload, plainly or else
// compressed, if it fits in limit bytes; nil if it does not.
func whole(uuid string, md message.Metadata, payload []byte, limit int) (out *types.Message, compressed bool, err error) {
	body, encoding := plainBody(payload)
	if out, err = marshal(uuid, md, body, encoding); err != nil || messageSize(out) <= limit {
		return out, false, err
	}
	if out, err = marshal(uuid, md, gzipBase64(payload), bodyGzip); err != nil || messageSize(out) <= limit {
		return out, true, err
	}
	return nil, false, nil
}

// bodyBudget returns how many bytes of body a message of uuid and md can have within
// limit, whatever its body encoding.
func bodyBudget(uuid string, md message.Metadata, limit int) (int, error) {
	head, err := marshal(uuid, md, "", bodyGzip) // the longest encoding
	if err != nil {
		return 0, err
	}
	return limit - messageSize(head), nil
}

// clipMetadata returns a copy of md with the values longer than n bytes cut to n, and
// a note in the reason that names them.
func clipMetadata(md message.Metadata, n int) message.Metadata {
	md = maps.Clone(md)
	var clipped []string
	for k, v := range md {
		if len(v) > n {
			md[k] = cutUTF8(v, n)
			clipped = append(clipped, k)
		}
	}
	slices.Sort(clipped)
	addNote(md, fmt.Sprintf("metadata cut to fit the poison queue: %s to %d bytes", strings.Join(clipped, ", "), n))
	return md
}

// truncatedMetadata returns a copy of md for a message whose payload is truncated: the
// size and SHA-256 of the whole payload, and a note in the reason.
func truncatedMetadata(md message.Metadata, payload []byte) message.Metadata {
	md = maps.Clone(md)
	if md == nil {
		md = message.Metadata{}
	}
	h := sha256.Sum256(payload)
	sum := hex.EncodeToString(h[:])
	md[TruncatedFromKey] = strconv.Itoa(len(payload))
	md[PayloadSHA256Key] = sum
	addNote(md, fmt.Sprintf("payload truncated to fit the poison queue: it was %d bytes, sha256 %s", len(payload), sum))
	return md
}

// addNote adds note to the reason of md.
func addNote(md message.Metadata, note string) {
	if reason := md[middleware.ReasonForPoisonedKey]; reason != "" {
		note = reason + " [" + note + "]"
	}
	md[middleware.ReasonForPoisonedKey] = note
}

// truncate returns a body of at most budget bytes holding as much of the start of
// payload as fits, plainly or gzip-compressed, whichever keeps more.
func truncate(payload []byte, budget int) (body, encoding string, kept int) {
	// Plainly: as text cut at a character, or base64 of fewer bytes.
	if sqsText(string(payload)) {
		body = cutUTF8(string(payload[:min(budget, len(payload))]), budget)
		kept = len(body)
	} else {
		kept = min(budget/4*3, len(payload))
		body, encoding = base64.StdEncoding.EncodeToString(payload[:kept]), bodyBase64
	}
	if kept == 0 {
		body, encoding = emptyBody, bodyEmpty
	}
	if z, n := gzipPrefix(payload, budget, kept); n > kept {
		return z, bodyGzip, n
	}
	return body, encoding, kept
}

// gzipChunk is the step in which gzipPrefix measures how much of a payload fits.
const gzipChunk = 8 << 10

// gzipPrefix returns the gzip-compressed base64 of the longest start of payload, in
// steps of gzipChunk bytes, that is at most budget bytes long, and the length of that
// start; nothing if that start is not longer than atLeast. One pass measures the
// compressed length after each step, flushing; the start compressed in one go is
// hardly ever longer than that, so it fits at the first try.
func gzipPrefix(payload []byte, budget, atLeast int) (string, int) {
	var out countingWriter
	z, _ := gzip.NewWriterLevel(&out, gzipLevel) // a valid level: no error
	n := 0
	for n < len(payload) {
		next := min(n+gzipChunk, len(payload))
		_, _ = z.Write(payload[n:next]) // writes to a countingWriter do not fail
		_ = z.Flush()
		// The final block and gzip's trailer add 10 bytes; the rest is margin.
		if base64.StdEncoding.EncodedLen(int(out)+32) > budget {
			break
		}
		n = next
	}
	for ; n > atLeast; n -= gzipChunk {
		if body := gzipBase64(payload[:n]); len(body) <= budget {
			return body, n
		}
	}
	return "", 0
}

// countingWriter counts the bytes written to it.
type countingWriter int

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// cutUTF8 returns at most the first n bytes of s, not splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// plainBody returns the body that holds payload uncompressed, and its encoding.
func plainBody(payload []byte) (body, encoding string) {
	switch {
	case len(payload) == 0:
		return emptyBody, bodyEmpty
	case !sqsText(string(payload)):
		return base64.StdEncoding.EncodeToString(payload), bodyBase64
	default:
		return string(payload), ""
	}
}

func gzipBase64(payload []byte) string {
	var b bytes.Buffer
	w := base64.NewEncoder(base64.StdEncoding, &b)
	z, _ := gzip.NewWriterLevel(w, gzipLevel) // a valid level: no error
	_, _ = z.Write(payload)                   // writes to a bytes.Buffer do not fail
	_ = z.Close()
	_ = w.Close()
	return b.String()
}

func gunzipBase64(body string) ([]byte, error) {
	z, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, bytes.NewReader([]byte(body))))
	if err != nil {
		return nil, err
	}
	payload, err := io.ReadAll(io.LimitReader(z, maxUnpackedBytes+1))
	if err != nil {
		return nil, err
	}
	if len(payload) > maxUnpackedBytes {
		return nil, fmt.Errorf("expands to over %d bytes", maxUnpackedBytes)
	}
	return payload, nil
}
