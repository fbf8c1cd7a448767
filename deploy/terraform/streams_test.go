package terraform_test

// The checks of seeds 002 and 003 in the module: the Kinesis event source mapping
// (partial batch responses, bisect, bounded retries, an on-failure destination of its
// own), the EventBridge rules (their targets, dead-letter queue and retries, the
// queue's policy letting exactly the rules that target it send, the function's
// permission), and the settings that are inputs of their own (the mappings, connections
// without a user, the $connect topic parameters).

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// allTrue is Terraform's alltrue, which cty's standard library lacks.
var allTrue = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		for _, v := range args[0].AsValueSlice() {
			if !v.IsKnown() {
				return cty.UnknownVal(cty.Bool), nil
			}
			if v.IsNull() || v.False() {
				return cty.False, nil
			}
		}
		return cty.True, nil
	},
})

// tfLength is Terraform's length, which counts a string's characters and an object's
// attributes too, unlike cty's.
var tfLength = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		switch {
		case !v.IsKnown():
			return cty.UnknownVal(cty.Number), nil
		case v.Type() == cty.String:
			return stdlib.Strlen(v)
		case v.Type().IsObjectType():
			return cty.NumberIntVal(int64(len(v.Type().AttributeTypes()))), nil
		}
		return stdlib.Length(v)
	},
})

// moduleFuncs are the Terraform functions the expressions the tests evaluate call.
var moduleFuncs = map[string]function.Function{
	"regex": stdlib.RegexFunc, "can": tryfunc.CanFunc, "try": tryfunc.TryFunc, "contains": stdlib.ContainsFunc,
	"floor": stdlib.FloorFunc, "length": tfLength, "alltrue": allTrue, "jsondecode": stdlib.JSONDecodeFunc,
	"keys": stdlib.KeysFunc, "values": stdlib.ValuesFunc, "join": stdlib.JoinFunc, "endswith": endsWith, "startswith": startsWith, "substr": stdlib.SubstrFunc,
	"coalesce": stdlib.CoalesceFunc, "tostring": toString, "merge": stdlib.MergeFunc, "split": stdlib.SplitFunc,
}

// nested returns the blocks of type typ directly in b.
func nested(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

// nestedOne returns the only block at the path of block types below b.
func nestedOne(b *hclsyntax.Block, path ...string) (*hclsyntax.Block, error) {
	for _, typ := range path {
		bs := nested(b, typ)
		if len(bs) != 1 {
			return nil, fmt.Errorf("%d %s blocks in %s %q, want 1", len(bs), typ, b.Type, b.Labels)
		}
		b = bs[0]
	}
	return b, nil
}

// checkAttrs reports how the arguments of b, as written, differ from want.
func checkAttrs(m *module, b *hclsyntax.Block, want map[string]string) error {
	var errs []error
	for _, attr := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		if got := m.attrText(b, attr); got != want[attr] {
			errs = append(errs, fmt.Errorf("%s %q: %s = %q, want %s", b.Type, b.Labels, attr, got, want[attr]))
		}
	}
	return errors.Join(errs...)
}

// eval evaluates the argument name of b in ctx.
func eval(b *hclsyntax.Block, name string, ctx *hcl.EvalContext) (cty.Value, error) {
	a, ok := b.Body.Attributes[name]
	if !ok {
		return cty.NilVal, fmt.Errorf("%s %q has no %s", b.Type, b.Labels, name)
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s %q: %s: %w", b.Type, b.Labels, name, diags)
	}
	return v, nil
}

// preconditionsHold evaluates the preconditions of b in ctx: whether they all hold,
// Terraform checking an unknown condition once it is known (at apply).
func preconditionsHold(b *hclsyntax.Block, ctx *hcl.EvalContext) (bool, error) {
	ok := true
	for _, lc := range nested(b, "lifecycle") {
		for _, p := range nested(lc, "precondition") {
			v, diags := p.Body.Attributes["condition"].Expr.Value(ctx)
			if diags.HasErrors() || !v.Type().Equals(cty.Bool) {
				return false, fmt.Errorf("%s %q: precondition: %v", b.Type, b.Labels, diags)
			}
			ok = ok && (!v.IsKnown() || v.True())
		}
	}
	return ok, nil
}

// validationsHold evaluates the validations of the variable name with the value v:
// whether they all hold, Terraform checking an unknown condition once it is known.
func validationsHold(t *testing.T, m *module, name string, v cty.Value) bool {
	t.Helper()
	b, err := m.one("variable", name)
	if err != nil {
		t.Fatal(err)
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: v})},
		Functions: moduleFuncs,
	}
	ok := true
	for _, val := range nested(b, "validation") {
		got, diags := val.Body.Attributes["condition"].Expr.Value(ctx)
		if diags.HasErrors() || !got.Type().Equals(cty.Bool) && got.IsKnown() {
			t.Fatalf("condition %s: %v", m.text(val.Body.Attributes["condition"].Expr), diags)
		}
		if got.IsKnown() && got.False() {
			ok = false
			if msg, diags := val.Body.Attributes["error_message"].Expr.Value(nil); !diags.HasErrors() && msg.Type() == cty.String {
				t.Log(msg.AsString())
			}
		}
	}
	return ok
}

// ---- seed 002: the Kinesis stream ----

