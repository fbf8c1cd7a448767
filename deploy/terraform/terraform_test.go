package terraform_test

// What terraform fmt, tflint and trivy (run by .ci/terraform) cannot know about the
// module, because it is this project's contract rather than good Terraform: the exact
// IAM grants of the function's role and of the authorizer's, the event source
// mapping's settings and preconditions, the function's runtime, handler, environment
// names and log group, and the $connect authorizer's function, identity source and
// permission; and of the example, the two-way routes whose answers reach the client
// and the authorizer on $connect.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// grant is one statement of the role's policy document: its actions, and the source of
// each of its resources (and, for a dynamic statement, of what it iterates over).
type grant struct {
	sid       string
	actions   []string
	resources []string
	forEach   string // "" for a statement written out
}

// wantGrants is every statement the function's role is allowed, and no other: one per
// resource, each with the actions the function calls on it (see deploy/README.md).
var wantGrants = []grant{
	{
		sid:       "ConnectionsTable",
		actions:   []string{"dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"},
		resources: []string{"var.connections_table.arn"},
	},
	{
		sid:     "SubscriptionsTable",
		actions: []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"},
		// Only when a subscriptions table is given.
		resources: []string{"statement.value.arn"},
		forEach:   "var.subscriptions_table==null?[]:[var.subscriptions_table]",
	},
	{
		sid:       "SubscriptionsIndex",
		actions:   []string{"dynamodb:Query"},
		resources: []string{`"${statement.value.arn}/index/by-connection"`},
		forEach:   "var.subscriptions_table==null?[]:[var.subscriptions_table]",
	},
	{
		sid:     "NotificationsQueue",
		actions: []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
		// Only when a queue is given.
		resources: []string{"statement.value"},
		forEach:   "var.notifications_queue_enabled?[var.notifications_queue_arn]:[]",
	},
	{
		sid:     "SegmentTasks",
		actions: []string{"sqs:SendMessage"},
		// Only when broadcasts are split, onto the notifications queue.
		resources: []string{"statement.value"},
		forEach:   "var.broadcast_split==null||!var.notifications_queue_enabled?[]:[var.notifications_queue_arn]",
	},
	{
		sid: "KinesisStream",
		// The stream's read actions, on the stream, only when one is given: no
		// kinesis:ListStreams, an action on the account, nor SubscribeToShard, an
		// enhanced fan-out consumer's.
		actions:   []string{"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"},
		resources: []string{"statement.value.arn"},
		forEach:   "var.kinesis_stream==null?[]:[var.kinesis_stream]",
	},
	{
		sid:       "KinesisKey",
		actions:   []string{"kms:Decrypt"},
		resources: []string{"statement.value"},
		forEach:   "[forsinlocal.kinesis_streams:s.kms_key_arnifs.kms_key_arn!=null]",
	},
	{
		sid:     "KinesisFailures",
		actions: []string{"sqs:SendMessage"},
		// The mapping's on-failure destination, which exists with the stream.
		resources: []string{"statement.value.arn"},
		forEach:   "aws_sqs_queue.kinesis_dlq",
	},
	{
		sid:     "AsyncFailures",
		actions: []string{"sqs:SendMessage"},
		// The function's destination of failed asynchronous invocations, which exists
		// only when SNS or an EventBridge rule invokes it.
		resources: []string{"statement.value.arn"},
		forEach:   "aws_sqs_queue.async_failures",
	},
	{
		sid: "QueueKeys",
		// The queues' customer managed keys given, and no other: Decrypt to receive,
		// GenerateDataKey to send (SQS's "Configuring AWS KMS permissions").
		actions:   []string{"kms:Decrypt", "kms:GenerateDataKey"},
		resources: []string{"statement.value"},
		forEach:   "length(var.kms_key_arns)==0?[]:[var.kms_key_arns]",
	},
	{
		sid: "PoisonQueue",
		// Parking, and the start-up check that the queue exists (read-only).
		actions:   []string{"sqs:SendMessage", "sqs:GetQueueAttributes"},
		resources: []string{"aws_sqs_queue.poison.arn"},
	},
	{
		sid:       "ManageConnections",
		actions:   []string{"execute-api:ManageConnections"},
		resources: []string{`"${trimsuffix(var.agma_arn,"/*")}/*"`},
	},
	{
		sid:       "Logs",
		actions:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		resources: []string{"aws_cloudwatch_log_group.pusher.arn", `"${aws_cloudwatch_log_group.pusher.arn}:*"`},
	},
}

// wantAuthorizerGrants is every statement the authorizer's role is allowed, and no
// other: its key, read once at init, by where it is kept, and its logs.
var wantAuthorizerGrants = []grant{
	{
		sid:       "ConnectTokenSecret",
		actions:   []string{"secretsmanager:GetSecretValue"},
		resources: []string{"statement.value"},
		forEach:   `[forainlocal.authorizers:a.secret_arnifcan(regex("^arn:[^:]+:secretsmanager:",a.secret_arn))]`,
	},
	{
		sid:       "ConnectTokenParameter",
		actions:   []string{"ssm:GetParameter"},
		resources: []string{"statement.value"},
		forEach:   `[forainlocal.authorizers:a.secret_arnifcan(regex("^arn:[^:]+:ssm:",a.secret_arn))]`,
	},
	{
		sid:       "Logs",
		actions:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		resources: []string{"aws_cloudwatch_log_group.authorizer[0].arn", `"${aws_cloudwatch_log_group.authorizer[0].arn}:*"`},
	},
}

// role is one of the module's IAM roles: the name of its role, role policy and policy
// document, the statements of that document, and the count they exist with ("" for
// always).
type role struct {
	name   string
	grants []grant
	count  string
}

// ref is the address of r's resource of type typ.
func (r role) ref(typ string) string {
	if r.count == "" {
		return typ + "." + r.name
	}
	return typ + "." + r.name + "[0]"
}

// roles are every role of the module: the pusher's, and the authorizer's when there is
// one.
var roles = []role{
	{name: "pusher", grants: wantGrants},
	{name: "authorizer", grants: wantAuthorizerGrants, count: "length(local.authorizers)"},
}

