package terraform_test

// What a platform team ships the module with: alarms on AWS's own metrics under the
// names and dimensions AWS documents, roles whose names hold across Regions with the
// organisation's path and boundary, an alias every source invokes, and inputs of
// concurrency that Lambda takes.

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// wantAlarms are the module's alarms on one metric (local.metric_alarms, each over
// local.metric_alarm_defaults), by the name after local.name that deploy/README.md
// lists: when it exists, its metric, in its namespace, by the dimension AWS documents
// for it (SQS: QueueName, sqs-available-cloudwatch-metrics.html; Lambda: FunctionName,
// monitoring-metrics-types.html), the statistic that makes "more than threshold" mean
// what its name says, and over how long. The queues' "not empty" alarms are metric
// math (checkQueueAlarms).
var wantAlarms = map[string]map[string]string{
	"poison-expiring": {
		"enabled": "true", "namespace": `"AWS/SQS"`, "metric": `"ApproximateAgeOfOldestMessage"`,
		"dimensions": "{QueueName=aws_sqs_queue.poison.name}", "statistic": `"Maximum"`,
		"threshold": "floor(var.poison_queue.message_retention_seconds/2)", "window": fiveMinutes,
	},
	"requests-waiting": {
		"enabled": "length(local.notifications_queue_arns)>0", "namespace": `"AWS/SQS"`, "metric": `"ApproximateAgeOfOldestMessage"`,
		"dimensions": `{QueueName=var.notifications_queue_enabled?split(":",var.notifications_queue_arn)[5]:null}`,
		"statistic":  `"Maximum"`, "threshold": "var.queue_age_alarm_seconds", "window": threeOfFiveMinutes,
	},
	"errors":               functionAlarm("true", `"Errors"`),
	"throttles":            functionAlarm("true", `"Throttles"`),
	"async-events-dropped": functionAlarm("local.async_invoked", `"AsyncEventsDropped"`),
	// A record that reached neither the async failures queue nor the stream's.
	"destination-delivery-failures": functionAlarm("local.async_invoked||length(local.kinesis_streams)>0", `"DestinationDeliveryFailures"`),
	// IteratorAge is in milliseconds.
	"records-waiting": {
		"enabled": "length(local.kinesis_streams)>0", "namespace": `"AWS/Lambda"`, "metric": `"IteratorAge"`,
		"dimensions": "{FunctionName=aws_lambda_function.pusher.function_name}", "statistic": `"Maximum"`,
		"threshold": "var.iterator_age_alarm_seconds*1000", "window": threeOfFiveMinutes,
	},
}

// The windows of the alarms: one period of five minutes, or 3 of 5 one-minute periods
// for an age, which a blip should not page on.
const (
	fiveMinutes        = "{period=300,evaluation_periods=1,datapoints_to_alarm=null}"
	threeOfFiveMinutes = "{period=60,evaluation_periods=5,datapoints_to_alarm=3}"
)

// functionAlarm is an alarm on the Sum of one of the function's metrics over five
// minutes, when enabled.
func functionAlarm(enabled, metric string) map[string]string {
	return map[string]string{
		"enabled": enabled, "namespace": `"AWS/Lambda"`, "metric": metric,
		"dimensions": "{FunctionName=aws_lambda_function.pusher.function_name}", "statistic": `"Sum"`,
		"threshold": "0", "window": fiveMinutes,
	}
}

// alarmNotifies is what every alarm of the module says: notify alarm_actions and
// ok_actions, above the threshold, no data no alarm.
var alarmNotifies = map[string]string{
	"alarm_actions": "var.alarm_actions", "ok_actions": "var.ok_actions",
	"comparison_operator": `"GreaterThanThreshold"`, "treat_missing_data": `"notBreaching"`,
}

// wantMetricAlarm is the resource of the alarms on one metric: each of
// local.metric_alarms that is enabled, with alarm_actions, named by its key.
var wantMetricAlarm = map[string]string{
	"for_each":   "{forname,alarminlocal.metric_alarms:name=>alarmiflocal.alarms&&alarm.enabled}",
	"alarm_name": `"${local.name}-${each.key}"`, "alarm_description": "each.value.description",
	"namespace": "each.value.namespace", "metric_name": "each.value.metric", "dimensions": "each.value.dimensions",
	"statistic": "each.value.statistic", "threshold": "each.value.threshold", "period": "each.value.window.period",
	"evaluation_periods": "each.value.window.evaluation_periods", "datapoints_to_alarm": "each.value.window.datapoints_to_alarm",
}

// objectItems is the items of an object constructor, by key.
func objectItems(m *module, expr hcl.Expression) (map[string]hclsyntax.Expression, error) {
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, fmt.Errorf("%s is not an object constructor", m.text(expr))
	}
	items := map[string]hclsyntax.Expression{}
	for _, it := range obj.Items {
		items[strings.Trim(m.text(it.KeyExpr), `"`)] = it.ValueExpr
	}
	return items, nil
}