const (
	streamARN = "arn:aws:kinesis:eu-west-1:123456789012:stream/vehicle-positions"
	keyARN    = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// kinesisType is var.kinesis_stream's type, as Terraform passes it to the module.
var kinesisType = cty.Object(map[string]cty.Type{
	"arn": cty.String, "starting_position": cty.String, "batch_size": cty.Number,
	"maximum_batching_window_in_seconds": cty.Number, "parallelization_factor": cty.Number, "shard_count": cty.Number,
	"maximum_retry_attempts": cty.Number, "maximum_record_age_in_seconds": cty.Number, "kms_key_arn": cty.String,
})

// kinesisVal is var.kinesis_stream of the stream's ARN and the module's defaults, but
// for set.
func kinesisVal(set map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{
		"arn": cty.StringVal(streamARN), "starting_position": cty.StringVal("LATEST"),
		"batch_size": cty.NumberIntVal(100), "maximum_batching_window_in_seconds": cty.NumberIntVal(0),
		"parallelization_factor": cty.NumberIntVal(1), "shard_count": cty.NumberIntVal(1), "maximum_retry_attempts": cty.NumberIntVal(3),
		"maximum_record_age_in_seconds": cty.NumberIntVal(3600), "kms_key_arn": cty.NullVal(cty.String),
	}
	for k, v := range set {
		attrs[k] = v
	}
	return cty.ObjectVal(attrs)
}

// wantKinesisMapping is the event source mapping of the stream, as written: it exists
// with the stream, takes its inputs, reports partial batch failures (else Lambda takes
// any answer for a success), bisects a batch the function fails on, gives a batch up
// after bounded retries (the inputs' validations bound them) and is made once the role
// may read the stream and send to the destination.
var wantKinesisMapping = map[string]string{
	"count":                              "length(local.kinesis_streams)",
	"event_source_arn":                   "var.kinesis_stream.arn",
	"function_name":                      "aws_lambda_alias.pusher.arn",
	"starting_position":                  "var.kinesis_stream.starting_position",
	"batch_size":                         "var.kinesis_stream.batch_size",
	"maximum_batching_window_in_seconds": "var.kinesis_stream.maximum_batching_window_in_seconds",
	"parallelization_factor":             "var.kinesis_stream.parallelization_factor",
	"bisect_batch_on_function_error":     "true",
	"maximum_retry_attempts":             "var.kinesis_stream.maximum_retry_attempts",
	"maximum_record_age_in_seconds":      "var.kinesis_stream.maximum_record_age_in_seconds",
	"depends_on":                         "[aws_iam_role_policy.pusher]",
	"tumbling_window_in_seconds":         "",
}

// wantKinesisDLQ is the queue of the batches Lambda gives up on: one with the stream,
// the module's own (not the poison queue, which `pusher replay` reads), kept 14 days,
// with SQS's keys (Lambda sends with the role, which has no KMS grant).
var wantKinesisDLQ = map[string]string{
	"count":                     "length(local.kinesis_streams)",
	"name":                      `"${local.name}-kinesis-dlq"`,
	"message_retention_seconds": "1209600",
	"sqs_managed_sse_enabled":   "true",
	"kms_master_key_id":         "",
}

// kinesisKeyCases are streams and the keys the role may decrypt with.
var kinesisKeyCases = []struct {
	name   string
	stream cty.Value
	keys   []string
}{
	{"none", cty.NullVal(kinesisType), nil},
	{"AWS's key", kinesisVal(nil), nil},
	{"customer managed key", kinesisVal(map[string]cty.Value{"kms_key_arn": cty.StringVal(keyARN)}), []string{keyARN}},
}

// checkKinesis checks the stream's event source mapping, its on-failure destination,
// and the keys the role may decrypt with.
func checkKinesis(m *module) error {
	var errs []error
	esm, err := m.one("resource", "aws_lambda_event_source_mapping", "kinesis")
	if err != nil {
		return err
	}
	errs = append(errs, checkAttrs(m, esm, wantKinesisMapping))
	var types []string
	if a, ok := esm.Body.Attributes["function_response_types"]; ok {
		types, err = literalStrings(a.Expr)
	}
	if err != nil || !slices.Equal(types, []string{"ReportBatchItemFailures"}) {
		errs = append(errs, fmt.Errorf("kinesis mapping: function_response_types = %q (%v), want [ReportBatchItemFailures]", types, err))
	}
	if dest, err := nestedOne(esm, "destination_config", "on_failure"); err != nil {
		errs = append(errs, fmt.Errorf("kinesis mapping: no on-failure destination: %w", err))
	} else {
		errs = append(errs, checkAttrs(m, dest, map[string]string{"destination_arn": "aws_sqs_queue.kinesis_dlq[0].arn"}))
	}
	if dlq, err := m.one("resource", "aws_sqs_queue", "kinesis_dlq"); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, checkAttrs(m, dlq, wantKinesisDLQ))
	}
	if got, _ := m.local("kinesis_streams"); got != "var.kinesis_stream==null?[]:[var.kinesis_stream]" {
		errs = append(errs, fmt.Errorf("local.kinesis_streams = %s, want the stream when given, else none", got))
	}
	for _, c := range kinesisKeyCases {
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"kinesis_stream": c.stream})},
			Functions: moduleFuncs,
		}
		vals, err := evalLocals(m, ctx, "kinesis_streams", "kinesis_keys")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			continue
		}
		if got := stringList(vals["kinesis_keys"]); !slices.Equal(got, c.keys) {
			errs = append(errs, fmt.Errorf("%s: the role may decrypt with %q, want %q", c.name, got, c.keys))
		}
	}
	return errors.Join(errs...)
}