// wantTrust is each role's trust policy: only Lambda may assume it.
const wantTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"lambda.amazonaws.com"}}]}`

// wantEnvironment is what the module sets in the function's environment, over
// var.environment, from the inputs the role is scoped to.
var wantEnvironment = map[string]string{
	"APIGW_ENDPOINT":         "var.apigw_endpoint",
	"CONNECTIONS_TABLE_NAME": "var.connections_table.name",
	"POISON_QUEUE_URL":       "aws_sqs_queue.poison.url",
}

// wantSubscriptionsEnvironment is the third argument of the environment's merge: the
// subscriptions table's name, exactly when there is one (and so the grants on it).
const wantSubscriptionsEnvironment = `{fortinlocal.subscriptions_tables:"SUBSCRIPTIONS_TABLE_NAME"=>t.name}`

// splitCase is the inputs of broadcast splitting and what the function gets of them:
// its environment of splitting (NOTIFICATIONS_QUEUE_URL, the queue the SegmentTasks
// grant is on, and the BROADCAST_* settings), and whether its precondition holds.
type splitCase struct {
	name   string
	split  cty.Value // var.broadcast_split
	queue  string    // var.notifications_queue_arn, with notifications_queue_enabled; "" for null
	suffix string    // the partition's DNS suffix; "" for amazonaws.com
	env    map[string]string
	ok     bool
}

var splitCases = []splitCase{
	{name: "none", split: cty.NullVal(splitType), queue: standardQueue, env: map[string]string{}, ok: true},
	{name: "none without a queue", split: cty.NullVal(splitType), env: map[string]string{}, ok: true},
	{name: "split", split: splitVal(50000, 10000, 1000), queue: standardQueue, ok: true, env: map[string]string{
		"NOTIFICATIONS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/n",
		"BROADCAST_SPLIT_ABOVE":   "50000", "BROADCAST_SEGMENT_SIZE": "10000", "BROADCAST_MAX_SEGMENTS": "1000",
	}},
	{name: "split in China", split: splitVal(1000, 500, 20), queue: "arn:aws-cn:sqs:cn-north-1:123456789012:n", suffix: "amazonaws.com.cn", ok: true, env: map[string]string{
		"NOTIFICATIONS_QUEUE_URL": "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/n",
		"BROADCAST_SPLIT_ABOVE":   "1000", "BROADCAST_SEGMENT_SIZE": "500", "BROADCAST_MAX_SEGMENTS": "20",
	}},
	{name: "split without a queue", split: splitVal(50000, 10000, 1000), env: map[string]string{}, ok: false},
	{name: "split onto a FIFO queue", split: splitVal(50000, 10000, 1000), queue: fifoQueue, ok: false, env: map[string]string{
		"NOTIFICATIONS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/n.fifo",
		"BROADCAST_SPLIT_ABOVE":   "50000", "BROADCAST_SEGMENT_SIZE": "10000", "BROADCAST_MAX_SEGMENTS": "1000",
	}},
}

var splitType = cty.Object(map[string]cty.Type{"above": cty.Number, "segment_size": cty.Number, "max_segments": cty.Number})

func splitVal(above, size, most int64) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"above": cty.NumberIntVal(above), "segment_size": cty.NumberIntVal(size), "max_segments": cty.NumberIntVal(most),
	})
}

// partitionData is data.aws_partition.current of a partition whose DNS suffix is
// suffix.
func partitionData(suffix string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"aws_partition": cty.ObjectVal(map[string]cty.Value{
		"current": cty.ObjectVal(map[string]cty.Value{"dns_suffix": cty.StringVal(suffix)}),
	})})
}

// toString is Terraform's tostring of a number or a string, which cty's standard
// library lacks.
var toString = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return convert.Convert(args[0], cty.String)
	},
})

// ---- reading the module ----

// module is the top-level blocks of a directory's .tf files, with their sources.
type module struct {
	blocks hclsyntax.Blocks
	src    map[string][]byte // by file name
}

func loadModule(dir string) (*module, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no .tf files in %s (%v)", dir, err)
	}
	p := hclparse.NewParser()
	m := &module{src: map[string][]byte{}}
	for _, path := range paths {
		f, diags := p.ParseHCLFile(path)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse %s: %w", path, diags)
		}
		m.blocks = append(m.blocks, f.Body.(*hclsyntax.Body).Blocks...)
		m.src[path] = f.Bytes
	}
	return m, nil
}

// find returns the top-level blocks of type typ whose labels start with labels.
func (m *module) find(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.blocks {
		if b.Type == typ && len(b.Labels) >= len(labels) && slices.Equal(b.Labels[:len(labels)], labels) {
			out = append(out, b)
		}
	}
	return out
}

// one returns the only block of type typ with labels.
func (m *module) one(typ string, labels ...string) (*hclsyntax.Block, error) {
	bs := m.find(typ, labels...)
	if len(bs) != 1 {
		return nil, fmt.Errorf("%d %s blocks %q, want 1", len(bs), typ, labels)
	}
	return bs[0], nil
}

// text is the source of expr with every blank removed.
func (m *module) text(expr hcl.Expression) string {
	r := expr.Range()
	return strings.Join(strings.Fields(string(m.src[r.Filename][r.Start.Byte:r.End.Byte])), "")
}

// local returns the source of a local value's expression.
func (m *module) local(name string) (string, bool) {
	for _, b := range m.find("locals") {
		if a, ok := b.Body.Attributes[name]; ok {
			return m.text(a.Expr), true
		}
	}
	return "", false
}

// localExpr returns the expression of a local value.
func (m *module) localExpr(name string) (hclsyntax.Expression, bool) {
	for _, b := range m.find("locals") {
		if a, ok := b.Body.Attributes[name]; ok {
			return a.Expr, true
		}
	}
	return nil, false
}

// attrText returns the source of block's argument name, "" without one.
func (m *module) attrText(b *hclsyntax.Block, name string) string {
	if a, ok := b.Body.Attributes[name]; ok {
		return m.text(a.Expr)
	}
	return ""
}

// literalStrings evaluates a list of string literals.
func literalStrings(expr hcl.Expression) ([]string, error) {
	items, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		return nil, diags
	}
	out := make([]string, 0, len(items))
	for _, e := range items {
		v, diags := e.Value(nil)
		if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
			return nil, fmt.Errorf("%s: not a string literal", e.Range())
		}
		out = append(out, v.AsString())
	}
	return out, nil
}

// ---- IAM ----

var (
	// A document is statements, and the count of its role.
	documentSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "count"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "statement"}, {Type: "dynamic", LabelNames: []string{"type"}}},
	}
	dynamicSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "for_each", Required: true}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "content"}},
	}
	// A grant names its actions and resources, nothing else: no effect, not_actions,
	// not_resources, principals or conditions.
	statementSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "sid", Required: true}, {Name: "actions", Required: true}, {Name: "resources", Required: true},
	}}
)

// grants reads the statements of r's policy document, strictly: anything in it but
// statements of actions on resources (and r's count) is an error.
func grants(m *module, r role) ([]grant, error) {
	doc, err := m.one("data", "aws_iam_policy_document", r.name)
	if err != nil {
		return nil, err
	}
	content, diags := doc.Body.Content(documentSchema)
	if diags.HasErrors() {
		return nil, fmt.Errorf("policy document %s: %w", r.name, diags)
	}
	var out []grant
	var errs []error
	if got := m.attrText(doc, "count"); got != r.count {
		errs = append(errs, fmt.Errorf("policy document %s: count = %q, want %q", r.name, got, r.count))
	}
	for _, b := range content.Blocks {
		body, forEach := b.Body, ""
		if b.Type == "dynamic" {
			dyn, diags := b.Body.Content(dynamicSchema)
			if diags.HasErrors() || b.Labels[0] != "statement" || len(dyn.Blocks) != 1 {
				errs = append(errs, fmt.Errorf("dynamic %q: not a statement with one content (%v)", b.Labels[0], diags))
				continue
			}
			body, forEach = dyn.Blocks[0].Body, m.text(dyn.Attributes["for_each"].Expr)
			if name, ok := strings.CutPrefix(forEach, "local."); ok {
				forEach, _ = m.local(name)
			}
		}
		g, err := readGrant(m, body)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g.forEach = forEach
		out = append(out, g)
	}
	return out, errors.Join(errs...)
}

func readGrant(m *module, body hcl.Body) (grant, error) {
	st, diags := body.Content(statementSchema)
	if diags.HasErrors() {
		return grant{}, fmt.Errorf("statement: %w", diags)
	}
	sid, diags := st.Attributes["sid"].Expr.Value(nil)
	if diags.HasErrors() || sid.Type() != cty.String {
		return grant{}, fmt.Errorf("%s: sid is not a string literal", st.Attributes["sid"].Range)
	}
	g := grant{sid: sid.AsString()}
	actions, err := literalStrings(st.Attributes["actions"].Expr)
	if err != nil {
		return grant{}, fmt.Errorf("statement %s: actions: %w", g.sid, err)
	}
	g.actions = actions
	// A list written out, each resource's source; or, for a statement of a list of
	// resources given (the queues' keys), the list's source.
	resources, diags := hcl.ExprList(st.Attributes["resources"].Expr)
	if diags.HasErrors() {
		resources = []hcl.Expression{st.Attributes["resources"].Expr}
	}
	for _, r := range resources {
		g.resources = append(g.resources, m.text(r))
	}
	return g, nil
}

// checkGrants reports how what the module allows differs from roles and wantTrust, and
// any way of granting besides each role policy's one document.
func checkGrants(m *module) error {
	var errs []error
	byName := map[string]role{}
	for _, r := range roles {
		byName[r.name] = r
		errs = append(errs, checkDocument(m, r))
	}

	// Each document is its role's only policy.
	for _, res := range m.find("resource") {
		typ, name := res.Labels[0], res.Labels[1]
		r, ok := byName[name]
		switch {
		case ok && typ == "aws_iam_role":
			if err := checkRole(m, res); err != nil {
				errs = append(errs, fmt.Errorf("%s %w", name, err))
			}
		case ok && typ == "aws_iam_role_policy":
			for attr, want := range map[string]string{
				"policy": r.ref("data.aws_iam_policy_document") + ".json",
				"role":   r.ref("aws_iam_role") + ".id",
			} {
				if got := m.attrText(res, attr); got != want {
					errs = append(errs, fmt.Errorf("role policy %s: %s = %s, want %s", name, attr, got, want))
				}
			}
		case strings.HasPrefix(typ, "aws_iam_"):
			errs = append(errs, fmt.Errorf("resource %s.%s: each role gets its grants from one policy document", typ, name))
			continue
		default:
			continue
		}
		if got := m.attrText(res, "count"); got != r.count {
			errs = append(errs, fmt.Errorf("%s.%s: count = %q, want %q", typ, name, got, r.count))
		}
	}
	return errors.Join(errs...)
}

// checkDocument reports how r's policy document differs from r.grants.
func checkDocument(m *module, r role) error {
	var errs []error
	got, err := grants(m, r)
	errs = append(errs, err)
	want := map[string]grant{}
	for _, g := range r.grants {
		want[g.sid] = g
	}
	for _, g := range got {
		w, ok := want[g.sid]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("role %s: statement %s is not wanted: %+v", r.name, g.sid, g))
		case !slices.Equal(slices.Sorted(slices.Values(g.actions)), slices.Sorted(slices.Values(w.actions))) ||
			!reflect.DeepEqual(g.resources, w.resources) || g.forEach != w.forEach:
			errs = append(errs, fmt.Errorf("role %s: statement %s:\n have %+v\n want %+v", r.name, g.sid, g, w))
		}
		delete(want, g.sid)
	}
	for sid := range want {
		errs = append(errs, fmt.Errorf("role %s: statement %s missing", r.name, sid))
	}
	return errors.Join(errs...)
}

// checkRole checks that the role has no policy of its own and that only Lambda may
// assume it.
func checkRole(m *module, role *hclsyntax.Block) error {
	if _, ok := role.Body.Attributes["managed_policy_arns"]; ok {
		return errors.New("role: managed_policy_arns grants beyond the document")
	}
	for _, b := range role.Body.Blocks {
		if b.Type == "inline_policy" {
			return errors.New("role: inline_policy grants beyond the document")
		}
	}
	a, ok := role.Body.Attributes["assume_role_policy"]
	if !ok {
		return errors.New("role: no assume_role_policy")
	}
	v, diags := a.Expr.Value(&hcl.EvalContext{Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc}})
	if diags.HasErrors() || v.Type() != cty.String {
		return fmt.Errorf("role: assume_role_policy is not jsonencode of a literal: %v", diags)
	}
	var got, want any
	if err := json.Unmarshal([]byte(v.AsString()), &got); err != nil {
		return fmt.Errorf("role: assume_role_policy: %w", err)
	}
	if err := json.Unmarshal([]byte(wantTrust), &want); err != nil {
		return fmt.Errorf("wantTrust: %w", err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("role: trust policy\n have %s\n want %s", v.AsString(), wantTrust)
	}
	return nil
}

// ---- the event source mapping ----

// batchCase is a mapping's queue and batch settings, and whether Lambda takes them
// (docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html): over 10
// messages needs a batching window of at least a second; a FIFO queue takes at most 10
// and no window.
type batchCase struct {
	queue        string
	size, window int64
	ok           bool
}

const (
	standardQueue = "arn:aws:sqs:eu-west-1:123456789012:n"
	fifoQueue     = "arn:aws:sqs:eu-west-1:123456789012:n.fifo"
)

var batchCases = []batchCase{
	{standardQueue, 10, 0, true},
	{standardQueue, 11, 0, false},
	{standardQueue, 11, 1, true},
	{standardQueue, 10000, 300, true},
	{fifoQueue, 10, 0, true},
	{fifoQueue, 1, 0, true},
	{fifoQueue, 11, 1, false},
	{fifoQueue, 10, 1, false},
}

// endsWith is Terraform's endswith, which cty's standard library lacks.
var endsWith = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "suffix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(strings.HasSuffix(args[0].AsString(), args[1].AsString())), nil
	},
})

// startsWith is Terraform's startswith, which cty's standard library lacks.
var startsWith = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "prefix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(strings.HasPrefix(args[0].AsString(), args[1].AsString())), nil
	},
})

// checkEventSource checks the SQS mapping: partial batch responses (the function
// reports the messages to deliver again, so a batch is not retried whole), its inputs,
// and preconditions that refuse what Lambda would.
func checkEventSource(m *module) error {
	esm, err := m.one("resource", "aws_lambda_event_source_mapping", "notifications")
	if err != nil {
		return err
	}
	var errs []error
	var types []string
	a, ok := esm.Body.Attributes["function_response_types"]
	if ok {
		types, err = literalStrings(a.Expr)
	}
	if err != nil || !slices.Equal(types, []string{"ReportBatchItemFailures"}) {
		errs = append(errs, fmt.Errorf("mapping: function_response_types = %q (%v), want [ReportBatchItemFailures]", types, err))
	}
	for attr, want := range map[string]string{
		"count":                              "length(local.notifications_queue_arns)",
		"event_source_arn":                   "var.notifications_queue_arn",
		"function_name":                      "aws_lambda_alias.pusher.arn",
		"batch_size":                         "var.batch_size",
		"maximum_batching_window_in_seconds": "var.maximum_batching_window_in_seconds",
	} {
		if got := m.attrText(esm, attr); got != want {
			errs = append(errs, fmt.Errorf("mapping: %s = %q, want %s", attr, got, want))
		}
	}

	// Bounded: at most maximum_concurrency invocations at once.
	if sc, err := nestedOne(esm, "scaling_config"); err != nil {
		errs = append(errs, fmt.Errorf("mapping: %w", err))
	} else {
		errs = append(errs, checkAttrs(m, sc, map[string]string{"maximum_concurrency": "var.maximum_concurrency"}))
	}

	var conds []hclsyntax.Expression
	for _, b := range esm.Body.Blocks {
		for _, p := range b.Body.Blocks {
			if b.Type == "lifecycle" && p.Type == "precondition" {
				conds = append(conds, p.Body.Attributes["condition"].Expr)
			}
		}
	}
	for _, c := range batchCases {
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
				"notifications_queue_arn":            cty.StringVal(c.queue),
				"batch_size":                         cty.NumberIntVal(c.size),
				"maximum_batching_window_in_seconds": cty.NumberIntVal(c.window),
			})},
			Functions: map[string]function.Function{"endswith": endsWith, "try": tryfunc.TryFunc},
		}
		ok := true
		for _, cond := range conds {
			v, diags := cond.Value(ctx)
			if diags.HasErrors() || v.Type() != cty.Bool {
				return errors.Join(append(errs, fmt.Errorf("mapping: precondition %s: %v", m.text(cond), diags))...)
			}
			ok = ok && v.True()
		}
		if ok != c.ok {
			errs = append(errs, fmt.Errorf("mapping: %s with batch_size %d, window %d: preconditions hold %v, want %v",
				c.queue, c.size, c.window, ok, c.ok))
		}
	}
	return errors.Join(errs...)
}

// ---- the function ----

// checkFunction checks what the zip of deploy/README.md needs (a bootstrap binary on
// the OS-only runtime), the environment names the pusher reads, and that its log group
// is the one the Logs grant is on.
func checkFunction(m *module) error {
	fn, err := m.one("resource", "aws_lambda_function", "pusher")
	if err != nil {
		return err
	}
	var errs []error
	for attr, want := range map[string]string{"runtime": `"provided.al2023"`, "handler": `"bootstrap"`, "role": "aws_iam_role.pusher.arn"} {
		if got := m.attrText(fn, attr); got != want {
			errs = append(errs, fmt.Errorf("function: %s = %s, want %s", attr, got, want))
		}
	}

	var env hclsyntax.Expression
	for _, b := range fn.Body.Blocks {
		if b.Type == "environment" {
			if a, ok := b.Body.Attributes["variables"]; ok {
				env = a.Expr
			}
		}
	}
	// merge(var.environment, {...}, {subscriptions}, local.pace_environment,
	// local.split_environment, local.authorizer_required, local.settings_environment):
	// the module's own names come last, so they win.
	merge, ok := env.(*hclsyntax.FunctionCallExpr)
	if !ok || merge.Name != "merge" || len(merge.Args) != 7 || m.text(merge.Args[0]) != "var.environment" {
		return errors.Join(append(errs, errors.New("function: environment.variables is not merge(var.environment, {...}, {for ...}, local.pace_environment, local.split_environment, local.authorizer_required, local.settings_environment)"))...)
	}
	// What it is, checkPace evaluates.
	if got := m.text(merge.Args[3]); got != "local.pace_environment" {
		errs = append(errs, fmt.Errorf("function: the environment of the pace of posts is %s, want local.pace_environment", got))
	}
	if got := m.text(merge.Args[4]); got != "local.split_environment" {
		errs = append(errs, fmt.Errorf("function: the environment of splitting is %s, want local.split_environment", got))
	}
	// What it is, checkAuthorizer evaluates.
	if got := m.text(merge.Args[5]); got != "local.authorizer_required" {
		errs = append(errs, fmt.Errorf("function: the environment of the authorizer is %s, want local.authorizer_required", got))
	}
	// What it is, checkSettings evaluates.
	if got := m.text(merge.Args[6]); got != "local.settings_environment" {
		errs = append(errs, fmt.Errorf("function: the environment of the settings of their own is %s, want local.settings_environment", got))
	}
	errs = append(errs, checkSplit(m, fn))
	if got := m.text(merge.Args[2]); got != wantSubscriptionsEnvironment {
		errs = append(errs, fmt.Errorf("function: the subscriptions table's environment is %s, want %s", got, wantSubscriptionsEnvironment))
	}
	if got, _ := m.local("subscriptions_tables"); got != "var.subscriptions_table==null?[]:[var.subscriptions_table]" {
		errs = append(errs, fmt.Errorf("local.subscriptions_tables = %s, want the table when given, else none", got))
	}
	own, ok := merge.Args[1].(*hclsyntax.ObjectConsExpr)
	if !ok {
		return errors.Join(append(errs, errors.New("function: merge's second argument is not an object written out"))...)
	}
	got := map[string]string{}
	for _, item := range own.Items {
		key, diags := item.KeyExpr.Value(nil)
		if diags.HasErrors() || key.Type() != cty.String {
			errs = append(errs, fmt.Errorf("function: environment key %s is not a name", m.text(item.KeyExpr)))
			continue
		}
		got[key.AsString()] = m.text(item.ValueExpr)
	}
	if !reflect.DeepEqual(got, wantEnvironment) {
		errs = append(errs, fmt.Errorf("function: environment\n have %v\n want %v", got, wantEnvironment))
	}

	// The Logs grant is on the module's log group: it must be the one Lambda writes
	// the function's logs to, /aws/lambda/<function_name>.
	lg, err := m.one("resource", "aws_cloudwatch_log_group", "pusher")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if fnName, lgName := m.attrText(fn, "function_name"), m.attrText(lg, "name"); fnName != "local.name" || lgName != `"/aws/lambda/${local.name}"` {
		errs = append(errs, fmt.Errorf("log group %s is not /aws/lambda/ followed by the function's name %s", lgName, fnName))
	}
	return errors.Join(errs...)
}

// checkSplit evaluates, for each of splitCases, the function's environment of splitting
// and its preconditions: the queue's URL is made right of its ARN, the settings are
// passed on, and a split without a standard queue is refused.
func checkSplit(m *module, fn *hclsyntax.Block) error {
	var conds []hclsyntax.Expression
	for _, b := range fn.Body.Blocks {
		for _, p := range b.Body.Blocks {
			if b.Type == "lifecycle" && p.Type == "precondition" {
				conds = append(conds, p.Body.Attributes["condition"].Expr)
			}
		}
	}
	funcs := map[string]function.Function{
		"merge": stdlib.MergeFunc, "format": stdlib.FormatFunc, "split": stdlib.SplitFunc, "tostring": toString,
		"endswith": endsWith, "coalesce": stdlib.CoalesceFunc, "try": tryfunc.TryFunc,
	}
	var errs []error
	for _, c := range splitCases {
		queue := cty.NullVal(cty.String)
		if c.queue != "" {
			queue = cty.StringVal(c.queue)
		}
		suffix := c.suffix
		if suffix == "" {
			suffix = "amazonaws.com"
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{
				"var": cty.ObjectVal(map[string]cty.Value{
					"broadcast_split": c.split, "notifications_queue_arn": queue,
					"notifications_queue_enabled": cty.BoolVal(c.queue != ""),
					// The toggles' preconditions hold without a topic.
					"notifications_topic_enabled": cty.False, "notifications_topic_arn": cty.NullVal(cty.String),
					// The pace's precondition (checkPace) holds without a burst.
					"environment": cty.MapValEmpty(cty.String), "post_rate": noRate,
					// The reservation's (checkReservation) holds unreserved.
					"reserved_concurrent_executions": cty.NullVal(cty.Number), "maximum_concurrency": cty.NumberIntVal(10),
					"route_concurrency": cty.NumberIntVal(10), "kinesis_stream": cty.NullVal(kinesisType),
				}),
				"data": partitionData(suffix),
			},
			Functions: funcs,
		}
		vals, err := evalLocals(m, ctx, "task_queue_arns", "notifications_queue_url", "split_environment")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			continue
		}
		v := vals["split_environment"]
		if !v.CanIterateElements() {
			errs = append(errs, fmt.Errorf("%s: local.split_environment is %#v", c.name, v))
			continue
		}
		got := map[string]string{}
		for k, x := range v.AsValueMap() {
			if x.Type() == cty.String && x.IsKnown() && !x.IsNull() {
				got[k] = x.AsString()
			}
		}
		if !reflect.DeepEqual(got, c.env) {
			errs = append(errs, fmt.Errorf("%s: the function's environment of splitting\n have %v\n want %v", c.name, got, c.env))
		}
		ok := true
		for _, cond := range conds {
			v, diags := cond.Value(ctx)
			if diags.HasErrors() || v.Type() != cty.Bool {
				errs = append(errs, fmt.Errorf("%s: precondition %s: %v", c.name, m.text(cond), diags))
				continue
			}
			ok = ok && v.True()
		}
		if ok != c.ok {
			errs = append(errs, fmt.Errorf("%s: the function's preconditions hold %v, want %v", c.name, ok, c.ok))
		}
	}
	return errors.Join(errs...)
}

// ---- the pace of posts ----

// paceCase is the inputs of the pace of posts, the function's environment of them, and
// whether the function's preconditions hold.
type paceCase struct {
	name            string
	rate, fleetRate cty.Value // var.post_rate, var.fleet_post_rate
	burst           string    // var.environment's POST_BURST; "" for none
	env             map[string]string
	ok              bool
}

var (
	noRate    = cty.NullVal(cty.Number)
	paceCases = []paceCase{
		{name: "unpaced", rate: noRate, fleetRate: noRate, env: map[string]string{}, ok: true},
		{name: "each instance's share", rate: cty.NumberIntVal(400), fleetRate: noRate, env: map[string]string{"POST_RATE": "400"}, ok: true},
		{name: "a fraction", rate: cty.NumberFloatVal(312.5), fleetRate: noRate, env: map[string]string{"POST_RATE": "312.5"}, ok: true},
		{name: "the fleet's alone", rate: noRate, fleetRate: cty.NumberIntVal(8000), env: map[string]string{"FLEET_POST_RATE": "8000"}, ok: true},
		{name: "both", rate: cty.NumberIntVal(400), fleetRate: cty.NumberIntVal(8000),
			env: map[string]string{"POST_RATE": "400", "FLEET_POST_RATE": "8000"}, ok: true},
		{name: "zero, said", rate: cty.NumberIntVal(0), fleetRate: noRate, env: map[string]string{"POST_RATE": "0"}, ok: true},
		// The pusher refuses a POST_BURST above 0 without a POST_RATE above 0 (Pace.Burst
		// is set without a Pace.Rate), at every cold start: the module refuses it first.
		{name: "a burst with a rate", rate: cty.NumberIntVal(400), fleetRate: noRate, burst: "50", env: map[string]string{"POST_RATE": "400"}, ok: true},
		{name: "a burst without a rate", rate: noRate, fleetRate: noRate, burst: "50", env: map[string]string{}, ok: false},
		{name: "a burst with the fleet's rate alone", rate: noRate, fleetRate: cty.NumberIntVal(8000), burst: "50", env: map[string]string{"FLEET_POST_RATE": "8000"}, ok: false},
		{name: "a burst with a rate of zero", rate: cty.NumberIntVal(0), fleetRate: noRate, burst: "50", env: map[string]string{"POST_RATE": "0"}, ok: false},
		{name: "a burst of zero without a rate", rate: noRate, fleetRate: noRate, burst: "0", env: map[string]string{}, ok: true},
	}
)

// checkPace evaluates, for each of paceCases, the function's environment of the pace of
// posts: each rate given is passed on under its name, as a number the pusher reads,
// and a rate not given is left out (Lambda takes no null value); and its
// preconditions, which refuse a POST_BURST in var.environment that the pusher would
// refuse at every cold start.
func checkPace(m *module) error {
	fn, err := m.one("resource", "aws_lambda_function", "pusher")
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range paceCases {
		env := cty.MapValEmpty(cty.String)
		if c.burst != "" {
			env = cty.MapVal(map[string]cty.Value{"POST_BURST": cty.StringVal(c.burst)})
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
				"post_rate": c.rate, "fleet_post_rate": c.fleetRate, "environment": env,
				// No split, no queue, no topic: their preconditions (checkSplit) hold.
				"broadcast_split": cty.NullVal(splitType), "notifications_queue_arn": cty.NullVal(cty.String),
				"notifications_queue_enabled": cty.False, "notifications_topic_enabled": cty.False,
				"notifications_topic_arn": cty.NullVal(cty.String),
				// Unreserved: the reservation's precondition (checkReservation) holds.
				"reserved_concurrent_executions": cty.NullVal(cty.Number), "maximum_concurrency": cty.NumberIntVal(10),
				"route_concurrency": cty.NumberIntVal(10), "kinesis_stream": cty.NullVal(kinesisType),
			})},
			Functions: moduleFuncs,
		}
		vals, err := evalLocals(m, ctx, "pace_environment")
		if err != nil {
			errs = append(errs, fmt.Errorf("pace %s: %w", c.name, err))
			continue
		}
		if got := stringMap(vals["pace_environment"]); !reflect.DeepEqual(got, c.env) {
			errs = append(errs, fmt.Errorf("pace %s: the function's environment\n have %v\n want %v", c.name, got, c.env))
		}
		ok, err := preconditionsHold(fn, ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("pace %s: %w", c.name, err))
			continue
		}
		if ok != c.ok {
			errs = append(errs, fmt.Errorf("pace %s: the function's preconditions hold %v, want %v", c.name, ok, c.ok))
		}
	}
	return errors.Join(errs...)
}

// TestPaceValidation evaluates the validations of post_rate and fleet_post_rate, and
// that var.environment cannot set what they set.
func TestPaceValidation(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"post_rate", "fleet_post_rate"} {
		for _, c := range []struct {
			name string
			v    cty.Value
			ok   bool
		}{
			{"null", noRate, true},
			{"zero", cty.NumberIntVal(0), true},
			{"a whole rate", cty.NumberIntVal(2000), true},
			{"a fraction", cty.NumberFloatVal(0.5), true},
			{"negative", cty.NumberIntVal(-1), false},
		} {
			t.Run(name+" "+c.name, func(t *testing.T) {
				if got := validationsHold(t, m, name, c.v); got != c.ok {
					t.Errorf("the validations hold %v, want %v", got, c.ok)
				}
			})
		}
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"a burst", map[string]string{"POST_BURST": "50"}, true},
		{"a rate", map[string]string{"POST_RATE": "400"}, false},
		{"a fleet rate", map[string]string{"FLEET_POST_RATE": "8000"}, false},
	} {
		t.Run("environment with "+c.name, func(t *testing.T) {
			vals := map[string]cty.Value{}
			for k, v := range c.env {
				vals[k] = cty.StringVal(v)
			}
			if got := validationsHold(t, m, "environment", cty.MapVal(vals)); got != c.ok {
				t.Errorf("the validations hold %v, want %v", got, c.ok)
			}
		})
	}
}

// ---- the $connect authorizer ----

// authorizerType is var.authorizer's type, as Terraform passes it to the module.
var authorizerType = cty.Object(map[string]cty.Type{
	"jwks_url": cty.String, "secret_arn": cty.String, "issuer": cty.String, "audience": cty.String,
	"user_claim": cty.String, "topics_claim": cty.String, "token_param": cty.String,
})

// authorizerVal is var.authorizer of the attributes set, with Terraform's defaults of
// the optional ones.
func authorizerVal(set map[string]string) cty.Value {
	attrs := map[string]cty.Value{}
	for name := range authorizerType.AttributeTypes() {
		attrs[name] = cty.NullVal(cty.String)
	}
	for name, def := range map[string]string{"user_claim": "sub", "topics_claim": "topics", "token_param": "token"} {
		attrs[name] = cty.StringVal(def)
	}
	for name, v := range set {
		attrs[name] = cty.StringVal(v)
	}
	return cty.ObjectVal(attrs)
}

const (
	jwksURL       = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
	secretARN     = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pusher-connect-token-AbC123"
	parameterARN  = "arn:aws:ssm:eu-west-1:123456789012:parameter/pusher/connect-token"
	authorizerID  = "a1b2c3"
	testAgmaARN   = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/@connections"
	testExecution = "arn:aws:execute-api:eu-west-1:123456789012:abc123"
	testAPIID     = "abc123"
)

// authorizerCase is an authorizer input and what the module makes of it: the
// authorizer function's environment, what its grants of a key are on, its identity
// source, and the pusher's environment of the authorizer.
type authorizerCase struct {
	name       string
	authorizer cty.Value
	env        map[string]string
	secrets    []string // the ConnectTokenSecret grant's resources
	parameters []string // the ConnectTokenParameter grant's
	identity   string   // "" without an authorizer
	pusher     map[string]string
}

var required = map[string]string{"AUTHORIZER_REQUIRED": "true"}

var authorizerCases = []authorizerCase{
	{name: "none", authorizer: cty.NullVal(authorizerType), env: map[string]string{}, pusher: map[string]string{}},
	{
		name:       "JWK set",
		authorizer: authorizerVal(map[string]string{"jwks_url": jwksURL, "issuer": "https://issuer", "audience": "app"}),
		env: map[string]string{
			"PUSHER_ROLE": "authorizer", "CONNECT_TOKEN_JWKS_URL": jwksURL,
			"CONNECT_TOKEN_ISSUER": "https://issuer", "CONNECT_TOKEN_AUDIENCE": "app",
			"CONNECT_TOKEN_PARAM": "token", "CONNECT_USER_CLAIM": "sub", "CONNECT_TOPICS_CLAIM": "topics",
		},
		identity: "route.request.querystring.token",
		pusher:   required,
	},
	{
		name:       "Secrets Manager",
		authorizer: authorizerVal(map[string]string{"secret_arn": secretARN, "token_param": "jwt", "user_claim": "email", "topics_claim": "scopes"}),
		env: map[string]string{
			"PUSHER_ROLE": "authorizer", "CONNECT_TOKEN_SECRET_ARN": secretARN,
			"CONNECT_TOKEN_PARAM": "jwt", "CONNECT_USER_CLAIM": "email", "CONNECT_TOPICS_CLAIM": "scopes",
		},
		secrets:  []string{secretARN},
		identity: "route.request.querystring.jwt",
		pusher:   required,
	},
	{
		name:       "SSM",
		authorizer: authorizerVal(map[string]string{"secret_arn": parameterARN}),
		env: map[string]string{
			"PUSHER_ROLE": "authorizer", "CONNECT_TOKEN_SECRET_ARN": parameterARN,
			"CONNECT_TOKEN_PARAM": "token", "CONNECT_USER_CLAIM": "sub", "CONNECT_TOPICS_CLAIM": "topics",
		},
		parameters: []string{parameterARN},
		identity:   "route.request.querystring.token",
		pusher:     required,
	},
}

// apiCase is an agma_arn and the API it names.
type apiCase struct{ agma, execution, id string }

var apiCases = []apiCase{
	{testAgmaARN, testExecution, testAPIID},
	{testAgmaARN + "/*", testExecution, testAPIID},
	{"arn:aws-cn:execute-api:cn-north-1:123456789012:xyz789/live/POST/@connections", "arn:aws-cn:execute-api:cn-north-1:123456789012:xyz789", "xyz789"},
}

// wantAuthorizerAttrs are the arguments of the authorizer's resources, as written: each
// exists only with var.authorizer; the function runs the pusher's zip on its role; the
// log group is the function's; API Gateway's authorizer is a REQUEST authorizer of the
// function on the API of agma_arn; the permission lets only that authorizer invoke it.
var wantAuthorizerAttrs = map[[2]string]map[string]string{
	{"aws_lambda_function", "authorizer"}: {
		"count":         "length(local.authorizers)",
		"function_name": "local.authorizer_name",
		"role":          "aws_iam_role.authorizer[0].arn",
		"filename":      "var.lambda_zip_path",
		"runtime":       `"provided.al2023"`,
		"handler":       `"bootstrap"`,
		"architectures": "[var.architecture]",
	},
	{"aws_cloudwatch_log_group", "authorizer"}: {
		"count": "length(local.authorizers)",
		"name":  `"/aws/lambda/${local.authorizer_name}"`,
	},
	{"aws_apigatewayv2_authorizer", "connect"}: {
		"count":           "length(local.authorizers)",
		"api_id":          "local.api_id",
		"authorizer_type": `"REQUEST"`,
		"authorizer_uri":  "aws_lambda_alias.authorizer[0].invoke_arn",
	},
	{"aws_lambda_permission", "authorizer"}: {
		"count":         "length(local.authorizers)",
		"action":        `"lambda:InvokeFunction"`,
		"function_name": "aws_lambda_function.authorizer[0].function_name",
		"qualifier":     "aws_lambda_alias.authorizer[0].name",
		"principal":     `"apigateway.amazonaws.com"`,
	},
}

// wantAuthorizerLocals are locals of the authorizer, as written.
var wantAuthorizerLocals = map[string]string{
	"authorizers":     "var.authorizer==null?[]:[var.authorizer]",
	"authorizer_name": `"${var.prefix}-pusher-authorizer"`,
	// The context's keys, which the authorizer writes and the pusher reads.
	"authorizer_shared_environment": `["AUTHORIZER_USER_KEY","TOPIC_GRANTS_KEY","LOG_LEVEL"]`,
}

// wantAuthorizerEnvironment is the authorizer function's environment, as written: the
// shared settings of var.environment, under the module's own.
const wantAuthorizerEnvironment = "merge({fork,vinvar.environment:k=>vifcontains(local.authorizer_shared_environment,k)},local.authorizer_environment)"

// checkAuthorizer checks the $connect authorizer: its resources' arguments, and, for
// each of authorizerCases, the authorizer function's environment, what its role may
// read, its identity source and the pusher's AUTHORIZER_REQUIRED; for each of apiCases,
// the API it is put on and the permission's source ARN.
func checkAuthorizer(m *module) error {
	var errs []error
	for key, attrs := range wantAuthorizerAttrs {
		r, err := m.one("resource", key[0], key[1])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for attr, want := range attrs {
			if got := m.attrText(r, attr); got != want {
				errs = append(errs, fmt.Errorf("%s.%s: %s = %q, want %s", key[0], key[1], attr, got, want))
			}
		}
	}
	for name, want := range wantAuthorizerLocals {
		if got, _ := m.local(name); got != want {
			errs = append(errs, fmt.Errorf("local.%s = %q, want %s", name, got, want))
		}
	}
	fn, err := m.one("resource", "aws_lambda_function", "authorizer")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	env := ""
	for _, b := range fn.Body.Blocks {
		if b.Type == "environment" {
			env = m.attrText(b, "variables")
		}
	}
	if env != wantAuthorizerEnvironment {
		errs = append(errs, fmt.Errorf("authorizer function: environment.variables = %s, want %s", env, wantAuthorizerEnvironment))
	}
	az, err := m.one("resource", "aws_apigatewayv2_authorizer", "connect")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	// WebSocket APIs cache no authorizer's answer.
	if _, ok := az.Body.Attributes["authorizer_result_ttl_in_seconds"]; ok {
		errs = append(errs, errors.New("aws_apigatewayv2_authorizer.connect: authorizer_result_ttl_in_seconds is for HTTP APIs"))
	}
	for _, c := range authorizerCases {
		errs = append(errs, checkAuthorizerCase(m, az, c))
	}
	for _, c := range apiCases {
		errs = append(errs, checkAPI(m, c))
	}
	return errors.Join(errs...)
}

// evalLocals evaluates locals in order into ctx, each seeing those before it.
func evalLocals(m *module, ctx *hcl.EvalContext, names ...string) (map[string]cty.Value, error) {
	vals := map[string]cty.Value{}
	for _, name := range names {
		expr, ok := m.localExpr(name)
		if !ok {
			return nil, fmt.Errorf("no local.%s", name)
		}
		v, diags := expr.Value(ctx)
		if diags.HasErrors() {
			return nil, fmt.Errorf("local.%s: %w", name, diags)
		}
		vals[name] = v
		ctx.Variables["local"] = cty.ObjectVal(vals)
	}
	return vals, nil
}

// stringMap is v, an object or map of strings, as a Go map.
func stringMap(v cty.Value) map[string]string {
	out := map[string]string{}
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return out
	}
	for k, x := range v.AsValueMap() {
		if x.Type() == cty.String && x.IsKnown() && !x.IsNull() {
			out[k] = x.AsString()
		}
	}
	return out
}

// stringList is v, a list or tuple of strings, as a Go slice.
func stringList(v cty.Value) []string {
	var out []string
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return out
	}
	for _, x := range v.AsValueSlice() {
		if x.Type() == cty.String && x.IsKnown() && !x.IsNull() {
			out = append(out, x.AsString())
		}
	}
	return out
}

func checkAuthorizerCase(m *module, az *hclsyntax.Block, c authorizerCase) error {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"authorizer": c.authorizer})},
		Functions: moduleFuncs,
	}
	vals, err := evalLocals(m, ctx, "authorizers", "connect_token_secrets", "connect_token_parameters", "authorizer_environment", "authorizer_required")
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	var errs []error
	if got := stringMap(vals["authorizer_environment"]); !reflect.DeepEqual(got, c.env) {
		errs = append(errs, fmt.Errorf("%s: the authorizer's environment\n have %v\n want %v", c.name, got, c.env))
	}
	if got := stringMap(vals["authorizer_required"]); !reflect.DeepEqual(got, c.pusher) {
		errs = append(errs, fmt.Errorf("%s: the pusher's environment of the authorizer\n have %v\n want %v", c.name, got, c.pusher))
	}
	if got := stringList(vals["connect_token_secrets"]); !slices.Equal(got, c.secrets) {
		errs = append(errs, fmt.Errorf("%s: the authorizer may read the secrets %q, want %q", c.name, got, c.secrets))
	}
	if got := stringList(vals["connect_token_parameters"]); !slices.Equal(got, c.parameters) {
		errs = append(errs, fmt.Errorf("%s: the authorizer may read the parameters %q, want %q", c.name, got, c.parameters))
	}
	if c.authorizer.IsNull() {
		return errors.Join(errs...) // the authorizer's resources do not exist
	}
	a, ok := az.Body.Attributes["identity_sources"]
	if !ok {
		return errors.Join(append(errs, fmt.Errorf("%s: aws_apigatewayv2_authorizer.connect has no identity_sources", c.name))...)
	}
	v, diags := a.Expr.Value(ctx)
	if got := stringList(v); diags.HasErrors() || !slices.Equal(got, []string{c.identity}) {
		errs = append(errs, fmt.Errorf("%s: identity_sources = %q (%v), want [%s]", c.name, got, diags, c.identity))
	}
	return errors.Join(errs...)
}

func checkAPI(m *module, c apiCase) error {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var": cty.ObjectVal(map[string]cty.Value{"agma_arn": cty.StringVal(c.agma)}),
			"aws_apigatewayv2_authorizer": cty.ObjectVal(map[string]cty.Value{
				"connect": cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal(authorizerID)})}),
			}),
		},
		Functions: moduleFuncs,
	}
	vals, err := evalLocals(m, ctx, "api_execution_arn", "api_id")
	if err != nil {
		return fmt.Errorf("%s: %w", c.agma, err)
	}
	var errs []error
	if got := vals["api_execution_arn"]; got.Type() != cty.String || got.AsString() != c.execution {
		errs = append(errs, fmt.Errorf("%s: local.api_execution_arn = %#v, want %s", c.agma, got, c.execution))
	}
	if got := vals["api_id"]; got.Type() != cty.String || got.AsString() != c.id {
		errs = append(errs, fmt.Errorf("%s: local.api_id = %#v, want %s", c.agma, got, c.id))
	}
	perm, err := m.one("resource", "aws_lambda_permission", "authorizer")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	// API Gateway invokes an authorizer's function as <execution ARN>/authorizers/ID.
	want := c.execution + "/authorizers/" + authorizerID
	a, ok := perm.Body.Attributes["source_arn"]
	if !ok {
		return errors.Join(append(errs, errors.New("aws_lambda_permission.authorizer: no source_arn"))...)
	}
	if v, diags := a.Expr.Value(ctx); diags.HasErrors() || v.Type() != cty.String || v.AsString() != want {
		errs = append(errs, fmt.Errorf("%s: the permission's source_arn = %#v (%v), want %s", c.agma, v, diags, want))
	}
	return errors.Join(errs...)
}

// validationCase is an authorizer input and whether the variable's validations take
// it.
type validationCase struct {
	name       string
	authorizer cty.Value
	ok         bool
}

var validationCases = []validationCase{
	{"none", cty.NullVal(authorizerType), true},
	{"JWK set", authorizerVal(map[string]string{"jwks_url": jwksURL}), true},
	{"Secrets Manager", authorizerVal(map[string]string{"secret_arn": secretARN}), true},
	{"SSM", authorizerVal(map[string]string{"secret_arn": parameterARN}), true},
	{"SSM in China", authorizerVal(map[string]string{"secret_arn": "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/k"}), true},
	// Made in the same apply, as the example's secret: checked once known.
	{"secret's ARN unknown", cty.ObjectVal(func() map[string]cty.Value {
		attrs := authorizerVal(nil).AsValueMap()
		attrs["secret_arn"] = cty.UnknownVal(cty.String)
		return attrs
	}()), true},
	{"neither", authorizerVal(nil), false},
	{"both", authorizerVal(map[string]string{"jwks_url": jwksURL, "secret_arn": secretARN}), false},
	{"JWK set over http", authorizerVal(map[string]string{"jwks_url": "http://example.com/jwks.json"}), false},
	{"secret's partial ARN", authorizerVal(map[string]string{"secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pusher"}), false},
	{"not a secret", authorizerVal(map[string]string{"secret_arn": "arn:aws:s3:::bucket/key"}), false},
	{"secret's name", authorizerVal(map[string]string{"secret_arn": "pusher-connect-token"}), false},
	{"parameter with a blank", authorizerVal(map[string]string{"jwks_url": jwksURL, "token_param": "my token"}), false},
	{"no parameter", authorizerVal(map[string]string{"jwks_url": jwksURL, "token_param": ""}), false},
	{"no user claim", authorizerVal(map[string]string{"jwks_url": jwksURL, "user_claim": ""}), false},
	{"one claim for both", authorizerVal(map[string]string{"jwks_url": jwksURL, "user_claim": "topics"}), false},
}

// TestAuthorizerValidation evaluates var.authorizer's validations, whose operands of
// || are all evaluated: a null authorizer, or a null attribute, must not make them
// fail.
func TestAuthorizerValidation(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range validationCases {
		t.Run(c.name, func(t *testing.T) {
			if ok := validationsHold(t, m, "authorizer", c.authorizer); ok != c.ok {
				t.Errorf("the validations hold %v, want %v", ok, c.ok)
			}
		})
	}
}

// ---- the example's WebSocket routes ----

// exampleDir is the example whose WebSocket API the route checks read.
const exampleDir = "../examples/complete"

// wantMessageRoutes are the routes of the client's messages the function answers, with
// the statement id of each one's permission.
var wantMessageRoutes = map[string]string{"subscribe": "AllowSubscribeRoute", "unsubscribe": "AllowUnsubscribeRoute"}

// checkMessageRoutes checks the example's subscribe and unsubscribe routes, which no
// tool can: each goes to the function, which API Gateway may invoke for it, and is
// two-way, or the function's ack never reaches the client (API Gateway passes a
// backend's answer on only through a route response, "$default" being the one key
// WebSocket APIs take, selected by the route's expression "$default":
// docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html);
// and the stage's deployment is redone when they change.
func checkMessageRoutes(m *module) error {
	var errs []error
	forEach := "local.message_routes"
	routes := map[string]string{}
	for _, b := range m.find("locals") {
		a, ok := b.Body.Attributes["message_routes"]
		if !ok {
			continue
		}
		if v, diags := a.Expr.Value(nil); !diags.HasErrors() && v.Type().IsObjectType() {
			for k, sid := range v.AsValueMap() {
				if sid.Type() == cty.String {
					routes[k] = sid.AsString()
				}
			}
		}
	}
	if !reflect.DeepEqual(routes, wantMessageRoutes) {
		errs = append(errs, fmt.Errorf("local.message_routes = %v, want %v", routes, wantMessageRoutes))
	}
	for _, c := range []struct {
		typ   string
		attrs map[string]string
	}{
		{"aws_apigatewayv2_route", map[string]string{
			"for_each":                            forEach,
			"route_key":                           "each.key",
			"target":                              `"integrations/${aws_apigatewayv2_integration.pusher.id}"`,
			"route_response_selection_expression": `"$default"`,
		}},
		{"aws_apigatewayv2_route_response", map[string]string{
			"for_each":           forEach,
			"route_id":           "aws_apigatewayv2_route.message[each.key].id",
			"route_response_key": `"$default"`,
		}},
		{"aws_lambda_permission", map[string]string{
			"for_each":      forEach,
			"statement_id":  "each.value",
			"action":        `"lambda:InvokeFunction"`,
			"function_name": "module.pusher.function_name",
			"qualifier":     "module.pusher.alias_name",
			"principal":     `"apigateway.amazonaws.com"`,
			"source_arn":    `"${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/${each.key}"`,
		}},
	} {
		r, err := m.one("resource", c.typ, "message")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for attr, want := range c.attrs {
			if got := m.attrText(r, attr); got != want {
				errs = append(errs, fmt.Errorf("%s.message: %s = %q, want %s", c.typ, attr, got, want))
			}
		}
	}
	dep, err := m.one("resource", "aws_apigatewayv2_deployment", "ws")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	triggers := m.attrText(dep, "triggers")
	for _, r := range []string{"aws_apigatewayv2_route.message,", "aws_apigatewayv2_route_response.message,"} {
		if !strings.Contains(triggers, r) {
			errs = append(errs, fmt.Errorf("the deployment is not redone when %s changes: triggers = %s", strings.TrimSuffix(r, ","), triggers))
		}
	}
	return errors.Join(errs...)
}

// wantConnectRoutes is what each route of local.connection_routes is authorized by:
// $connect by the module's authorizer, $disconnect by none (a WebSocket API takes an
// authorizer on $connect only, and hands its answer on to the connection's later
// routes).
var wantConnectRoutes = map[string]struct {
	authorizationType string
	authorizerID      cty.Value
}{
	"$connect":    {"CUSTOM", cty.StringVal(authorizerID)},
	"$disconnect": {"NONE", cty.NullVal(cty.String)},
}

// wantExampleAuthorizer is the example's authorizer input, as written: a JWK set when
// given, else the key of connect_token.tf, its version's ARN so that the authorizer is
// made after its key is.
var wantExampleAuthorizer = map[string]string{
	"jwks_url":   "var.token_jwks_url",
	"secret_arn": "one(aws_secretsmanager_secret_version.connect_token[*].arn)",
	"issuer":     "var.token_issuer",
	"audience":   "var.token_audience",
}

// checkConnectRoute checks that the example uses the module's authorizer: it gives the
// module an authorizer, of a JWK set or else of its own key; its $connect route is
// authorized by it and $disconnect by none; the stage is redeployed when it changes.
func checkConnectRoute(m *module) error {
	var errs []error
	mod, err := m.one("module", "pusher")
	if err != nil {
		return err
	}
	got := map[string]string{}
	if a, ok := mod.Body.Attributes["authorizer"]; ok {
		if obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
			for _, item := range obj.Items {
				got[m.text(item.KeyExpr)] = m.text(item.ValueExpr)
			}
		}
	}
	if !reflect.DeepEqual(got, wantExampleAuthorizer) {
		errs = append(errs, fmt.Errorf("module.pusher: authorizer\n have %v\n want %v", got, wantExampleAuthorizer))
	}
	// The key exists exactly when no JWK set is given.
	for _, key := range [][2]string{
		{"data", "aws_secretsmanager_random_password"},
		{"resource", "aws_secretsmanager_secret"},
		{"resource", "aws_secretsmanager_secret_version"},
	} {
		b, err := m.one(key[0], key[1], "connect_token")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if got := m.attrText(b, "count"); got != "var.token_jwks_url==null?1:0" {
			errs = append(errs, fmt.Errorf("%s.connect_token: count = %q, want the key without a JWK set", key[1], got))
		}
	}

	route, err := m.one("resource", "aws_apigatewayv2_route", "connection")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if got := m.attrText(route, "for_each"); got != "local.connection_routes" {
		errs = append(errs, fmt.Errorf("aws_apigatewayv2_route.connection: for_each = %q, want local.connection_routes", got))
	}
	routes := map[string]cty.Value{}
	if expr, ok := m.localExpr("connection_routes"); ok {
		if v, diags := expr.Value(nil); !diags.HasErrors() && v.Type().IsObjectType() {
			routes = v.AsValueMap()
		}
	}
	if len(routes) != len(wantConnectRoutes) {
		errs = append(errs, fmt.Errorf("local.connection_routes has %d routes, want %d", len(routes), len(wantConnectRoutes)))
	}
	for key, want := range wantConnectRoutes {
		sid, ok := routes[key]
		if !ok {
			errs = append(errs, fmt.Errorf("local.connection_routes has no %s", key))
			continue
		}
		ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
			"each":   cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key), "value": sid}),
			"module": cty.ObjectVal(map[string]cty.Value{"pusher": cty.ObjectVal(map[string]cty.Value{"authorizer_id": cty.StringVal(authorizerID)})}),
		}}
		for attr, want := range map[string]cty.Value{"authorization_type": cty.StringVal(want.authorizationType), "authorizer_id": want.authorizerID} {
			a, ok := route.Body.Attributes[attr]
			if !ok {
				errs = append(errs, fmt.Errorf("route %s: no %s", key, attr))
				continue
			}
			v, diags := a.Expr.Value(ctx)
			if diags.HasErrors() || !v.RawEquals(want) && !(want.IsNull() && v.IsNull()) {
				errs = append(errs, fmt.Errorf("route %s: %s = %#v (%v), want %#v", key, attr, v, diags, want))
			}
		}
	}

	dep, err := m.one("resource", "aws_apigatewayv2_deployment", "ws")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if triggers := m.attrText(dep, "triggers"); !strings.Contains(triggers, "module.pusher.authorizer_id,") {
		errs = append(errs, fmt.Errorf("the deployment is not redone when the authorizer changes: triggers = %s", triggers))
	}
	return errors.Join(errs...)
}

// checkRoutesOnAlias checks that an example's WebSocket routes invoke the module's
// alias, as every source of the module does: the integration of the pusher's routes
// takes alias_invoke_arn, and each permission on the module's function is qualified by
// alias_name (a permission on the function alone does not let API Gateway invoke an
// alias). Else moving the alias back, the rollback, would leave $connect, $disconnect
// and the message routes on the newest code.
func checkRoutesOnAlias(m *module) error {
	var errs []error
	in, err := m.one("resource", "aws_apigatewayv2_integration", "pusher")
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, checkAttrs(m, in, map[string]string{"integration_uri": "module.pusher.alias_invoke_arn"}))
	}
	n := 0
	for _, p := range m.find("resource", "aws_lambda_permission") {
		if m.attrText(p, "function_name") != "module.pusher.function_name" {
			continue
		}
		n++
		if got := m.attrText(p, "qualifier"); got != "module.pusher.alias_name" {
			errs = append(errs, fmt.Errorf("aws_lambda_permission.%s: qualifier = %q, want module.pusher.alias_name", p.Labels[1], got))
		}
	}
	if n == 0 {
		errs = append(errs, errors.New("no aws_lambda_permission lets API Gateway invoke the module's function"))
	}
	return errors.Join(errs...)
}

// ---- tests ----

// checks are what the tests hold the module to.
var checks = []struct {
	name  string
	check func(*module) error
}{
	{"grants", checkGrants},
	{"event source", checkEventSource},
	{"function", checkFunction},
	{"authorizer", checkAuthorizer},
	{"kinesis", checkKinesis},
	{"eventbridge", checkEventBridge},
	{"settings", checkSettings},
	{"pace", checkPace},
}

// exampleChecks are what the tests hold the example to.
var exampleChecks = []struct {
	name  string
	check func(*module) error
}{
	{"message routes", checkMessageRoutes},
	{"connect route", checkConnectRoute},
	{"routes on the alias", checkRoutesOnAlias},
}

func TestModule(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(m); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestExampleRoutes(t *testing.T) {
	m, err := loadModule(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range exampleChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(m); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestRouteChecksCatchChanges edits a copy of the example in ways that would keep the
// function's answers from the client, the routes from the function, or $connect from
// the authorizer, and expects the route checks to see each.
func TestRouteChecksCatchChanges(t *testing.T) {
	cases := []mutation{
		{"one-way route", "websocket.tf", `route_response_selection_expression = "$default"`, ``},
		{"no route response", "websocket.tf", `resource "aws_apigatewayv2_route_response" "message" {`, `resource "aws_apigatewayv2_route_response" "gone" {`},
		{"route response key", "websocket.tf", `route_response_key = "$default"`, `route_response_key = "ok"`},
		{"route dropped", "websocket.tf", `"unsubscribe" = "AllowUnsubscribeRoute"`, ``},
		{"no permission", "websocket.tf", `resource "aws_lambda_permission" "message" {`, `resource "aws_lambda_permission" "other" {`},
		{"permission of another route", "websocket.tf", `source_arn    = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/${each.key}"
}

resource "aws_apigatewayv2_deployment"`, `source_arn    = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/$default"
}

resource "aws_apigatewayv2_deployment"`},
		{"not redeployed", "websocket.tf", `      aws_apigatewayv2_route_response.message,
`, ``},
		{"routes on the function, not its alias", "websocket.tf", `integration_uri = module.pusher.alias_invoke_arn`, `integration_uri = module.pusher.function_invoke_arn`},
		{"message routes' permission unqualified", "websocket.tf", `resource "aws_lambda_permission" "message" {
  for_each = local.message_routes

  statement_id  = each.value
  action        = "lambda:InvokeFunction"
  function_name = module.pusher.function_name
  qualifier     = module.pusher.alias_name
`, `resource "aws_lambda_permission" "message" {
  for_each = local.message_routes

  statement_id  = each.value
  action        = "lambda:InvokeFunction"
  function_name = module.pusher.function_name
`},
		{"$connect's permission unqualified", "websocket.tf", `resource "aws_lambda_permission" "connection" {
  for_each = local.connection_routes

  statement_id  = each.value
  action        = "lambda:InvokeFunction"
  function_name = module.pusher.function_name
  qualifier     = module.pusher.alias_name
`, `resource "aws_lambda_permission" "connection" {
  for_each = local.connection_routes

  statement_id  = each.value
  action        = "lambda:InvokeFunction"
  function_name = module.pusher.function_name
`},
		{"$connect open", "websocket.tf", `authorization_type = each.key == "$connect" ? "CUSTOM" : "NONE"`, `authorization_type = "NONE"`},
		{"authorizer on $disconnect", "websocket.tf", `authorizer_id      = each.key == "$connect" ? module.pusher.authorizer_id : null`, `authorizer_id      = module.pusher.authorizer_id`},
		{"$connect without the authorizer", "websocket.tf", `each.key == "$connect" ? module.pusher.authorizer_id : null`, `null`},
		{"not redeployed with the authorizer", "websocket.tf", `      module.pusher.authorizer_id,
`, ``},
		{"no authorizer", "main.tf", `  authorizer = {`, `  no_authorizer = {`},
		{"authorizer before its key", "main.tf", `one(aws_secretsmanager_secret_version.connect_token[*].arn)`, `one(aws_secretsmanager_secret.connect_token[*].arn)`},
		{"key beside a JWK set", "connect_token.tf", `resource "aws_secretsmanager_secret" "connect_token" {
  count = var.token_jwks_url == null ? 1 : 0`, `resource "aws_secretsmanager_secret" "connect_token" {
  count = 1`},
	}
	caught(t, exampleDir, cases, all(exampleChecks), "example")
}

// TestChecksCatchChanges edits a copy of the module in ways that grant more or less, or
// break the mapping, the function or the authorizer, and expects the checks to see each.
func TestChecksCatchChanges(t *testing.T) {
	cases := []mutation{
		{"action added", "iam.tf", `actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]`, `actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:PurgeQueue"]`},
		{"poison queue read", "iam.tf", `actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]`, `actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]`},
		{"keys only to decrypt", "iam.tf", `actions   = ["kms:Decrypt", "kms:GenerateDataKey"]`, `actions   = ["kms:Decrypt"]`},
		{"any key", "iam.tf", `for_each = length(var.kms_key_arns) == 0 ? [] : [var.kms_key_arns]`, `for_each = [["*"]]`},
		{"mapping unbounded", "sources.tf", `  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }
`, ``},
		{"mapping on the function, not its alias", "sources.tf", `  function_name                      = aws_lambda_alias.pusher.arn`, `  function_name                      = aws_lambda_function.pusher.arn`},
		{"action removed", "iam.tf", `"dynamodb:Scan",`, ``},
		{"action moved to another resource", "iam.tf", `"sqs:DeleteMessage",`, `"sqs:DeleteMessage", "sqs:SendMessage",`},
		{"wildcard resource", "iam.tf", `resources = [aws_sqs_queue.poison.arn]`, `resources = ["*"]`},
		{"queue statement always", "main.tf", `notifications_queue_arns = var.notifications_queue_enabled ? [var.notifications_queue_arn] : []`, `notifications_queue_arns = ["*"]`},
		{"statement added", "iam.tf", `data "aws_iam_policy_document" "pusher" {`, `data "aws_iam_policy_document" "pusher" {
  statement {
    sid       = "More"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::bucket/key"]
  }`},
		{"not_actions", "iam.tf", `sid       = "PoisonQueue"`, `sid       = "PoisonQueue"
    not_actions = ["sqs:DeleteQueue"]`},
		{"source document", "iam.tf", `data "aws_iam_policy_document" "pusher" {`, `data "aws_iam_policy_document" "pusher" {
  source_policy_documents = [var.extra_policy]`},
		{"managed policy attached", "iam.tf", `resource "aws_iam_role_policy" "pusher" {`, `resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.pusher.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_role_policy" "pusher" {`},
		{"inline JSON policy", "iam.tf", `policy = data.aws_iam_policy_document.pusher.json`, `policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })`},
		{"trust widened", "iam.tf", `Principal = { Service = "lambda.amazonaws.com" }`, `Principal = { AWS = "*" }`},
		{"no partial batch responses", "sources.tf", `function_response_types            = ["ReportBatchItemFailures"]`, ``},
		{"batch size fixed", "sources.tf", `batch_size                         = var.batch_size`, `batch_size                         = 10`},
		{"FIFO precondition dropped", "sources.tf", `!endswith(var.notifications_queue_arn, ".fifo") ||`, `true ||`},
		{"window precondition dropped", "sources.tf", `var.batch_size <= 10 || var.maximum_batching_window_in_seconds >= 1`, `true`},
		{"runtime", "main.tf", `"provided.al2023"`, `"provided.al2"`},
		{"handler", "main.tf", `"bootstrap"`, `"main"`},
		{"environment name", "main.tf", `POISON_QUEUE_URL       = aws_sqs_queue.poison.url`, `POISON_QUEUE       = aws_sqs_queue.poison.url`},
		{"caller's environment wins", "main.tf", `merge(var.environment, {`, `merge({`},
		{"subscriptions statements always", "main.tf", `var.subscriptions_table == null ? [] : [var.subscriptions_table]`, `[var.subscriptions_table]`},
		{"subscriptions index widened", "iam.tf", `"${statement.value.arn}/index/by-connection"`, `"${statement.value.arn}/index/*"`},
		{"subscriptions scanned", "iam.tf", `"dynamodb:Query",
        "dynamodb:GetItem",`, `"dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:GetItem",`},
		{"subscriptions index written", "iam.tf", `actions   = ["dynamodb:Query"]`, `actions   = ["dynamodb:Query", "dynamodb:PutItem"]`},
		{"subscriptions table not in the environment", "main.tf", `}, { for t in local.subscriptions_tables : "SUBSCRIPTIONS_TABLE_NAME" => t.name }, local.pace_environment,`, `}, {}, local.pace_environment,`},
		{"pace environment dropped", "main.tf", `, local.pace_environment,`, `, {},`},
		{"post rate not passed on", "main.tf", `    POST_RATE       = var.post_rate
`, ``},
		{"fleet rate misspelt", "main.tf", `FLEET_POST_RATE = var.fleet_post_rate`, `FLEET_RATE      = var.fleet_post_rate`},
		{"rates swapped", "main.tf", `POST_RATE       = var.post_rate
    FLEET_POST_RATE = var.fleet_post_rate`, `POST_RATE       = var.fleet_post_rate
    FLEET_POST_RATE = var.post_rate`},
		{"a rate not given passed as null", "main.tf", `k => tostring(v) if v != null }`, `k => v }`},
		{"a burst without a rate allowed", "main.tf", `!try(var.environment["POST_BURST"] > 0, false) || try(var.post_rate > 0, false)`, `true`},
		{"a burst with a rate of zero allowed", "main.tf", `try(var.post_rate > 0, false)`, `var.post_rate != null`},
		{"subscriptions table's name misspelt", "main.tf", `"SUBSCRIPTIONS_TABLE_NAME" => t.name`, `"SUBSCRIPTIONS_TABLE" => t.name`},
		{"log group not the function's", "main.tf", `"/aws/lambda/${local.name}"`, `"/pusher/${local.name}"`},
		{"segment tasks sent always", "main.tf", `var.broadcast_split == null || !var.notifications_queue_enabled ? [] : [var.notifications_queue_arn]`, `[var.notifications_queue_arn]`},
		{"segment tasks sent anywhere", "iam.tf", `sid       = "SegmentTasks"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]`, `sid       = "SegmentTasks"
      actions   = ["sqs:SendMessage"]
      resources = ["*"]`},
		{"split environment dropped", "main.tf", `, local.split_environment,`, `, {},`},
		{"queue URL of the wrong region", "main.tf", `split(":", var.notifications_queue_arn)[3], data.aws_partition.current.dns_suffix`, `"us-east-1", data.aws_partition.current.dns_suffix`},
		{"queue URL's suffix hard-coded", "main.tf", `data.aws_partition.current.dns_suffix, split`, `"amazonaws.com", split`},
		{"split setting misspelt", "main.tf", `BROADCAST_SEGMENT_SIZE  = tostring`, `BROADCAST_SEGMENT      = tostring`},
		{"split onto a FIFO queue allowed", "main.tf", ` && !endswith(coalesce(var.notifications_queue_arn, "none"), ".fifo")`, ``},
		{"authorizer may read any secret", "authorizer.tf", `actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]`, `actions   = ["secretsmanager:GetSecretValue"]
      resources = ["*"]`},
		{"authorizer reads its key by another call", "authorizer.tf", `["ssm:GetParameter"]`, `["ssm:GetParameters"]`},
		{"authorizer given a table", "authorizer.tf", `data "aws_iam_policy_document" "authorizer" {
  count = length(local.authorizers)
`, `data "aws_iam_policy_document" "authorizer" {
  count = length(local.authorizers)

  statement {
    sid       = "ConnectionsTable"
    actions   = ["dynamodb:PutItem"]
    resources = [var.connections_table.arn]
  }
`},
		{"parameter read as a secret", "authorizer.tf", `if can(regex("^arn:[^:]+:secretsmanager:", a.secret_arn))`, `if can(regex("^arn:", a.secret_arn))`},
		{"authorizer's policy on the pusher's role", "authorizer.tf", `role   = aws_iam_role.authorizer[0].id`, `role   = aws_iam_role.pusher.id`},
		{"authorizer runs as the pusher", "authorizer.tf", `role             = aws_iam_role.authorizer[0].arn`, `role             = aws_iam_role.pusher.arn`},
		{"authorizer's trust widened", "authorizer.tf", `Principal = { Service = "lambda.amazonaws.com" }`, `Principal = { Service = "apigateway.amazonaws.com" }`},
		{"authorizer always", "authorizer.tf", `authorizers = var.authorizer == null ? [] : [var.authorizer]`, `authorizers = [var.authorizer]`},
		{"authorizer started as the pusher", "authorizer.tf", `PUSHER_ROLE              = "authorizer"`, `PUSHER_ROLE              = "pusher"`},
		{"authorizer's setting misspelt", "authorizer.tf", `CONNECT_TOKEN_PARAM      = a.token_param`, `CONNECT_TOKEN_PARAMETER  = a.token_param`},
		{"authorizer's issuer not passed on", "authorizer.tf", `    CONNECT_TOKEN_ISSUER     = a.issuer
`, ``},
		{"authorizer gets the pusher's environment", "authorizer.tf", `merge({ for k, v in var.environment : k => v if contains(local.authorizer_shared_environment, k) }, local.authorizer_environment)`, `merge(var.environment, local.authorizer_environment)`},
		{"authorizer's log group not its own", "authorizer.tf", `"/aws/lambda/${local.authorizer_name}"`, `"/aws/lambda/${local.name}"`},
		{"identity source a header", "authorizer.tf", `"route.request.querystring.${var.authorizer.token_param}"`, `"route.request.header.${var.authorizer.token_param}"`},
		{"identity source fixed", "authorizer.tf", `"route.request.querystring.${var.authorizer.token_param}"`, `"route.request.querystring.token"`},
		{"authorizer's answers cached", "authorizer.tf", `authorizer_type  = "REQUEST"`, `authorizer_type  = "REQUEST"
  authorizer_result_ttl_in_seconds = 300`},
		{"authorizer's API of the whole agma_arn", "authorizer.tf", `api_execution_arn = split("/", var.agma_arn)[0]`, `api_execution_arn = var.agma_arn`},
		{"any authorizer may invoke it", "authorizer.tf", `/authorizers/${aws_apigatewayv2_authorizer.connect[0].id}"`, `/authorizers/*"`},
		{"pusher never requires the authorizer", "main.tf", `, local.authorizer_required, local.settings_environment)`, `, {}, local.settings_environment)`},
		{"pusher always requires the authorizer", "authorizer.tf", `authorizer_required = { for a in local.authorizers : "AUTHORIZER_REQUIRED" => "true" }`, `authorizer_required = { AUTHORIZER_REQUIRED = "true" }`},
	}
	caught(t, ".", cases, all(checks), "module")
}

// copyTF copies the .tf files of src into dst.
func copyTF(t *testing.T, src, dst string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(src, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files in %s (%v)", src, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// edit replaces the one occurrence of old in the file at path with new.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), old); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want once: the edit is stale", path, old, n)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mutation is an edit of one file of a Terraform directory, old to new, that the checks
// must catch: each one is a mistake the checks exist to find.
type mutation struct{ name, file, old, new string }

// caught applies each mutation to a copy of dir and fails the test when check accepts
// the edited copy (what names it: the module, the example).
func caught(t *testing.T, dir string, mutations []mutation, check func(*module) error, what string) {
	t.Helper()
	for _, c := range mutations {
		t.Run(c.name, func(t *testing.T) {
			copied := t.TempDir()
			copyTF(t, dir, copied)
			edit(t, filepath.Join(copied, c.file), c.old, c.new)
			m, err := loadModule(copied)
			if err != nil {
				t.Fatal(err)
			}
			if err := check(m); err == nil {
				t.Errorf("the checks accept the edited %s", what)
			} else {
				t.Log(err)
			}
		})
	}
}

// all is a check that runs every one of checks and joins their errors.
func all(checks []struct {
	name  string
	check func(*module) error
}) func(*module) error {
	return func(m *module) error {
		errs := make([]error, 0, len(checks))
		for _, c := range checks {
			errs = append(errs, c.check(m))
		}
		return errors.Join(errs...)
	}
}