// metricAlarms reads local.metric_alarms, `{ for name, alarm in {...} : name =>
// merge(local.metric_alarm_defaults, alarm) }`: each alarm's arguments' sources, over
// the defaults'.
func metricAlarms(m *module) (map[string]map[string]string, error) {
	expr, ok := m.localExpr("metric_alarms")
	if !ok {
		return nil, errors.New("no local.metric_alarms")
	}
	loop, ok := expr.(*hclsyntax.ForExpr)
	if !ok || loop.KeyExpr == nil || m.text(loop.KeyExpr) != loop.KeyVar || m.text(loop.ValExpr) != "merge(local.metric_alarm_defaults,"+loop.ValVar+")" || loop.CondExpr != nil {
		return nil, fmt.Errorf("local.metric_alarms = %s, want each alarm merged over local.metric_alarm_defaults", m.text(expr))
	}
	defaultsExpr, ok := m.localExpr("metric_alarm_defaults")
	if !ok {
		return nil, errors.New("no local.metric_alarm_defaults")
	}
	defaults, err := objectItems(m, defaultsExpr)
	if err != nil {
		return nil, fmt.Errorf("local.metric_alarm_defaults: %w", err)
	}
	alarms, err := objectItems(m, loop.CollExpr)
	if err != nil {
		return nil, fmt.Errorf("local.metric_alarms: %w", err)
	}
	out := map[string]map[string]string{}
	for name, a := range alarms {
		items, err := objectItems(m, a)
		if err != nil {
			return nil, fmt.Errorf("local.metric_alarms %s: %w", name, err)
		}
		out[name] = map[string]string{}
		for k, v := range defaults {
			out[name][k] = m.text(v)
		}
		for k, v := range items {
			out[name][k] = m.text(v)
		}
	}
	return out, nil
}

// checkAlarms checks the alarms on one metric against wantAlarms, that there is no
// other, that every one notifies alarm_actions and takes no data for no alarm, and
// that alarms exist by the length of alarm_actions, known when planning.
func checkAlarms(m *module) error {
	var errs []error
	if b, err := m.one("resource", "aws_cloudwatch_metric_alarm", "metric"); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, checkAttrs(m, b, alarmNotifies), checkAttrs(m, b, wantMetricAlarm))
	}
	alarms, err := metricAlarms(m)
	if err != nil {
		errs = append(errs, err)
	}
	for name, want := range wantAlarms {
		got, ok := alarms[name]
		if !ok {
			errs = append(errs, fmt.Errorf("alarm %s missing", name))
			continue
		}
		for k, v := range want {
			if got[k] != v {
				errs = append(errs, fmt.Errorf("alarm %s: %s = %q, want %s", name, k, got[k], v))
			}
		}
	}
	for name := range alarms {
		if _, ok := wantAlarms[name]; !ok {
			errs = append(errs, fmt.Errorf("alarm %s is not wanted", name))
		}
	}
	if n := len(m.find("resource", "aws_cloudwatch_metric_alarm")); n != 2 {
		errs = append(errs, fmt.Errorf("%d aws_cloudwatch_metric_alarm resources, want 2 (metric, queue_not_empty): each alarm said once", n))
	}
	if got, _ := m.local("alarms"); got != "length(var.alarm_actions)>0" {
		errs = append(errs, fmt.Errorf("local.alarms = %s, want length(var.alarm_actions)>0", got))
	}
	return errors.Join(errs...)
}

// wantQueueAlarm is the resource of a queue's "not empty" alarm, by the queues of
// local.queue_alarms: metric math, the messages visible and those in flight (received,
// hidden for their visibility timeout), so that an operator listing them does not turn
// it OK.
var wantQueueAlarm = map[string]string{
	"for_each": "local.queue_alarms", "alarm_name": `"${local.name}-${each.key}-not-empty"`,
	"alarm_description": "each.value.description", "threshold": "0", "evaluation_periods": "1",
	"namespace": "", "metric_name": "", "dimensions": "", "statistic": "",
}

// wantQueueMessages is the metric math of the queue alarm: the sum of the queue's
// messages visible and not visible (its dynamic metric_query, by id).
var (
	wantQueueMessages = map[string]string{"id": `"messages"`, "expression": `"visible+not_visible"`, "return_data": "true"}
	wantQueueMetrics  = map[string]string{
		"for_each": `{visible="ApproximateNumberOfMessagesVisible",not_visible="ApproximateNumberOfMessagesNotVisible"}`,
	}
	wantQueueMetric = map[string]string{
		"namespace": `"AWS/SQS"`, "metric_name": "metric_query.value", "dimensions": "{QueueName=each.value.queue}",
		"stat": `"Maximum"`, "period": "300",
	}
)