var kinesisValidationCases = []struct {
	name   string
	stream cty.Value
	ok     bool
}{
	{"none", cty.NullVal(kinesisType), true},
	{"defaults", kinesisVal(nil), true},
	{"trim horizon, large batches, parallel", kinesisVal(map[string]cty.Value{
		"starting_position": cty.StringVal("TRIM_HORIZON"), "batch_size": cty.NumberIntVal(10000),
		"maximum_batching_window_in_seconds": cty.NumberIntVal(300), "parallelization_factor": cty.NumberIntVal(10),
	}), true},
	{"no retry, a minute", kinesisVal(map[string]cty.Value{"maximum_retry_attempts": cty.NumberIntVal(0), "maximum_record_age_in_seconds": cty.NumberIntVal(60)}), true},
	{"customer managed key", kinesisVal(map[string]cty.Value{"kms_key_arn": cty.StringVal(keyARN)}), true},
	{"in China", kinesisVal(map[string]cty.Value{"arn": cty.StringVal("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s")}), true},
	// Made in the same apply: checked once known.
	{"stream's ARN unknown", kinesisVal(map[string]cty.Value{"arn": cty.UnknownVal(cty.String)}), true},
	{"retried forever", kinesisVal(map[string]cty.Value{"maximum_retry_attempts": cty.NumberIntVal(-1)}), false},
	{"kept forever", kinesisVal(map[string]cty.Value{"maximum_record_age_in_seconds": cty.NumberIntVal(-1)}), false},
	{"kept past a week", kinesisVal(map[string]cty.Value{"maximum_record_age_in_seconds": cty.NumberIntVal(604801)}), false},
	{"at a timestamp", kinesisVal(map[string]cty.Value{"starting_position": cty.StringVal("AT_TIMESTAMP")}), false},
	{"empty batches", kinesisVal(map[string]cty.Value{"batch_size": cty.NumberIntVal(0)}), false},
	{"batches too large", kinesisVal(map[string]cty.Value{"batch_size": cty.NumberIntVal(10001)}), false},
	{"too parallel", kinesisVal(map[string]cty.Value{"parallelization_factor": cty.NumberIntVal(11)}), false},
	{"many shards", kinesisVal(map[string]cty.Value{"shard_count": cty.NumberIntVal(200)}), true},
	{"shards unknown", kinesisVal(map[string]cty.Value{"shard_count": cty.UnknownVal(cty.Number)}), true},
	{"no shard", kinesisVal(map[string]cty.Value{"shard_count": cty.NumberIntVal(0)}), false},
	{"half a shard", kinesisVal(map[string]cty.Value{"shard_count": cty.NumberFloatVal(1.5)}), false},
	{"window too long", kinesisVal(map[string]cty.Value{"maximum_batching_window_in_seconds": cty.NumberIntVal(301)}), false},
	{"a queue", kinesisVal(map[string]cty.Value{"arn": cty.StringVal(standardQueue)}), false},
	{"a key's alias", kinesisVal(map[string]cty.Value{"kms_key_arn": cty.StringVal("arn:aws:kms:eu-west-1:123456789012:alias/streams")}), false},
}

// TestKinesisStreamValidation evaluates var.kinesis_stream's validations: a stream's
// retries and the age of its records are bounded, and its inputs within Lambda's
// ranges.
func TestKinesisStreamValidation(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kinesisValidationCases {
		t.Run(c.name, func(t *testing.T) {
			if got := validationsHold(t, m, "kinesis_stream", c.stream); got != c.ok {
				t.Errorf("the validations hold %v, want %v", got, c.ok)
			}
		})
	}
}

// ---- seed 003: the EventBridge rules ----

const (
	// The function's alias, which every source invokes.
	aliasARN = "arn:aws:lambda:eu-west-1:123456789012:function:p-pusher:live"
)

// ruleType is an element of var.eventbridge_rules, as Terraform passes it.
var ruleType = cty.Object(map[string]cty.Type{
	"event_pattern": cty.String, "event_bus_name": cty.String, "description": cty.String, "target": cty.String,
	"maximum_retry_attempts": cty.Number, "maximum_event_age_in_seconds": cty.Number,
})

// ruleVal is a rule of seed 003's pattern and the module's defaults, targeting target,
// but for set.
func ruleVal(target string, set map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{
		"event_pattern":  cty.StringVal(`{"source":["entities"],"detail-type":["Entity Updated"]}`),
		"event_bus_name": cty.StringVal("default"), "description": cty.NullVal(cty.String), "target": cty.StringVal(target),
		"maximum_retry_attempts": cty.NumberIntVal(185), "maximum_event_age_in_seconds": cty.NumberIntVal(86400),
	}
	for k, v := range set {
		attrs[k] = v
	}
	return cty.ObjectVal(attrs)
}

// ruleARN is the ARN EventBridge gives the rule of that name.
func ruleARN(name string) string {
	return "arn:aws:events:eu-west-1:123456789012:rule/p-pusher-" + name
}

// rules are two rules, one to the queue and one to the function, and the ARNs of their
// resources.
var (
	rules         = cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", nil), "direct": ruleVal("function", nil)})
	ruleResources = cty.ObjectVal(map[string]cty.Value{"pusher": cty.ObjectVal(map[string]cty.Value{
		"entities": cty.ObjectVal(map[string]cty.Value{"arn": cty.StringVal(ruleARN("entities"))}),
		"direct":   cty.ObjectVal(map[string]cty.Value{"arn": cty.StringVal(ruleARN("direct"))}),
	})})
)

