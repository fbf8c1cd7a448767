package terraform_test

// The checks of the example deploy/examples/serve-kinesis, seed 002 for `pusher serve`:
// its EventBridge Pipe hands each record of the stream, unchanged, to the queue the
// service reads, one message per record, in a vehicle's order when the queue is FIFO;
// its role reads that stream and sends to those queues, nothing else.

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// serveKinesisDir is the example of a Pipe in front of `pusher serve`.
const serveKinesisDir = "../examples/serve-kinesis"

// pipeRole is the Pipe's role: read the stream, send to the queue and to the Pipe's
// dead-letter queue.
var pipeRole = role{name: "pipe", grants: []grant{
	{
		sid:       "Stream",
		actions:   []string{"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"},
		resources: []string{"aws_kinesis_stream.vehicles.arn"},
	},
	{sid: "Queue", actions: []string{"sqs:SendMessage"}, resources: []string{"aws_sqs_queue.notifications.arn"}},
	{sid: "DeadLetters", actions: []string{"sqs:SendMessage"}, resources: []string{"aws_sqs_queue.pipe_dlq.arn"}},
}}

// wantPipeTrust is the Pipe role's trust policy: EventBridge Pipes of this account.
const wantPipeTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"pipes.amazonaws.com"},"Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}`

// wantPipe is the Pipe, as written: from the stream to the queue, with its role, no
// enrichment; the stream read from the newest record, in batches of at most 10 (what
// SQS takes at once), bisected, retried a bounded number of times for a bounded time,
// then recorded in the Pipe's dead-letter queue; made once its role may do so.
var wantPipe = map[string]string{
	"source":     "aws_kinesis_stream.vehicles.arn",
	"target":     "aws_sqs_queue.notifications.arn",
	"role_arn":   "aws_iam_role.pipe.arn",
	"enrichment": "",
	"depends_on": "[aws_iam_role_policy.pipe]",
}

var wantPipeSource = map[string]string{
	"starting_position":             `"LATEST"`,
	"batch_size":                    "10",
	"on_partial_batch_item_failure": `"AUTOMATIC_BISECT"`,
	"maximum_retry_attempts":        "10",
	"maximum_record_age_in_seconds": "3600",
}

// checkPipe checks the Pipe, its role and its queues, and, for a standard and a FIFO
// queue, the queue's name and type and the message group of each record.
func checkPipe(m *module) error {
	var errs []error
	pipe, err := m.one("resource", "aws_pipes_pipe", "vehicles")
	if err != nil {
		return err
	}
	errs = append(errs, checkAttrs(m, pipe, wantPipe))
	if src, err := nestedOne(pipe, "source_parameters", "kinesis_stream_parameters"); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, checkAttrs(m, src, wantPipeSource))
		if dlq, err := nestedOne(src, "dead_letter_config"); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, checkAttrs(m, dlq, map[string]string{"arn": "aws_sqs_queue.pipe_dlq.arn"}))
		}
	}
	// The records reach the queue as the Pipe's Kinesis events, which the pusher reads:
	// no filter drops any, no input template rewrites them.
	if src, err := nestedOne(pipe, "source_parameters"); err == nil && len(nested(src, "filter_criteria")) > 0 {
		errs = append(errs, errors.New("pipe: a filter drops records the pusher would push"))
	}

	// The target's parameters, by var.fifo: a FIFO queue's message group is the record's
	// partition key (the vehicle), its deduplication id the record's event id.
	var dyn *hclsyntax.Block
	for _, b := range nested(pipe, "dynamic") {
		if b.Labels[0] == "target_parameters" {
			dyn = b
		}
	}
	if dyn == nil || len(nested(pipe, "target_parameters")) > 0 {
		return errors.Join(append(errs, errors.New("pipe: the target's parameters are not a dynamic block of var.fifo"))...)
	}
	content, err := nestedOne(dyn, "content")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if len(content.Body.Attributes) > 0 || len(content.Body.Blocks) != 1 {
		errs = append(errs, fmt.Errorf("pipe: the target's parameters have more than sqs_queue_parameters (an input template rewrites the records)"))
	}
	sqsParams, err := nestedOne(content, "sqs_queue_parameters")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, checkAttrs(m, sqsParams, map[string]string{
		"message_group_id":         `"$.partitionKey"`,
		"message_deduplication_id": `"$.eventID"`,
	}))

	queue, err := m.one("resource", "aws_sqs_queue", "notifications")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	queueDLQ, err := m.one("resource", "aws_sqs_queue", "notifications_dlq")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, fifo := range []bool{false, true} {
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"fifo": cty.BoolVal(fifo), "prefix": cty.StringVal("v")})},
		}
		forEach, err := eval(dyn, "for_each", ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want := 0
		if fifo {
			want = 1
		}
		if n := forEach.LengthInt(); n != want {
			errs = append(errs, fmt.Errorf("fifo %v: %d target parameters, want %d", fifo, n, want))
		}
		for _, q := range []*hclsyntax.Block{queue, queueDLQ} {
			name, err := eval(q, "name", ctx)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			isFIFO, err := eval(q, "fifo_queue", ctx)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if strings.HasSuffix(name.AsString(), ".fifo") != fifo || !isFIFO.RawEquals(cty.BoolVal(fifo)) {
				errs = append(errs, fmt.Errorf("fifo %v: queue %s is %s, fifo_queue %#v", fifo, q.Labels[1], name.AsString(), isFIFO))
			}
		}
	}

	errs = append(errs, checkDocument(m, pipeRole))
	errs = append(errs, checkPipeTrust(m))
	return errors.Join(errs...)
}