// checkQueueAlarms checks the queues' "not empty" alarm against wantQueueAlarm, and
// evaluates local.queue_alarms: with alarms, the poison queue and each dead-letter
// queue, by the queue's name; without, none.
func checkQueueAlarms(m *module) error {
	var errs []error
	b, err := m.one("resource", "aws_cloudwatch_metric_alarm", "queue_not_empty")
	if err != nil {
		return err
	}
	errs = append(errs, checkAttrs(m, b, alarmNotifies), checkAttrs(m, b, wantQueueAlarm))
	if qs := nested(b, "metric_query"); len(qs) != 1 {
		errs = append(errs, fmt.Errorf("queue alarm: %d metric_query blocks, want the expression alone", len(qs)))
	} else {
		errs = append(errs, checkAttrs(m, qs[0], wantQueueMessages))
	}
	dyn := nested(b, "dynamic")
	if len(dyn) != 1 || dyn[0].Labels[0] != "metric_query" {
		errs = append(errs, errors.New(`queue alarm: want one dynamic "metric_query"`))
	} else if metric, err := nestedOne(dyn[0], "content", "metric"); err != nil {
		errs = append(errs, fmt.Errorf("queue alarm: %w", err))
	} else {
		content, _ := nestedOne(dyn[0], "content")
		errs = append(errs, checkAttrs(m, dyn[0], wantQueueMetrics), checkAttrs(m, content, map[string]string{"id": "metric_query.key"}),
			checkAttrs(m, metric, wantQueueMetric))
	}
	expr, ok := m.localExpr("queue_alarms")
	if !ok {
		return errors.Join(append(errs, errors.New("no local.queue_alarms"))...)
	}
	dlqs := cty.MapVal(map[string]cty.Value{"async-failures": cty.StringVal("p-pusher-async-failures"), "notifications-dlq": cty.StringVal("p-notifications-dlq")})
	for _, c := range []struct {
		alarms bool
		want   map[string]string
	}{
		{false, map[string]string{}},
		{true, map[string]string{"poison": "p-pusher-poison", "async-failures": "p-pusher-async-failures", "notifications-dlq": "p-notifications-dlq"}},
	} {
		v, diags := expr.Value(&hcl.EvalContext{
			Variables: map[string]cty.Value{
				"local": cty.ObjectVal(map[string]cty.Value{"alarms": cty.BoolVal(c.alarms), "dead_letter_queues": dlqs}),
				"aws_sqs_queue": cty.ObjectVal(map[string]cty.Value{"poison": cty.ObjectVal(map[string]cty.Value{
					"name": cty.StringVal("p-pusher-poison"), "arn": cty.StringVal("arn:aws:sqs:eu-west-1:123456789012:p-pusher-poison"),
				})}),
			},
			Functions: moduleFuncs,
		})
		if diags.HasErrors() {
			errs = append(errs, fmt.Errorf("local.queue_alarms: %w", diags))
			continue
		}
		got := map[string]string{}
		for name, a := range v.AsValueMap() {
			got[name] = a.GetAttr("queue").AsString()
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			errs = append(errs, fmt.Errorf("local.queue_alarms with alarms %v: queues\n have %v\n want %v", c.alarms, got, c.want))
		}
	}
	return errors.Join(errs...)
}

// checkDeadLetterQueues evaluates local.dead_letter_queues: with alarms, every
// dead-letter queue of the module that exists and the caller's, by keys known when
// planning; without, none.
func checkDeadLetterQueues(m *module) error {
	queue := func(name string) cty.Value {
		return cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name)})})
	}
	none := cty.EmptyTupleVal
	var errs []error
	for _, c := range []struct {
		name    string
		actions cty.Value
		async   cty.Value
		kinesis cty.Value
		sns     cty.Value
		callers cty.Value
		want    map[string]string
	}{
		{"no alarms", cty.ListValEmpty(cty.String), queue("p-pusher-async-failures"), none, queue("p-pusher-sns-dlq"), cty.MapValEmpty(cty.String), map[string]string{}},
		{"alarms, no queue", cty.ListVal([]cty.Value{cty.StringVal("arn:aws:sns:eu-west-1:123456789012:oncall")}), none, none, none, cty.MapValEmpty(cty.String), map[string]string{}},
		{"alarms on every queue", cty.ListVal([]cty.Value{cty.UnknownVal(cty.String)}), queue("p-pusher-async-failures"), queue("p-pusher-kinesis-dlq"), queue("p-pusher-sns-dlq"),
			cty.MapVal(map[string]cty.Value{"notifications-dlq": cty.StringVal("p-notifications-dlq")}),
			map[string]string{"async-failures": "p-pusher-async-failures", "kinesis-dlq": "p-pusher-kinesis-dlq", "sns-dlq": "p-pusher-sns-dlq", "notifications-dlq": "p-notifications-dlq"}},
	} {
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{
				"var": cty.ObjectVal(map[string]cty.Value{"alarm_actions": c.actions, "alarm_dead_letter_queues": c.callers}),
				"aws_sqs_queue": cty.ObjectVal(map[string]cty.Value{
					"async_failures": c.async, "kinesis_dlq": c.kinesis, "events_dlq": none, "sns_dlq": c.sns,
				}),
			},
			Functions: moduleFuncs,
		}
		vals, err := evalLocals(m, ctx, "alarms", "dead_letter_queues")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			continue
		}
		if got := stringMap(vals["dead_letter_queues"]); fmt.Sprint(got) != fmt.Sprint(c.want) {
			errs = append(errs, fmt.Errorf("%s: local.dead_letter_queues\n have %v\n want %v", c.name, got, c.want))
		}
	}
	return errors.Join(errs...)
}