// wantRuleAttrs are the arguments of the EventBridge resources, as written: a rule per
// input rule, named for the module, on its bus; its target on the same bus and rule,
// with the module's dead-letter queue and the rule's retries, and no role (SQS and
// Lambda targets are allowed by their resource policies, and a role can make delivery
// fail: docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html);
// the queue's policy written exactly when a rule targets the queue; the function's
// permission for each rule that targets it, from that rule alone; the function's
// asynchronous failures sent to the dead-letter queue when a rule invokes it.
var wantRuleAttrs = map[[2]string]map[string]string{
	{"aws_cloudwatch_event_rule", "pusher"}: {
		"for_each":       "var.eventbridge_rules",
		"name":           `"${local.name}-${each.key}"`,
		"event_bus_name": "each.value.event_bus_name",
		"event_pattern":  "each.value.event_pattern",
	},
	{"aws_cloudwatch_event_target", "pusher"}: {
		"for_each":       "var.eventbridge_rules",
		"rule":           "aws_cloudwatch_event_rule.pusher[each.key].name",
		"event_bus_name": "each.value.event_bus_name",
		"role_arn":       "",
		"input":          "",
		"input_path":     "",
		"depends_on":     "[aws_sqs_queue_policy.notifications,aws_lambda_permission.eventbridge,]",
	},
	{"aws_sqs_queue_policy", "notifications"}: {
		"count":     "length(local.queue_rules)==0?0:1",
		"queue_url": "local.notifications_queue_url",
		"policy":    "data.aws_iam_policy_document.notifications_queue[0].json",
	},
	{"aws_lambda_permission", "eventbridge"}: {
		"for_each":      "local.function_rules",
		"action":        `"lambda:InvokeFunction"`,
		"function_name": "aws_lambda_function.pusher.function_name",
		"qualifier":     "aws_lambda_alias.pusher.name",
		"principal":     `"events.amazonaws.com"`,
		"source_arn":    "aws_cloudwatch_event_rule.pusher[each.key].arn",
	},
	// The alias's: Lambda applies an invoke configuration per version or alias.
	{"aws_lambda_function_event_invoke_config", "pusher"}: {
		"count":                        "length(aws_sqs_queue.async_failures)",
		"function_name":                "aws_lambda_function.pusher.function_name",
		"qualifier":                    "aws_lambda_alias.pusher.name",
		"maximum_retry_attempts":       "var.async_maximum_retry_attempts",
		"maximum_event_age_in_seconds": "var.async_maximum_event_age_in_seconds",
	},
	// SNS's and EventBridge's failed invocations, kept: exactly when something invokes
	// the function asynchronously.
	{"aws_sqs_queue", "async_failures"}: {
		"count":                   "local.async_invoked?1:0",
		"name":                    `"${local.name}-async-failures"`,
		"sqs_managed_sse_enabled": "true",
	},
	{"aws_sqs_queue", "events_dlq"}: {
		"count":                   "length(var.eventbridge_rules)==0?0:1",
		"name":                    `"${local.name}-events-dlq"`,
		"sqs_managed_sse_enabled": "true",
	},
	{"aws_sqs_queue_policy", "events_dlq"}: {
		"count":     "length(aws_sqs_queue.events_dlq)",
		"queue_url": "aws_sqs_queue.events_dlq[0].url",
		"policy":    "data.aws_iam_policy_document.events_dlq[0].json",
	},
}

// queuePolicy is what a queue policy document of the module must say: EventBridge
// alone may send to the queue resource, from the rules sources alone, beside the
// statements of sourceDocs.
type queuePolicy struct {
	name, count, resource string
	sources               []string // the rules' ARNs aws:SourceArn may be, for rules
	sourceDocs            string   // source_policy_documents, as written
}

var queuePolicies = []queuePolicy{
	// The notifications queue: the rule to the queue, not the one to the function, and
	// the caller's statements (a queue has one policy).
	{"notifications_queue", "length(local.queue_rules)==0?0:1", "var.notifications_queue_arn", []string{ruleARN("entities")}, "var.notifications_queue_policy_documents"},
	// The dead-letter queue: both rules, nothing else.
	{"events_dlq", "length(aws_sqs_queue.events_dlq)", "aws_sqs_queue.events_dlq[0].arn", []string{ruleARN("direct"), ruleARN("entities")}, ""},
}

var (
	policyDocSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "count"}, {Name: "source_policy_documents"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "statement"}},
	}
	// A queue's statement: no effect (Allow), not_actions, not_principals, ...
	queueStatementSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "sid", Required: true}, {Name: "actions", Required: true}, {Name: "resources", Required: true}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "principals"}, {Type: "condition"}},
	}
	principalsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "type", Required: true}, {Name: "identifiers", Required: true}}}
	conditionSchema  = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "test", Required: true}, {Name: "variable", Required: true}, {Name: "values", Required: true}}}
)

