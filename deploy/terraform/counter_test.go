package terraform_test

// The checks of the example deploy/examples/counter, seed 004's counter: the counter's
// role may move and read its table and send to the notifications queue the pusher
// reads, nothing else; its plus, minus, state and $default routes go to the counter's
// function and are two-way, so that the clicker gets the state back, or an error frame
// for another action; the page connects without a
// user, which the pusher accepts; the page's function URL is public, and invokes the
// function only through the URL.

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// counterDir is the example of seed 004's counter.
const counterDir = "../examples/counter"

// counterRole is the counter function's role: its table, the notifications queue, its
// logs.
var counterRole = role{name: "counter", grants: []grant{
	{sid: "CounterTable", actions: []string{"dynamodb:UpdateItem", "dynamodb:GetItem"}, resources: []string{"aws_dynamodb_table.counter.arn"}},
	{sid: "NotificationsQueue", actions: []string{"sqs:SendMessage"}, resources: []string{"aws_sqs_queue.notifications.arn"}},
	{
		sid:       "Logs",
		actions:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
		resources: []string{"aws_cloudwatch_log_group.counter.arn", `"${aws_cloudwatch_log_group.counter.arn}:*"`},
	},
}}

// wantCounterRoutes are the counter's routes, with the statement id of each one's
// permission: its actions, and $default, where API Gateway sends any other message
// (without it, API Gateway answers those with an error of its own, which the page
// cannot read: "Create routes for WebSocket APIs in API Gateway",
// docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html).
var wantCounterRoutes = map[string]string{
	"plus": "AllowPlusRoute", "minus": "AllowMinusRoute", "state": "AllowStateRoute", "$default": "AllowDefaultRoute",
}

// wantCounterEnvironment is the counter function's environment, as written: the table
// its grant is on, the queue its grant is on (the one the pusher reads), the API's URL.
var wantCounterEnvironment = map[string]string{
	"COUNTER_TABLE":           "aws_dynamodb_table.counter.name",
	"NOTIFICATIONS_QUEUE_URL": "aws_sqs_queue.notifications.url",
	"COUNTER_WEBSOCKET_URL":   "local.websocket_url",
	"LOG_LEVEL":               `"info"`,
}

// checkCounterRole checks the counter's grants, that only Lambda may assume its role,
// that its one policy document is all the example grants, and that the function runs
// with it.
func checkCounterRole(m *module) error {
	errs := []error{checkDocument(m, counterRole)}
	for _, res := range m.find("resource") {
		typ, name := res.Labels[0], res.Labels[1]
		switch {
		case typ == "aws_iam_role" && name == "counter":
			if err := checkRole(m, res); err != nil {
				errs = append(errs, fmt.Errorf("counter %w", err))
			}
		case typ == "aws_iam_role_policy" && name == "counter":
			errs = append(errs, checkAttrs(m, res, map[string]string{
				"role": "aws_iam_role.counter.id", "policy": "data.aws_iam_policy_document.counter.json",
			}))
		case strings.HasPrefix(typ, "aws_iam_"):
			errs = append(errs, fmt.Errorf("resource %s.%s: the counter's role gets its grants from one policy document", typ, name))
		}
	}
	return errors.Join(errs...)
}