// wantRoles is what each role of the module is, besides its grants (checkGrants): named
// with the Region of agma_arn, IAM being global, or made unique by IAM past its 64
// characters; under the organisation's path and permissions boundary.
var wantRoles = map[string]map[string]string{
	"pusher": {
		"name": "local.role_name", "name_prefix": "local.role_name==null?local.role_name_prefix:null",
		"path": "var.role_path", "permissions_boundary": "var.role_permissions_boundary",
	},
	"authorizer": {
		"name": "local.authorizer_role_name", "name_prefix": "local.authorizer_role_name==null?local.authorizer_role_name_prefix:null",
		"path": "var.role_path", "permissions_boundary": "var.role_permissions_boundary",
	},
}

// checkRoleNames checks wantRoles, and evaluates each role's name: the pusher's and the
// authorizer's, of one Region's locals.
func checkRoleNames(m *module) error {
	var errs []error
	for name, want := range wantRoles {
		b, err := m.one("resource", "aws_iam_role", name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkAttrs(m, b, want); err != nil {
			errs = append(errs, fmt.Errorf("role %s: %w", name, err))
		}
	}
	for _, c := range []struct {
		prefix, agma, name, authorizer string // "" for a prefix
	}{
		{"orders", "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/@connections", "orders-pusher-eu-west-1", "orders-pusher-authorizer-eu-west-1"},
		{"orders", "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/@connections", "orders-pusher-us-east-1", "orders-pusher-authorizer-us-east-1"},
		// 40 characters: the pusher's role (62) fits in 64, the authorizer's (73) does not.
		{"a-prefix-of-forty-one-characters-for-the", "arn:aws:execute-api:ap-southeast-2:123456789012:abc123/prod/POST/@connections", "a-prefix-of-forty-one-characters-for-the-pusher-ap-southeast-2", ""},
		{"a-prefix-of-fifty-characters-that-leaves-no-room-xx", "arn:aws:execute-api:ap-southeast-2:123456789012:abc123/prod/POST/@connections", "", ""},
	} {
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
				"prefix": cty.StringVal(c.prefix), "agma_arn": cty.StringVal(c.agma),
			})},
			Functions: moduleFuncs,
		}
		vals, err := evalLocals(m, ctx, "name", "authorizer_name", "role_region", "role_full_name", "role_name", "role_name_prefix",
			"authorizer_role_full_name", "authorizer_role_name", "authorizer_role_name_prefix")
		if err != nil {
			errs = append(errs, fmt.Errorf("role of %s: %w", c.prefix, err))
			continue
		}
		for _, r := range []struct{ role, name string }{{"role", c.name}, {"authorizer_role", c.authorizer}} {
			got, prefix := vals[r.role+"_name"], vals[r.role+"_name_prefix"]
			switch {
			case r.name == "" && !got.IsNull():
				errs = append(errs, fmt.Errorf("%s of %s: named %#v past 64 characters, want a prefix", r.role, c.prefix, got))
			case r.name == "" && len(prefix.AsString()) > 38:
				errs = append(errs, fmt.Errorf("%s of %s: prefix %q longer than IAM's 38", r.role, c.prefix, prefix.AsString()))
			case r.name != "" && (got.IsNull() || got.AsString() != r.name):
				errs = append(errs, fmt.Errorf("%s of %s in %s: named %#v, want %s", r.role, c.prefix, c.agma, got, r.name))
			}
		}
	}
	return errors.Join(errs...)
}

// replacedFirst are the IAM resources made again before the old ones are deleted: a
// role whose name changes (the Region's, from an older module's name) and its policy.
// Destroyed first, the function or the authorizer would run on a deleted role, or
// without its grants, until it is updated, every cold start failing in between.
var replacedFirst = [][2]string{
	{"aws_iam_role", "pusher"}, {"aws_iam_role_policy", "pusher"},
	{"aws_iam_role", "authorizer"}, {"aws_iam_role_policy", "authorizer"},
}

// checkReplacedFirst checks that each of replacedFirst has create_before_destroy, and
// that the functions take their role's ARN, which an in-place update then moves to the
// new role.
func checkReplacedFirst(m *module) error {
	var errs []error
	for _, key := range replacedFirst {
		b, err := m.one("resource", key[0], key[1])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lc, err := nestedOne(b, "lifecycle")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", key[0], key[1], err))
			continue
		}
		errs = append(errs, checkAttrs(m, lc, map[string]string{"create_before_destroy": "true"}))
	}
	for name, role := range map[string]string{"pusher": "aws_iam_role.pusher.arn", "authorizer": "aws_iam_role.authorizer[0].arn"} {
		if fn, err := m.one("resource", "aws_lambda_function", name); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, checkAttrs(m, fn, map[string]string{"role": role}))
		}
	}
	return errors.Join(errs...)
}