// checkQueuePolicy reads the document strictly and evaluates its condition's values
// with the rules.
func checkQueuePolicy(m *module, p queuePolicy) error {
	doc, err := m.one("data", "aws_iam_policy_document", p.name)
	if err != nil {
		return err
	}
	if got := m.attrText(doc, "count"); got != p.count {
		return fmt.Errorf("policy document %s: count = %q, want %s", p.name, got, p.count)
	}
	if got := m.attrText(doc, "source_policy_documents"); got != p.sourceDocs {
		return fmt.Errorf("policy document %s: source_policy_documents = %q, want %q", p.name, got, p.sourceDocs)
	}
	content, diags := doc.Body.Content(policyDocSchema)
	if diags.HasErrors() || len(content.Blocks) != 1 {
		return fmt.Errorf("policy document %s: not one statement (%v)", p.name, diags)
	}
	st, diags := content.Blocks[0].Body.Content(queueStatementSchema)
	if diags.HasErrors() {
		return fmt.Errorf("policy document %s: %w", p.name, diags)
	}
	var errs []error
	if actions, err := literalStrings(st.Attributes["actions"].Expr); err != nil || !slices.Equal(actions, []string{"sqs:SendMessage"}) {
		errs = append(errs, fmt.Errorf("policy document %s: actions = %q (%v), want [sqs:SendMessage]", p.name, actions, err))
	}
	if got := m.text(st.Attributes["resources"].Expr); got != "["+p.resource+"]" {
		errs = append(errs, fmt.Errorf("policy document %s: resources = %s, want [%s]", p.name, got, p.resource))
	}
	var principals, conditions []*hcl.Block
	for _, b := range st.Blocks {
		switch b.Type {
		case "principals":
			principals = append(principals, b)
		case "condition":
			conditions = append(conditions, b)
		}
	}
	if len(principals) != 1 {
		return errors.Join(append(errs, fmt.Errorf("policy document %s: %d principals, want EventBridge alone", p.name, len(principals)))...)
	}
	pr, diags := principals[0].Body.Content(principalsSchema)
	if diags.HasErrors() {
		return errors.Join(append(errs, fmt.Errorf("policy document %s: principals: %w", p.name, diags))...)
	}
	typ, _ := pr.Attributes["type"].Expr.Value(nil)
	ids, err := literalStrings(pr.Attributes["identifiers"].Expr)
	if typ.Type() != cty.String || typ.AsString() != "Service" || err != nil || !slices.Equal(ids, []string{"events.amazonaws.com"}) {
		errs = append(errs, fmt.Errorf("policy document %s: principals %#v %q, want the Service events.amazonaws.com", p.name, typ, ids))
	}
	if len(conditions) != 1 {
		return errors.Join(append(errs, fmt.Errorf("policy document %s: %d conditions, want aws:SourceArn alone", p.name, len(conditions)))...)
	}
	cond, diags := conditions[0].Body.Content(conditionSchema)
	if diags.HasErrors() {
		return errors.Join(append(errs, fmt.Errorf("policy document %s: condition: %w", p.name, diags))...)
	}
	test, _ := cond.Attributes["test"].Expr.Value(nil)
	variable, _ := cond.Attributes["variable"].Expr.Value(nil)
	if test.Type() != cty.String || test.AsString() != "ArnEquals" || variable.Type() != cty.String || variable.AsString() != "aws:SourceArn" {
		errs = append(errs, fmt.Errorf("policy document %s: condition %#v %#v, want ArnEquals aws:SourceArn", p.name, test, variable))
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":                       cty.ObjectVal(map[string]cty.Value{"eventbridge_rules": rules}),
			"aws_cloudwatch_event_rule": ruleResources,
		},
		Functions: moduleFuncs,
	}
	if _, err := evalLocals(m, ctx, "queue_rules"); err != nil {
		return errors.Join(append(errs, err)...)
	}
	v, diags := cond.Attributes["values"].Expr.Value(ctx)
	if got := slices.Sorted(slices.Values(stringList(v))); diags.HasErrors() || !slices.Equal(got, p.sources) {
		errs = append(errs, fmt.Errorf("policy document %s: EventBridge may send from %q (%v), want %q", p.name, got, diags, p.sources))
	}
	return errors.Join(errs...)
}

// ruleCase is a rule, the notifications queue, and what the module makes of them: the
// target's ARN, and whether the rule's preconditions hold.
type ruleCase struct {
	name, key, prefix string
	rule              cty.Value
	queue             string // "" for null
	target            string
	ok                bool
}

var ruleCases = []ruleCase{
	{name: "to the queue", key: "entities", prefix: "p", rule: ruleVal("queue", nil), queue: standardQueue, target: standardQueue, ok: true},
	{name: "to the function", key: "direct", prefix: "p", rule: ruleVal("function", nil), queue: standardQueue, target: aliasARN, ok: true},
	{name: "to the function without a queue", key: "direct", prefix: "p", rule: ruleVal("function", nil), target: aliasARN, ok: true},
	{name: "to no queue", key: "entities", prefix: "p", rule: ruleVal("queue", nil), ok: false},
	{name: "to a FIFO queue", key: "entities", prefix: "p", rule: ruleVal("queue", nil), queue: fifoQueue, target: fifoQueue, ok: false},
	{name: "name too long", key: "entities-of-the-fleet", prefix: strings.Repeat("p", 40), rule: ruleVal("queue", nil), queue: standardQueue, target: standardQueue, ok: false},
}