// checkCounterFunction checks the counter's function (a bootstrap on the OS-only
// runtime, as docs/counter.md builds it, with the role above), its environment, its log
// group, its table (the seed's key), and that the pusher reads the queue it sends to
// and accepts a page that names no user.
func checkCounterFunction(m *module) error {
	fn, err := m.one("resource", "aws_lambda_function", "counter")
	if err != nil {
		return err
	}
	errs := []error{checkAttrs(m, fn, map[string]string{
		"function_name": "local.counter_name",
		"role":          "aws_iam_role.counter.arn",
		"runtime":       `"provided.al2023"`,
		"handler":       `"bootstrap"`,
		"architectures": `["arm64"]`,
		"filename":      "var.counter_zip_path",
	})}
	env, err := nestedOne(fn, "environment")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	got := map[string]string{}
	var items []hclsyntax.ObjectConsItem
	if a, ok := env.Body.Attributes["variables"]; ok {
		if obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
			items = obj.Items
		}
	}
	for _, item := range items {
		key, diags := item.KeyExpr.Value(nil)
		if diags.HasErrors() || key.Type() != cty.String {
			errs = append(errs, fmt.Errorf("counter function: environment key %s is not a name", m.text(item.KeyExpr)))
			continue
		}
		got[key.AsString()] = m.text(item.ValueExpr)
	}
	if !reflect.DeepEqual(got, wantCounterEnvironment) {
		errs = append(errs, fmt.Errorf("counter function: environment\n have %v\n want %v", got, wantCounterEnvironment))
	}
	// From the API, not the stage (whose deployment needs the routes, which need the
	// function): a cycle otherwise.
	if got, _ := m.local("websocket_url"); got != `"${aws_apigatewayv2_api.ws.api_endpoint}/${var.stage_name}"` {
		errs = append(errs, fmt.Errorf("local.websocket_url = %s, want the API's endpoint and the stage's name", got))
	}
	if lg, err := m.one("resource", "aws_cloudwatch_log_group", "counter"); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, checkAttrs(m, lg, map[string]string{"name": `"/aws/lambda/${local.counter_name}"`}))
	}

	if table, err := m.one("resource", "aws_dynamodb_table", "counter"); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, checkAttrs(m, table, map[string]string{"hash_key": `"id"`, "range_key": "", "billing_mode": `"PAY_PER_REQUEST"`}))
	}

	mod, err := m.one("module", "pusher")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	// The pusher reads the queue the counter sends to, by its ARN itself (the module's
	// toggle says it reads one, so the ARN may be unknown when planning).
	errs = append(errs, checkAttrs(m, mod, map[string]string{
		"notifications_queue_enabled": "true",
		"notifications_queue_arn":     "aws_sqs_queue.notifications.arn",
		"anonymous_connections":       "true",
		"lambda_zip_path":             "var.pusher_zip_path",
	}))
	return errors.Join(errs...)
}

// checkCounterRoutes checks the routes: $connect and $disconnect go to the pusher;
// plus, minus, state and $default go to the counter's function, which API Gateway may
// invoke for each, and are two-way, or the clicker never gets the state back (API Gateway passes a
// backend's answer on only through a route response, "$default" being the one key
// WebSocket APIs take:
// docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html);
// and the stage's deployment is redone when they change.
func checkCounterRoutes(m *module) error {
	var errs []error
	routes := map[string]string{}
	if expr, ok := m.localExpr("counter_routes"); ok {
		if v, diags := expr.Value(nil); !diags.HasErrors() && v.Type().IsObjectType() {
			for k, sid := range v.AsValueMap() {
				if sid.Type() == cty.String {
					routes[k] = sid.AsString()
				}
			}
		}
	}
	if !reflect.DeepEqual(routes, wantCounterRoutes) {
		errs = append(errs, fmt.Errorf("local.counter_routes = %v, want %v", routes, wantCounterRoutes))
	}
	for _, c := range []struct {
		typ, name string
		attrs     map[string]string
	}{
		{"aws_apigatewayv2_integration", "counter", map[string]string{
			"integration_type": `"AWS_PROXY"`,
			"integration_uri":  "aws_lambda_function.counter.invoke_arn",
		}},
		{"aws_apigatewayv2_integration", "pusher", map[string]string{
			"integration_type": `"AWS_PROXY"`,
			"integration_uri":  "module.pusher.alias_invoke_arn",
		}},
		{"aws_apigatewayv2_route", "counter", map[string]string{
			"for_each":                            "local.counter_routes",
			"route_key":                           "each.key",
			"target":                              `"integrations/${aws_apigatewayv2_integration.counter.id}"`,
			"route_response_selection_expression": `"$default"`,
		}},
		{"aws_apigatewayv2_route_response", "counter", map[string]string{
			"for_each":           "local.counter_routes",
			"route_id":           "aws_apigatewayv2_route.counter[each.key].id",
			"route_response_key": `"$default"`,
		}},
		{"aws_lambda_permission", "counter", map[string]string{
			"for_each":      "local.counter_routes",
			"statement_id":  "each.value",
			"action":        `"lambda:InvokeFunction"`,
			"function_name": "aws_lambda_function.counter.function_name",
			"principal":     `"apigateway.amazonaws.com"`,
			"source_arn":    `"${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/${each.key}"`,
		}},
		{"aws_apigatewayv2_route", "connection", map[string]string{
			"for_each":  "local.connection_routes",
			"route_key": "each.key",
			"target":    `"integrations/${aws_apigatewayv2_integration.pusher.id}"`,
		}},
	} {
		r, err := m.one("resource", c.typ, c.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, checkAttrs(m, r, c.attrs))
	}
	if got, _ := m.local("connection_routes"); got != `{"$connect"="AllowConnectRoute""$disconnect"="AllowDisconnectRoute"}` {
		errs = append(errs, fmt.Errorf("local.connection_routes = %s, want $connect and $disconnect", got))
	}
	dep, err := m.one("resource", "aws_apigatewayv2_deployment", "ws")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	triggers := m.attrText(dep, "triggers")
	for _, r := range []string{"aws_apigatewayv2_integration.counter,", "aws_apigatewayv2_route.counter,", "aws_apigatewayv2_route_response.counter,"} {
		if !strings.Contains(triggers, r) {
			errs = append(errs, fmt.Errorf("the deployment is not redone when %s changes: triggers = %s", strings.TrimSuffix(r, ","), triggers))
		}
	}
	return errors.Join(errs...)
}