// wantSNSDeadLetters is the topic's subscription and its dead-letter queue, as written:
// SNS discards a notification it cannot deliver (a client-side error at once, a
// server-side one after its retries) unless the subscription has one
// (sns-dead-letter-queues.html); the module's own queue, with the topic, kept 14 days,
// SQS-managed keys, which only SNS may send to, from this topic alone.
var wantSNSDeadLetters = map[[2]string]map[string]string{
	{"resource", "aws_sns_topic_subscription.notifications"}: {
		"redrive_policy": "jsonencode({deadLetterTargetArn=aws_sqs_queue.sns_dlq[0].arn})",
		"depends_on":     "[aws_lambda_permission.sns,aws_sqs_queue_policy.sns_dlq]",
	},
	{"resource", "aws_sqs_queue.sns_dlq"}: {
		"count": "length(local.notifications_topic_arns)", "name": `"${local.name}-sns-dlq"`,
		"message_retention_seconds": "1209600", "sqs_managed_sse_enabled": "true", "kms_master_key_id": "",
	},
	{"resource", "aws_sqs_queue_policy.sns_dlq"}: {
		"count": "length(aws_sqs_queue.sns_dlq)", "queue_url": "aws_sqs_queue.sns_dlq[0].url",
		"policy": "data.aws_iam_policy_document.sns_dlq[0].json",
	},
	{"data", "aws_iam_policy_document.sns_dlq"}: {"count": "length(aws_sqs_queue.sns_dlq)", "source_policy_documents": ""},
	{"statement", ""}: {
		"sid": `"NotificationsTopic"`, "actions": `["sqs:SendMessage"]`, "resources": "[aws_sqs_queue.sns_dlq[0].arn]",
	},
	{"principals", ""}: {"type": `"Service"`, "identifiers": `["sns.amazonaws.com"]`},
	{"condition", ""}:  {"test": `"ArnEquals"`, "variable": `"aws:SourceArn"`, "values": "[var.notifications_topic_arn]"},
}

// checkSNSDeadLetters checks wantSNSDeadLetters.
func checkSNSDeadLetters(m *module) error {
	var errs []error
	var doc *hclsyntax.Block
	for key, want := range wantSNSDeadLetters {
		typ, name, ok := strings.Cut(key[1], ".")
		if !ok {
			continue
		}
		b, err := m.one(key[0], typ, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if typ == "aws_iam_policy_document" {
			doc = b
		}
		errs = append(errs, checkAttrs(m, b, want))
	}
	if doc == nil {
		return errors.Join(errs...)
	}
	st, err := nestedOne(doc, "statement")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, checkAttrs(m, st, wantSNSDeadLetters[[2]string{"statement", ""}]))
	for _, typ := range []string{"principals", "condition"} {
		if b, err := nestedOne(st, typ); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, checkAttrs(m, b, wantSNSDeadLetters[[2]string{typ, ""}]))
		}
	}
	return errors.Join(errs...)
}

// wantAlias is the function's alias and what invokes it: every source, so that a
// version moved back is what runs; and the authorizer's alias of the same name, which
// API Gateway invokes, so that both move back together.
var wantAlias = map[[2]string]map[string]string{
	{"aws_lambda_function", "pusher"}: {"publish": "var.publish", "reserved_concurrent_executions": "coalesce(var.reserved_concurrent_executions,-1)"},
	{"aws_lambda_alias", "pusher"}: {
		"name": "var.alias_name", "function_name": "aws_lambda_function.pusher.function_name",
		"function_version": `var.publish?aws_lambda_function.pusher.version:"$LATEST"`,
	},
	{"aws_sns_topic_subscription", "notifications"}: {"count": "length(local.notifications_topic_arns)", "endpoint": "aws_lambda_alias.pusher.arn"},
	{"aws_lambda_permission", "sns"}:                {"count": "length(local.notifications_topic_arns)", "qualifier": "aws_lambda_alias.pusher.name"},
	{"aws_lambda_event_source_mapping", "kinesis"}:  {"function_name": "aws_lambda_alias.pusher.arn"},
	{"aws_lambda_function", "authorizer"}:           {"publish": "var.publish"},
	{"aws_lambda_alias", "authorizer"}: {
		"count": "length(local.authorizers)", "name": "var.alias_name",
		"function_name":    "aws_lambda_function.authorizer[0].function_name",
		"function_version": `var.publish?aws_lambda_function.authorizer[0].version:"$LATEST"`,
	},
	{"aws_apigatewayv2_authorizer", "connect"}: {"authorizer_uri": "aws_lambda_alias.authorizer[0].invoke_arn"},
	{"aws_lambda_permission", "authorizer"}:    {"qualifier": "aws_lambda_alias.authorizer[0].name"},
}

// checkAlias checks wantAlias.
func checkAlias(m *module) error {
	var errs []error
	for key, want := range wantAlias {
		b, err := m.one("resource", key[0], key[1])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkAttrs(m, b, want); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", key[0], key[1], err))
		}
	}
	if got, _ := m.local("notifications_topic_arns"); got != "var.notifications_topic_enabled?[var.notifications_topic_arn]:[]" {
		errs = append(errs, fmt.Errorf("local.notifications_topic_arns = %s, want the topic exactly when enabled", got))
	}
	return errors.Join(errs...)
}

// reservationCase is the sources of the function and its reservation, and whether the
// function's preconditions take them.
type reservationCase struct {
	name     string
	reserved cty.Value // var.reserved_concurrent_executions, null for none
	queue    bool      // var.notifications_queue_enabled
	maximum  int64     // var.maximum_concurrency
	routes   int64     // var.route_concurrency
	stream   cty.Value // var.kinesis_stream
}