// checkPipeTrust checks that only EventBridge Pipes of the account may assume the
// Pipe's role, and that the role has no policy but its document.
func checkPipeTrust(m *module) error {
	r, err := m.one("resource", "aws_iam_role", "pipe")
	if err != nil {
		return err
	}
	if _, ok := r.Body.Attributes["managed_policy_arns"]; ok || len(nested(r, "inline_policy")) > 0 {
		return errors.New("pipe role: grants beyond its document")
	}
	for _, res := range m.find("resource") {
		if typ := res.Labels[0]; (typ == "aws_iam_role_policy" && res.Labels[1] != "pipe") || typ == "aws_iam_role_policy_attachment" || typ == "aws_iam_policy" {
			return fmt.Errorf("resource %s.%s: the Pipe's role gets its grants from one policy document", typ, res.Labels[1])
		}
	}
	if err := checkAttrs(m, m.find("resource", "aws_iam_role_policy", "pipe")[0], map[string]string{
		"role": "aws_iam_role.pipe.id", "policy": "data.aws_iam_policy_document.pipe.json",
	}); err != nil {
		return err
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"data": cty.ObjectVal(map[string]cty.Value{
			"aws_caller_identity": cty.ObjectVal(map[string]cty.Value{
				"current": cty.ObjectVal(map[string]cty.Value{"account_id": cty.StringVal("123456789012")}),
			}),
		})},
		Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc},
	}
	v, err := eval(r, "assume_role_policy", ctx)
	if err != nil || v.Type() != cty.String {
		return fmt.Errorf("pipe role: assume_role_policy is not jsonencode of a literal: %v", err)
	}
	var got, want any
	if err := json.Unmarshal([]byte(v.AsString()), &got); err != nil {
		return fmt.Errorf("pipe role: %w", err)
	}
	if err := json.Unmarshal([]byte(wantPipeTrust), &want); err != nil {
		return fmt.Errorf("wantPipeTrust: %w", err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("pipe role: trust policy\n have %s\n want %s", v.AsString(), wantPipeTrust)
	}
	return nil
}

func TestServeKinesisExample(t *testing.T) {
	m, err := loadModule(serveKinesisDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPipe(m); err != nil {
		t.Error(err)
	}
}

// TestPipeChecksCatchChanges edits a copy of the example in ways that would rewrite,
// drop, reorder or lose the records, or let the Pipe do more, and expects the checks to
// see each.
func TestPipeChecksCatchChanges(t *testing.T) {
	cases := []mutation{
		{"input template", "pipe.tf", `  dynamic "target_parameters" {
    for_each = var.fifo ? [1] : []
    content {`, `  dynamic "target_parameters" {
    for_each = var.fifo ? [1] : []
    content {
      input_template = "{\"data\": <$.data>}"`},
		{"filter", "pipe.tf", `  source_parameters {
`, `  source_parameters {
    filter_criteria {
      filter {
        pattern = jsonencode({ partitionKey = ["v-1"] })
      }
    }
`},
		{"one group for every vehicle", "pipe.tf", `message_group_id         = "$.partitionKey"`, `message_group_id         = "vehicles"`},
		{"equal positions deduplicated", "pipe.tf", `message_deduplication_id = "$.eventID"`, `message_deduplication_id = "$.data"`},
		{"group on a standard queue", "pipe.tf", `for_each = var.fifo ? [1] : []`, `for_each = [1]`},
		{"queue never FIFO", "main.tf", `  fifo_queue                 = var.fifo`, `  fifo_queue                 = false`},
		{"dead-letter queue of another type", "main.tf", `  fifo_queue                = var.fifo`, `  fifo_queue                = false`},
		{"batches SQS refuses", "pipe.tf", `batch_size                         = 10`, `batch_size                         = 100`},
		{"retried forever", "pipe.tf", `maximum_retry_attempts        = 10`, `maximum_retry_attempts        = -1`},
		{"no dead-letter queue", "pipe.tf", `      dead_letter_config {
        arn = aws_sqs_queue.pipe_dlq.arn
      }
`, ``},
		{"to another queue", "pipe.tf", `target   = aws_sqs_queue.notifications.arn`, `target   = aws_sqs_queue.notifications_dlq.arn`},
		{"stream written", "pipe.tf", `"kinesis:ListShards",`, `"kinesis:ListShards",
      "kinesis:PutRecord",`},
		{"any queue", "pipe.tf", `resources = [aws_sqs_queue.notifications.arn]`, `resources = ["*"]`},
		{"any account's Pipes", "pipe.tf", `      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
`, ``},
		{"policy attached", "pipe.tf", `resource "aws_iam_role_policy" "pipe" {`, `resource "aws_iam_role_policy_attachment" "sqs" {
  role       = aws_iam_role.pipe.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSQSFullAccess"
}

resource "aws_iam_role_policy" "pipe" {`},
	}
	caught(t, serveKinesisDir, cases, checkPipe, "example")
}