// wantPagePermissions are the function's public permissions, for its URL only: the URL
// of auth type NONE, and the function invoked through it and in no other way ("Control
// access to Lambda function URLs", docs.aws.amazon.com/lambda/latest/dg/urls-auth.html).
var wantPagePermissions = map[string]map[string]string{
	"page_url": {
		"action":                   `"lambda:InvokeFunctionUrl"`,
		"function_name":            "aws_lambda_function.counter.function_name",
		"principal":                `"*"`,
		"function_url_auth_type":   `"NONE"`,
		"invoked_via_function_url": "",
		"source_arn":               "",
	},
	"page_invoke": {
		"action":                   `"lambda:InvokeFunction"`,
		"function_name":            "aws_lambda_function.counter.function_name",
		"principal":                `"*"`,
		"function_url_auth_type":   "",
		"invoked_via_function_url": "true",
		"source_arn":               "",
	},
}

// checkPageURL checks the page's function URL and its permissions, and that nothing
// else is open to everyone.
func checkPageURL(m *module) error {
	var errs []error
	url, err := m.one("resource", "aws_lambda_function_url", "counter")
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, checkAttrs(m, url, map[string]string{
			"function_name": "aws_lambda_function.counter.function_name", "authorization_type": `"NONE"`, "qualifier": "",
		}))
	}
	for _, p := range m.find("resource", "aws_lambda_permission") {
		want, ok := wantPagePermissions[p.Labels[1]]
		switch {
		case ok:
			errs = append(errs, checkAttrs(m, p, want))
		case m.attrText(p, "principal") == `"*"`:
			errs = append(errs, fmt.Errorf("aws_lambda_permission.%s is open to everyone", p.Labels[1]))
		}
	}
	for name := range wantPagePermissions {
		if _, err := m.one("resource", "aws_lambda_permission", name); err != nil {
			errs = append(errs, err)
		}
	}
	if out, err := m.one("output", "page_url"); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, checkAttrs(m, out, map[string]string{"value": "aws_lambda_function_url.counter.function_url"}))
	}
	return errors.Join(errs...)
}

// counterChecks are what the tests hold the counter example to.
var counterChecks = []struct {
	name  string
	check func(*module) error
}{
	{"role", checkCounterRole},
	{"function", checkCounterFunction},
	{"routes", checkCounterRoutes},
	{"page URL", checkPageURL},
	{"routes on the alias", checkRoutesOnAlias},
}