// reservationCases hold the reservation to every source at its most at once, whatever
// the sources: the queue's mapping at maximum_concurrency, the stream's at shard_count ×
// parallelization_factor, the routes at route_concurrency
// (services-sqs-scaling.html: never under the mappings' maximum, or Lambda throttles
// their batches, and $connect with them); or none reserved.
var reservationCases = []struct {
	reservationCase
	ok bool
}{
	{reservationCase{"defaults", cty.NumberIntVal(20), true, 10, 10, cty.NullVal(kinesisType)}, true},
	{reservationCase{"queue at 1000", cty.NumberIntVal(1010), true, 1000, 10, cty.NullVal(kinesisType)}, true},
	{reservationCase{"queue, one short", cty.NumberIntVal(19), true, 10, 10, cty.NullVal(kinesisType)}, false},
	{reservationCase{"queue, no room for routes", cty.NumberIntVal(10), true, 10, 10, cty.NullVal(kinesisType)}, false},
	{reservationCase{"unreserved", cty.NullVal(cty.Number), true, 1000, 10, cty.NullVal(kinesisType)}, true},
	// No queue: its maximum takes nothing.
	{reservationCase{"routes alone", cty.NumberIntVal(10), false, 1000, 10, cty.NullVal(kinesisType)}, true},
	{reservationCase{"routes alone, short", cty.NumberIntVal(5), false, 10, 10, cty.NullVal(kinesisType)}, false},
	// A stream of 4 shards, 2 batches each at once: 8 instances.
	{reservationCase{"stream", cty.NumberIntVal(18), false, 10, 10, kinesisVal(map[string]cty.Value{
		"shard_count": cty.NumberIntVal(4), "parallelization_factor": cty.NumberIntVal(2)})}, true},
	{reservationCase{"stream, short", cty.NumberIntVal(17), false, 10, 10, kinesisVal(map[string]cty.Value{
		"shard_count": cty.NumberIntVal(4), "parallelization_factor": cty.NumberIntVal(2)})}, false},
	{reservationCase{"stream of one shard by default", cty.NumberIntVal(11), false, 10, 10, kinesisVal(nil)}, true},
	{reservationCase{"queue and stream", cty.NumberIntVal(28), true, 10, 10, kinesisVal(map[string]cty.Value{
		"shard_count": cty.NumberIntVal(4), "parallelization_factor": cty.NumberIntVal(2)})}, true},
	{reservationCase{"queue and stream, short", cty.NumberIntVal(27), true, 10, 10, kinesisVal(map[string]cty.Value{
		"shard_count": cty.NumberIntVal(4), "parallelization_factor": cty.NumberIntVal(2)})}, false},
	// Made in the same apply: checked once known.
	{reservationCase{"stream's shards unknown", cty.NumberIntVal(11), false, 10, 10, kinesisVal(map[string]cty.Value{
		"shard_count": cty.UnknownVal(cty.Number)})}, true},
}

// checkReservation evaluates the function's preconditions for each of reservationCases
// (the others hold: no split, no topic, no burst). On the function, not a mapping: the
// reservation holds whichever sources exist.
func checkReservation(m *module) error {
	fn, err := m.one("resource", "aws_lambda_function", "pusher")
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range reservationCases {
		queue := cty.NullVal(cty.String)
		if c.queue {
			queue = cty.StringVal(standardQueue)
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
				"reserved_concurrent_executions": c.reserved, "notifications_queue_enabled": cty.BoolVal(c.queue),
				"notifications_queue_arn": queue, "maximum_concurrency": cty.NumberIntVal(c.maximum),
				"route_concurrency": cty.NumberIntVal(c.routes), "kinesis_stream": c.stream,
				"broadcast_split": cty.NullVal(splitType), "notifications_topic_enabled": cty.False,
				"notifications_topic_arn": cty.NullVal(cty.String), "environment": cty.MapValEmpty(cty.String), "post_rate": noRate,
			})},
			Functions: moduleFuncs,
		}
		ok, err := preconditionsHold(fn, ctx)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("reservation, %s: %w", c.name, err))
		case ok != c.ok:
			errs = append(errs, fmt.Errorf("reservation, %s: the function's preconditions hold %v, want %v", c.name, ok, c.ok))
		}
	}
	if mapping, err := m.one("resource", "aws_lambda_event_source_mapping", "notifications"); err == nil {
		if ok, err := preconditionsHold(mapping, &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
				"notifications_queue_arn": cty.StringVal(standardQueue), "batch_size": cty.NumberIntVal(10),
				"maximum_batching_window_in_seconds": cty.NumberIntVal(0),
			})},
			Functions: moduleFuncs,
		}); err != nil || !ok {
			errs = append(errs, fmt.Errorf("the queue's mapping has preconditions beyond its batches (%v): the reservation's is the function's", err))
		}
	}
	return errors.Join(errs...)
}

func TestProduction(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range productionChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(m); err != nil {
				t.Error(err)
			}
		})
	}
}