// checkEventBridge checks the rules, their targets, the queues' policies, the
// function's permission and asynchronous configuration, and the locals that choose
// among them.
func checkEventBridge(m *module) error {
	var errs []error
	for key, attrs := range wantRuleAttrs {
		r, err := m.one("resource", key[0], key[1])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, checkAttrs(m, r, attrs))
	}
	for _, p := range queuePolicies {
		errs = append(errs, checkQueuePolicy(m, p))
	}

	target, err := m.one("resource", "aws_cloudwatch_event_target", "pusher")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if dlq, err := nestedOne(target, "dead_letter_config"); err != nil {
		errs = append(errs, fmt.Errorf("event target: %w", err))
	} else {
		errs = append(errs, checkAttrs(m, dlq, map[string]string{"arn": "aws_sqs_queue.events_dlq[0].arn"}))
	}
	if retry, err := nestedOne(target, "retry_policy"); err != nil {
		errs = append(errs, fmt.Errorf("event target: %w", err))
	} else {
		errs = append(errs, checkAttrs(m, retry, map[string]string{
			"maximum_retry_attempts":       "each.value.maximum_retry_attempts",
			"maximum_event_age_in_seconds": "each.value.maximum_event_age_in_seconds",
		}))
	}
	if cfg, err := m.one("resource", "aws_lambda_function_event_invoke_config", "pusher"); err != nil {
		errs = append(errs, err)
	} else if dest, err := nestedOne(cfg, "destination_config", "on_failure"); err != nil {
		errs = append(errs, fmt.Errorf("function's asynchronous invocations: %w", err))
	} else {
		errs = append(errs, checkAttrs(m, dest, map[string]string{"destination": "aws_sqs_queue.async_failures[0].arn"}))
	}

	rule, err := m.one("resource", "aws_cloudwatch_event_rule", "pusher")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, c := range ruleCases {
		queue := cty.NullVal(cty.String)
		if c.queue != "" {
			queue = cty.StringVal(c.queue)
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{
				"var": cty.ObjectVal(map[string]cty.Value{
					"notifications_queue_arn": queue, "notifications_queue_enabled": cty.BoolVal(c.queue != ""),
				}),
				"each":  cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(c.key), "value": c.rule}),
				"local": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(c.prefix + "-pusher")}),
				"aws_lambda_alias": cty.ObjectVal(map[string]cty.Value{
					"pusher": cty.ObjectVal(map[string]cty.Value{"arn": cty.StringVal(aliasARN)}),
				}),
			},
			Functions: moduleFuncs,
		}
		ok, err := preconditionsHold(rule, ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			continue
		}
		if ok != c.ok {
			errs = append(errs, fmt.Errorf("%s: the rule's preconditions hold %v, want %v", c.name, ok, c.ok))
		}
		if !ok {
			continue // Terraform stops there
		}
		if v, err := eval(target, "arn", ctx); err != nil || v.Type() != cty.String || v.IsNull() || v.AsString() != c.target {
			errs = append(errs, fmt.Errorf("%s: the target is %#v (%v), want %s", c.name, v, err, c.target))
		}
	}

	// The rules by target, and the queue of failed asynchronous invocations (with its
	// grant) exactly when a rule invokes the function or SNS does.
	for _, c := range []struct {
		name            string
		rules           cty.Value
		topic           bool
		queue, function []string
		async           bool
	}{
		{"both", rules, false, []string{"entities"}, []string{"direct"}, true},
		{"to the queue", cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", nil)}), false, []string{"entities"}, nil, false},
		{"to the queue, and a topic", cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", nil)}), true, []string{"entities"}, nil, true},
		{"none", cty.MapValEmpty(ruleType), false, nil, nil, false},
		{"a topic alone", cty.MapValEmpty(ruleType), true, nil, nil, true},
	} {
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{
				"var": cty.ObjectVal(map[string]cty.Value{"eventbridge_rules": c.rules, "notifications_topic_enabled": cty.BoolVal(c.topic)}),
			},
			Functions: moduleFuncs,
		}
		vals, err := evalLocals(m, ctx, "queue_rules", "function_rules", "async_invoked")
		if err != nil {
			errs = append(errs, fmt.Errorf("rules %s: %w", c.name, err))
			continue
		}
		keysOf := func(v cty.Value) []string {
			var out []string
			for k := range v.AsValueMap() {
				out = append(out, k)
			}
			slices.Sort(out)
			return out
		}
		if got := keysOf(vals["queue_rules"]); !slices.Equal(got, c.queue) {
			errs = append(errs, fmt.Errorf("rules %s: local.queue_rules has %q, want %q", c.name, got, c.queue))
		}
		if got := keysOf(vals["function_rules"]); !slices.Equal(got, c.function) {
			errs = append(errs, fmt.Errorf("rules %s: local.function_rules has %q, want %q", c.name, got, c.function))
		}
		if got := vals["async_invoked"]; got.Type() != cty.Bool || !got.IsKnown() || got.True() != c.async {
			errs = append(errs, fmt.Errorf("rules %s: local.async_invoked = %#v, want %v", c.name, got, c.async))
		}
	}
	return errors.Join(errs...)
}