func TestCounterExample(t *testing.T) {
	m, err := loadModule(counterDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counterChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(m); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCounterChecksCatchChanges edits a copy of the example in ways that would grant
// the counter more or less, keep the state from the clicker, send the clicks elsewhere,
// or open the function to everyone, and expects the checks to see each.
func TestCounterChecksCatchChanges(t *testing.T) {
	cases := []mutation{
		{"action added", "counter.tf", `actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]`, `actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem"]`},
		{"action removed", "counter.tf", `actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]`, `actions   = ["dynamodb:UpdateItem"]`},
		{"any table", "counter.tf", `resources = [aws_dynamodb_table.counter.arn]`, `resources = ["*"]`},
		{"the pusher's table", "counter.tf", `resources = [aws_dynamodb_table.counter.arn]`, `resources = [aws_dynamodb_table.connections.arn]`},
		{"another queue", "counter.tf", `resources = [aws_sqs_queue.notifications.arn]`, `resources = [aws_sqs_queue.notifications_dlq.arn]`},
		{"statement added", "counter.tf", `data "aws_iam_policy_document" "counter" {`, `data "aws_iam_policy_document" "counter" {
  statement {
    sid       = "Connections"
    actions   = ["dynamodb:Scan"]
    resources = [aws_dynamodb_table.connections.arn]
  }
`},
		{"managed policy attached", "counter.tf", `resource "aws_iam_role_policy" "counter" {`, `resource "aws_iam_role_policy_attachment" "counter" {
  role       = aws_iam_role.counter.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
}

resource "aws_iam_role_policy" "counter" {`},
		{"trust widened", "counter.tf", `Principal = { Service = "lambda.amazonaws.com" }`, `Principal = { AWS = "*" }`},
		{"runs as another role", "counter.tf", `role             = aws_iam_role.counter.arn`, `role             = module.pusher.role_arn`},
		{"table's name misspelt", "counter.tf", `COUNTER_TABLE           = aws_dynamodb_table.counter.name`, `COUNTER_TABLE_NAME      = aws_dynamodb_table.counter.name`},
		{"broadcasts to the dead letters", "counter.tf", `NOTIFICATIONS_QUEUE_URL = aws_sqs_queue.notifications.url`, `NOTIFICATIONS_QUEUE_URL = aws_sqs_queue.notifications_dlq.url`},
		{"page's URL from the stage", "main.tf", `websocket_url = "${aws_apigatewayv2_api.ws.api_endpoint}/${var.stage_name}"`, `websocket_url = aws_apigatewayv2_stage.ws.invoke_url`},
		{"log group not the function's", "counter.tf", `"/aws/lambda/${local.counter_name}"`, `"/counter/${local.counter_name}"`},
		{"the pusher reads another queue", "main.tf", `notifications_queue_arn     = aws_sqs_queue.notifications.arn`, `notifications_queue_arn     = aws_sqs_queue.notifications_dlq.arn`},
		{"the pusher reads no queue", "main.tf", `notifications_queue_enabled = true`, `notifications_queue_enabled = false`},
		{"pages without a user refused", "main.tf", `anonymous_connections = true`, `anonymous_connections = false`},
		{"seed's key renamed", "table.tf", `hash_key     = "id"`, `hash_key     = "counter_id"`},
		{"one-way route", "websocket.tf", `  target                              = "integrations/${aws_apigatewayv2_integration.counter.id}"
  route_response_selection_expression = "$default"`, `  target                              = "integrations/${aws_apigatewayv2_integration.counter.id}"`},
		{"no route response", "websocket.tf", `resource "aws_apigatewayv2_route_response" "counter" {`, `resource "aws_apigatewayv2_route_response" "gone" {`},
		{"route response key", "websocket.tf", `route_response_key = "$default"`, `route_response_key = "ok"`},
		{"state route dropped", "websocket.tf", `    "state"    = "AllowStateRoute"
`, ``},
		{"$default route dropped", "websocket.tf", `    "$default" = "AllowDefaultRoute"
`, ``},
		{"$default's permission renamed", "websocket.tf", `"$default" = "AllowDefaultRoute"`, `"$default" = "AllowPlusRoute"`},
		{"clicks to the pusher", "websocket.tf", `integration_uri    = aws_lambda_function.counter.invoke_arn`, `integration_uri    = module.pusher.function_invoke_arn`},
		{"$connect to the counter", "websocket.tf", `  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.pusher.id}"`, `  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.counter.id}"`},
		{"permission of any route", "websocket.tf", `  function_name = aws_lambda_function.counter.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/${each.key}"`, `  function_name = aws_lambda_function.counter.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.ws.execution_arn}/*"`},
		{"not redeployed", "websocket.tf", `      aws_apigatewayv2_route_response.counter,
`, ``},
		{"$connect on the function, not its alias", "websocket.tf", `integration_uri = module.pusher.alias_invoke_arn`, `integration_uri = module.pusher.function_invoke_arn`},
		{"$connect's permission unqualified", "websocket.tf", `  qualifier     = module.pusher.alias_name
`, ``},
		{"page behind IAM", "counter.tf", `  authorization_type = "NONE"`, `  authorization_type = "AWS_IAM"`},
		{"invoked by anyone", "counter.tf", `  invoked_via_function_url = true
`, ``},
		{"no InvokeFunction for the URL", "counter.tf", `resource "aws_lambda_permission" "page_invoke" {`, `resource "aws_lambda_permission" "other" {`},
	}
	caught(t, counterDir, cases, all(counterChecks), "example")
}