var productionChecks = []struct {
	name  string
	check func(*module) error
}{
	{"alarms", checkAlarms},
	{"queue alarms", checkQueueAlarms},
	{"dead-letter queues", checkDeadLetterQueues},
	{"role names", checkRoleNames},
	{"alias", checkAlias},
	{"reservation", checkReservation},
	{"roles replaced first", checkReplacedFirst},
	{"SNS's dead letters", checkSNSDeadLetters},
}

// TestConcurrencyValidation evaluates the validations of the inputs of concurrency
// and of asynchronous invocations: Lambda's ranges, and no reservation of 0, which
// would stop every invocation.
func TestConcurrencyValidation(t *testing.T) {
	m, err := loadModule(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		input string
		v     cty.Value
		ok    bool
	}{
		{"maximum_concurrency", cty.NumberIntVal(2), true},
		{"maximum_concurrency", cty.NumberIntVal(1000), true},
		{"maximum_concurrency", cty.NumberIntVal(1), false},
		{"maximum_concurrency", cty.NumberIntVal(1001), false},
		{"maximum_concurrency", cty.NumberFloatVal(2.5), false},
		{"reserved_concurrent_executions", cty.NullVal(cty.Number), true},
		{"reserved_concurrent_executions", cty.NumberIntVal(20), true},
		{"reserved_concurrent_executions", cty.NumberIntVal(0), false},
		{"reserved_concurrent_executions", cty.NumberIntVal(-1), false},
		{"async_maximum_retry_attempts", cty.NumberIntVal(0), true},
		{"async_maximum_retry_attempts", cty.NumberIntVal(3), false},
		{"async_maximum_event_age_in_seconds", cty.NumberIntVal(60), true},
		{"async_maximum_event_age_in_seconds", cty.NumberIntVal(21601), false},
		{"alias_name", cty.StringVal("live"), true},
		{"alias_name", cty.StringVal("42"), false},
		{"kms_key_arns", cty.ListVal([]cty.Value{cty.StringVal(keyARN)}), true},
		{"kms_key_arns", cty.ListVal([]cty.Value{cty.StringVal("alias/orders")}), false},
		{"role_path", cty.StringVal("/service-role/"), true},
		{"role_path", cty.StringVal("service-role"), false},
		{"role_permissions_boundary", cty.StringVal("arn:aws:iam::123456789012:policy/boundary"), true},
		{"role_permissions_boundary", cty.StringVal("boundary"), false},
	} {
		t.Run(fmt.Sprintf("%s %#v", c.input, c.v), func(t *testing.T) {
			if got := validationsHold(t, m, c.input, c.v); got != c.ok {
				t.Errorf("the validations hold %v, want %v", got, c.ok)
			}
		})
	}
}