var ruleValidationCases = []struct {
	name  string
	rules cty.Value
	ok    bool
}{
	{"none", cty.MapValEmpty(ruleType), true},
	{"seed 003", cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", nil)}), true},
	{"both targets, a bus of its own", cty.MapVal(map[string]cty.Value{
		"entities": ruleVal("queue", map[string]cty.Value{"event_bus_name": cty.StringVal("domain-events")}),
		"direct":   ruleVal("function", map[string]cty.Value{"maximum_retry_attempts": cty.NumberIntVal(0), "maximum_event_age_in_seconds": cty.NumberIntVal(60)}),
	}), true},
	{"name with a dot", cty.MapVal(map[string]cty.Value{"entities.v2": ruleVal("queue", nil)}), false},
	{"name too long", cty.MapVal(map[string]cty.Value{strings.Repeat("e", 33): ruleVal("queue", nil)}), false},
	{"pattern not JSON", cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", map[string]cty.Value{"event_pattern": cty.StringVal("source = entities")})}), false},
	{"pattern a list", cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", map[string]cty.Value{"event_pattern": cty.StringVal(`["entities"]`)})}), false},
	{"target a bus", cty.MapVal(map[string]cty.Value{"entities": ruleVal("bus", nil)}), false},
	{"retried too often", cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", map[string]cty.Value{"maximum_retry_attempts": cty.NumberIntVal(186)})}), false},
	{"kept too little", cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", map[string]cty.Value{"maximum_event_age_in_seconds": cty.NumberIntVal(59)})}), false},
	{"bus with a blank", cty.MapVal(map[string]cty.Value{"entities": ruleVal("queue", map[string]cty.Value{"event_bus_name": cty.StringVal("domain events")})}), false},
}

// TestEventBridgeRulesValidation evaluates var.eventbridge_rules' validations.
func TestEventBridgeRulesValidation(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ruleValidationCases {
		t.Run(c.name, func(t *testing.T) {
			if got := validationsHold(t, m, "eventbridge_rules", c.rules); got != c.ok {
				t.Errorf("the validations hold %v, want %v", got, c.ok)
			}
		})
	}
}

// ---- the settings of their own ----

// settingsCase is the inputs of settings of their own and the function's environment
// of them.
type settingsCase struct {
	name                 string
	kinesis, eventbridge string // "" for null
	anonymous            bool
	topicParams          []string // nil for null
	env                  map[string]string
}

var settingsCases = []settingsCase{
	{name: "none", env: map[string]string{}},
	{
		name: "seed 002", kinesis: "{topics: [VehicleID]}", anonymous: true, topicParams: []string{"topic", "VehicleID"},
		env: map[string]string{"KINESIS_MAPPING": "{topics: [VehicleID]}", "ANONYMOUS_CONNECTIONS": "true", "TOPIC_PARAMS": "topic,VehicleID"},
	},
	{
		name: "seed 003", eventbridge: "{topics: [detail.entityId], data: detail.message}", anonymous: true,
		env: map[string]string{"EVENTBRIDGE_MAPPING": "{topics: [detail.entityId], data: detail.message}", "ANONYMOUS_CONNECTIONS": "true"},
	},
	{name: "users only, one topic parameter", topicParams: []string{"VehicleID"}, env: map[string]string{"TOPIC_PARAMS": "VehicleID"}},
}

// checkSettings evaluates, for each of settingsCases, the function's environment of the
// settings that are inputs of their own.
func checkSettings(m *module) error {
	var errs []error
	for _, c := range settingsCases {
		str := func(s string) cty.Value {
			if s == "" {
				return cty.NullVal(cty.String)
			}
			return cty.StringVal(s)
		}
		params := cty.NullVal(cty.List(cty.String))
		if c.topicParams != nil {
			var ps []cty.Value
			for _, p := range c.topicParams {
				ps = append(ps, cty.StringVal(p))
			}
			params = cty.ListVal(ps)
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
				"kinesis_mapping": str(c.kinesis), "eventbridge_mapping": str(c.eventbridge),
				"anonymous_connections": cty.BoolVal(c.anonymous), "topic_params": params,
			})},
			Functions: moduleFuncs,
		}
		vals, err := evalLocals(m, ctx, "settings_environment")
		if err != nil {
			errs = append(errs, fmt.Errorf("settings %s: %w", c.name, err))
			continue
		}
		if got := stringMap(vals["settings_environment"]); !reflect.DeepEqual(got, c.env) {
			errs = append(errs, fmt.Errorf("settings %s: the function's environment\n have %v\n want %v", c.name, got, c.env))
		}
	}
	return errors.Join(errs...)
}

// TestEnvironmentValidation evaluates var.environment's validations: the settings of
// their own come from their inputs only.
func TestEnvironmentValidation(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"log level", map[string]string{"LOG_LEVEL": "debug", "IDENTITY_PARAM": "uid"}, true},
		{"Kinesis mapping", map[string]string{"KINESIS_MAPPING": "{topics: [VehicleID]}"}, false},
		{"EventBridge mapping", map[string]string{"EVENTBRIDGE_MAPPING": "{topics: [detail.entityId]}"}, false},
		{"anonymous connections", map[string]string{"ANONYMOUS_CONNECTIONS": "true"}, false},
		{"topic parameters", map[string]string{"TOPIC_PARAMS": "VehicleID"}, false},
		// Lambda's reserved names ("Defined runtime environment variables"), which it
		// refuses at apply; a name that merely contains one is the caller's.
		{"the Region", map[string]string{"AWS_REGION": "eu-west-1"}, false},
		{"the handler", map[string]string{"_HANDLER": "main"}, false},
		{"a name of Lambda's", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "other"}, false},
		{"a name under Lambda's prefix", map[string]string{"AWS_LAMBDA_LOG_FORMAT": "JSON"}, false},
		// The two AWS_LAMBDA_* names the same page lists as not reserved.
		{"a runtime wrapper", map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrap"}, true},
		{".NET's pre-JIT", map[string]string{"AWS_LAMBDA_DOTNET_PREJIT": "ProvisionedConcurrency"}, true},
		{"the role's keys", map[string]string{"AWS_ACCESS_KEY_ID": "AKIA..."}, false},
		{"the task root", map[string]string{"LAMBDA_TASK_ROOT": "/var/task"}, false},
		{"a name like a reserved one", map[string]string{"MY_AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_SQS": "http://x"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
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

// TestStreamChecksCatchChanges edits a copy of the module in ways that would lose or
// replay a stream's records, open a queue to other senders, or drop a setting, and
// expects the checks to see each.
func TestStreamChecksCatchChanges(t *testing.T) {
	cases := []mutation{
		{"no partial batch responses", "kinesis.tf", `function_response_types        = ["ReportBatchItemFailures"]`, ``},
		{"no bisect", "kinesis.tf", `bisect_batch_on_function_error = true`, `bisect_batch_on_function_error = false`},
		{"retried forever", "kinesis.tf", `maximum_retry_attempts         = var.kinesis_stream.maximum_retry_attempts`, `maximum_retry_attempts         = -1`},
		{"records kept forever", "kinesis.tf", `maximum_record_age_in_seconds  = var.kinesis_stream.maximum_record_age_in_seconds`, ``},
		{"failed batches to the poison queue", "kinesis.tf", `destination_arn = aws_sqs_queue.kinesis_dlq[0].arn`, `destination_arn = aws_sqs_queue.poison.arn`},
		{"no on-failure destination", "kinesis.tf", `  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.kinesis_dlq[0].arn
    }
  }
`, ``},
		{"parallelization fixed", "kinesis.tf", `parallelization_factor             = var.kinesis_stream.parallelization_factor`, `parallelization_factor             = 10`},
		{"mapping before its grants", "kinesis.tf", `  depends_on = [aws_iam_role_policy.pusher]
}

# The batches`, `}

# The batches`},
		{"stream always", "kinesis.tf", `kinesis_streams = var.kinesis_stream == null ? [] : [var.kinesis_stream]`, `kinesis_streams = [var.kinesis_stream]`},
		{"any key", "kinesis.tf", `s.kms_key_arn if s.kms_key_arn != null`, `"*"`},
		{"stream written", "iam.tf", `"kinesis:ListShards",`, `"kinesis:ListShards",
        "kinesis:PutRecord",`},
		{"streams listed", "iam.tf", `"kinesis:ListShards",`, `"kinesis:ListShards",
        "kinesis:ListStreams",`},
		{"every stream read", "iam.tf", `      resources = [statement.value.arn]
    }
  }

  # The records of a stream`, `      resources = ["*"]
    }
  }

  # The records of a stream`},
		{"queue open to every rule", "eventbridge.tf", `values   = [for name, rule in aws_cloudwatch_event_rule.pusher : rule.arn if contains(keys(local.queue_rules), name)]`, `values   = [for rule in aws_cloudwatch_event_rule.pusher : rule.arn]`},
		{"queue open to everyone", "eventbridge.tf", `    resources = [var.notifications_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }`, `    resources = [var.notifications_queue_arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }`},
		{"queue open without a condition", "eventbridge.tf", `    resources = [var.notifications_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for name, rule in aws_cloudwatch_event_rule.pusher : rule.arn if contains(keys(local.queue_rules), name)]
    }`, `    resources = [var.notifications_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }`},
		{"queue's other statements dropped", "eventbridge.tf", `source_policy_documents = var.notifications_queue_policy_documents`, `source_policy_documents = []`},
		{"queue policy never written", "eventbridge.tf", `  count = length(local.queue_rules) == 0 ? 0 : 1

  queue_url`, `  count = 0

  queue_url`},
		{"queue policy on the dead-letter queue", "eventbridge.tf", `queue_url = local.notifications_queue_url`, `queue_url = aws_sqs_queue.events_dlq[0].url`},
		{"events not dead-lettered", "eventbridge.tf", `  dead_letter_config {
    arn = aws_sqs_queue.events_dlq[0].arn
  }
`, ``},
		{"every rule to the queue", "eventbridge.tf", `arn            = each.value.target == "queue" ? var.notifications_queue_arn : aws_lambda_alias.pusher.arn`, `arn            = var.notifications_queue_arn`},
		{"rule to the function, not its alias", "eventbridge.tf", `: aws_lambda_alias.pusher.arn`, `: aws_lambda_function.pusher.arn`},
		{"permission of the function, not its alias", "eventbridge.tf", `  qualifier     = aws_lambda_alias.pusher.name
  principal     = "events.amazonaws.com"`, `  principal     = "events.amazonaws.com"`},
		{"target with a role", "eventbridge.tf", `  target_id      = "pusher"`, `  target_id      = "pusher"
  role_arn       = aws_iam_role.pusher.arn`},
		{"rules to a FIFO queue", "eventbridge.tf", ` && !endswith(coalesce(var.notifications_queue_arn, "none"), ".fifo")`, ``},
		{"any rule may invoke", "eventbridge.tf", `source_arn    = aws_cloudwatch_event_rule.pusher[each.key].arn`, `source_arn    = "arn:aws:events:eu-west-1:123456789012:rule/*"`},
		{"permission for every rule", "eventbridge.tf", `  for_each = local.function_rules

  statement_id`, `  for_each = var.eventbridge_rules

  statement_id`},
		{"function's failures dropped", "async.tf", `      destination = aws_sqs_queue.async_failures[0].arn`, `      destination = aws_sqs_queue.poison.arn`},
		{"retries fixed", "async.tf", `maximum_retry_attempts       = var.async_maximum_retry_attempts`, `maximum_retry_attempts       = 2`},
		{"invoke configuration of the function, not its alias", "async.tf", `  qualifier                    = aws_lambda_alias.pusher.name
`, ``},
		{"SNS's failures not kept", "async.tf", `async_invoked = var.notifications_topic_enabled || length(local.function_rules) > 0`, `async_invoked = length(local.function_rules) > 0`},
		{"dead-letter queue open to any rule", "eventbridge.tf", `values   = [for rule in aws_cloudwatch_event_rule.pusher : rule.arn]`, `values   = ["*"]`},
		{"rules split wrongly", "eventbridge.tf", `function_rules = { for name, r in var.eventbridge_rules : name => r if r.target == "function" }`, `function_rules = var.eventbridge_rules`},
		{"failures queue always", "async.tf", `  count = local.async_invoked ? 1 : 0`, `  count = 1`},
		{"setting misspelt", "main.tf", `ANONYMOUS_CONNECTIONS = var.anonymous_connections ? "true" : null`, `ANONYMOUS             = var.anonymous_connections ? "true" : null`},
		{"anonymous always", "main.tf", `ANONYMOUS_CONNECTIONS = var.anonymous_connections ? "true" : null`, `ANONYMOUS_CONNECTIONS = tostring(var.anonymous_connections)`},
		{"topic parameters joined with blanks", "main.tf", `join(",", var.topic_params)`, `join(" ", var.topic_params)`},
		{"mapping not passed on", "main.tf", `    KINESIS_MAPPING       = var.kinesis_mapping
`, ``},
		{"settings dropped", "main.tf", `, local.authorizer_required, local.settings_environment)`, `, local.authorizer_required, {})`},
	}
	caught(t, ".", cases, all(checks), "module")
}