// TestProductionChecksCatchChanges edits a copy of the module in ways that would
// watch the wrong metric, name roles that collide, or invoke the function around its
// alias, and expects the checks to see each.
func TestProductionChecksCatchChanges(t *testing.T) {
	cases := []mutation{
		{"metric misspelt", "alarms.tf", `metric      = "AsyncEventsDropped"`, `metric      = "AsyncEventDropped"`},
		{"dimension by ARN", "alarms.tf", `dimensions  = { QueueName = aws_sqs_queue.poison.name }`, `dimensions  = { QueueName = aws_sqs_queue.poison.arn }`},
		{"metric math's dimension by ARN", "alarms.tf", `queue       = aws_sqs_queue.poison.name`, `queue       = aws_sqs_queue.poison.arn`},
		{"function's alarms by its ARN", "alarms.tf", `dimensions = { FunctionName = aws_lambda_function.pusher.function_name }`, `dimensions = { FunctionName = aws_lambda_function.pusher.arn }`},
		{"queues' messages in flight not counted", "alarms.tf", `expression  = "visible + not_visible"`, `expression  = "visible"`},
		{"messages in flight read as visible", "alarms.tf", `not_visible = "ApproximateNumberOfMessagesNotVisible"`, `not_visible = "ApproximateNumberOfMessagesVisible"`},
		{"poison queue not watched", "alarms.tf", `{ poison = {`, `{ poison-queue = {`},
		{"no alarm on lost records", "alarms.tf", `destination-delivery-failures = {`, `destination-failures = {`},
		{"lost records watched only with SNS", "alarms.tf", `enabled     = local.async_invoked || length(local.kinesis_streams) > 0`, `enabled     = local.async_invoked`},
		{"iterator age read as seconds", "alarms.tf", `threshold   = var.iterator_age_alarm_seconds * 1000`, `threshold   = var.iterator_age_alarm_seconds`},
		{"iterator age without a stream", "alarms.tf", `enabled     = length(local.kinesis_streams) > 0`, `enabled     = true`},
		{"requests' age paging on a blip", "alarms.tf", `threshold   = var.queue_age_alarm_seconds
      window      = { period = 60, evaluation_periods = 5, datapoints_to_alarm = 3 }`, `threshold   = var.queue_age_alarm_seconds`},
		{"alarms whatever the sources", "alarms.tf", `name => alarm if local.alarms && alarm.enabled }`, `name => alarm if local.alarms }`},
		{"alarm always", "alarms.tf", `alarms = length(var.alarm_actions) > 0`, `alarms = true`},
		{"no throttles alarm", "alarms.tf", `    throttles = {`, `    throttled = {`},
		{"caller's queues ignored", "alarms.tf", `    var.alarm_dead_letter_queues,
`, ``},
		{"async failures not watched", "alarms.tf", `    { for q in aws_sqs_queue.async_failures : "async-failures" => q.name },
`, ``},
		{"role named alike in every Region", "iam.tf", `role_full_name   = "${local.name}-${local.role_region}"`, `role_full_name   = local.name`},
		{"authorizer's role named alike in every Region", "iam.tf", `authorizer_role_full_name   = "${local.authorizer_name}-${local.role_region}"`, `authorizer_role_full_name   = local.authorizer_name`},
		{"authorizer's role of the pusher's name", "authorizer.tf", `name                 = local.authorizer_role_name`, `name                 = local.role_name`},
		{"role destroyed before its replacement", "iam.tf", `  tags = var.common_tags

  lifecycle {
    create_before_destroy = true
  }
}`, `  tags = var.common_tags
}`},
		{"role's policy destroyed before its replacement", "iam.tf", `  policy = data.aws_iam_policy_document.pusher.json

  lifecycle {
    create_before_destroy = true
  }`, `  policy = data.aws_iam_policy_document.pusher.json`},
		{"authorizer's role destroyed before its replacement", "authorizer.tf", `  tags = var.common_tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_iam_role_policy" "authorizer" {`, `  tags = var.common_tags
}

resource "aws_iam_role_policy" "authorizer" {`},
		{"authorizer's policy destroyed before its replacement", "authorizer.tf", `  policy = data.aws_iam_policy_document.authorizer[0].json

  lifecycle {
    create_before_destroy = true
  }`, `  policy = data.aws_iam_policy_document.authorizer[0].json`},
		{"subscription without a dead-letter queue", "sources.tf", `  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.sns_dlq[0].arn })
`, ``},
		{"SNS's dead letters to the async failures queue", "sources.tf", `deadLetterTargetArn = aws_sqs_queue.sns_dlq[0].arn`, `deadLetterTargetArn = aws_sqs_queue.async_failures[0].arn`},
		{"any topic may dead-letter", "sources.tf", `      values   = [var.notifications_topic_arn]`, `      values   = ["*"]`},
		{"anyone may dead-letter", "sources.tf", `      identifiers = ["sns.amazonaws.com"]`, `      identifiers = ["*"]`},
		{"SNS's dead letters not watched", "alarms.tf", `    { for q in aws_sqs_queue.sns_dlq : "sns-dlq" => q.name },
`, ``},
		{"no boundary", "iam.tf", `  permissions_boundary = var.role_permissions_boundary
`, ``},
		{"stream read by the function, not its alias", "kinesis.tf", `function_name                      = aws_lambda_alias.pusher.arn`, `function_name                      = aws_lambda_function.pusher.arn`},
		{"authorizer invoked unqualified", "authorizer.tf", `authorizer_uri   = aws_lambda_alias.authorizer[0].invoke_arn`, `authorizer_uri   = aws_lambda_function.authorizer[0].invoke_arn`},
		{"authorizer's permission unqualified", "authorizer.tf", `  qualifier     = aws_lambda_alias.authorizer[0].name
`, ``},
		{"authorizer never published", "authorizer.tf", `  publish = var.publish
`, ``},
		{"subscription to the function, not its alias", "sources.tf", `  endpoint       = aws_lambda_alias.pusher.arn`, `  endpoint       = aws_lambda_function.pusher.arn`},
		{"never published", "main.tf", `publish = var.publish`, `publish = false`},
		{"reservation without the routes' room", "main.tf", ` + var.route_concurrency, false)`, `, false)`},
		{"reservation without the stream's share", "main.tf", `(var.kinesis_stream == null ? 0 : var.kinesis_stream.shard_count * var.kinesis_stream.parallelization_factor)`, `0`},
		{"stream's shards counted once", "main.tf", `var.kinesis_stream.shard_count * var.kinesis_stream.parallelization_factor`, `var.kinesis_stream.shard_count`},
		{"reservation held to the queue without one", "main.tf", `(var.notifications_queue_enabled ? var.maximum_concurrency : 0)`, `var.maximum_concurrency`},
		{"reservation checked on the queue's mapping alone", "main.tf", `condition     = var.reserved_concurrent_executions == null || try(`, `condition     = !var.notifications_queue_enabled || var.reserved_concurrent_executions == null || try(`},
		{"unreserved", "main.tf", `reserved_concurrent_executions = coalesce(var.reserved_concurrent_executions, -1)`, `reserved_concurrent_executions = -1`},
		{"topic by whether its ARN is null", "main.tf", `notifications_topic_arns = var.notifications_topic_enabled ? [var.notifications_topic_arn] : []`, `notifications_topic_arns = var.notifications_topic_arn == null ? [] : [var.notifications_topic_arn]`},
	}
	caught(t, ".", cases, all(productionChecks), "module")
}
