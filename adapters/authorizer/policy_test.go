package authorizer_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/authorizer"
)

// The route ARNs of the tests: $connect and $disconnect of API abcdef123's stage default.
const (
	connectArn    = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$connect"
	disconnectArn = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$disconnect"
)

// statement is a policy statement of one action and one resource.
func statement(effect, action, resource string) events.IAMPolicyStatement {
	return events.IAMPolicyStatement{Effect: effect, Action: []string{action}, Resource: []string{resource}}
}

// answer is an authorizer's answer for principal with statements.
func answer(principal string, statements ...events.IAMPolicyStatement) authorizer.Response {
	return authorizer.Response{PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: statements}}
}

// TestAllows: whether an answer lets its principal call $connect, as IAM evaluates its
// policy.
func TestAllows(t *testing.T) {
	const invoke = "execute-api:Invoke"
	cases := []struct {
		name string
		resp authorizer.Response
		want bool
	}{
		{name: "Allow, as Allow writes it", resp: authorizer.Allow(connectArn, "alice", nil), want: true},
		{name: "Deny, as Deny writes it", resp: authorizer.Deny(connectArn, "alice")},
		{name: "Allow of the exact ARN", resp: answer("alice", statement("Allow", invoke, connectArn)), want: true},
		{name: "Allow of every API and region", resp: answer("alice", statement("Allow", invoke, "arn:aws:execute-api:*:*:abcdef123/*")), want: true},
		{name: "Allow of *", resp: answer("alice", statement("Allow", invoke, "*")), want: true},
		{name: "action execute-api:*", resp: answer("alice", statement("Allow", "execute-api:*", connectArn)), want: true},
		{name: "action *", resp: answer("alice", statement("Allow", "*", connectArn)), want: true},
		{name: "action in another case", resp: answer("alice", statement("Allow", "Execute-API:invoke", connectArn)), want: true},
		{name: "action *:invoke", resp: answer("alice", statement("Allow", "*:invoke", connectArn)), want: true},
		{name: "action ? wildcard", resp: answer("alice", statement("Allow", "execute-api:Inv?ke", connectArn)), want: true},
		{name: "resource ? wildcard", resp: answer("alice", statement("Allow", invoke, "arn:aws:execute-api:us-east-1:123456789012:abcdef12?/default/$connect")), want: true},
		{name: "resource ? is one character", resp: answer("alice", statement("Allow", invoke, "arn:aws:execute-api:us-east-1:123456789012:abcdef?/default/$connect"))},
		{name: "another action", resp: answer("alice", statement("Allow", "execute-api:ManageConnections", connectArn))},
		{name: "resource in another case", resp: answer("alice", statement("Allow", invoke, strings.ToUpper(connectArn)))},
		{name: "Allow of $disconnect only", resp: answer("alice", statement("Allow", invoke, disconnectArn))},
		{name: "Allow of another API", resp: answer("alice", statement("Allow", invoke, "arn:aws:execute-api:us-east-1:123456789012:zzzzzz999/default/$connect"))},
		{name: "Allow of another stage", resp: answer("alice", statement("Allow", invoke, "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*"))},
		{name: "Allow of a prefix", resp: answer("alice", statement("Allow", invoke, "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$conn"))},
		{name: "Deny wins over Allow", resp: answer("alice", statement("Allow", invoke, "*"), statement("Deny", invoke, connectArn))},
		{name: "Deny first, then Allow", resp: answer("alice", statement("Deny", "execute-api:*", "arn:aws:execute-api:*"), statement("Allow", invoke, connectArn))},
		{name: "Deny of $disconnect leaves $connect", resp: answer("alice", statement("Allow", invoke, "*"), statement("Deny", invoke, disconnectArn)), want: true},
		{name: "no statement", resp: answer("alice")},
		{name: "an effect IAM does not know", resp: answer("alice", statement("allow", invoke, connectArn))},
		{name: "no principal", resp: answer("", statement("Allow", invoke, connectArn))},
		{name: "one of several resources", resp: answer("alice", events.IAMPolicyStatement{Effect: "Allow", Action: []string{invoke},
			Resource: []string{disconnectArn, connectArn}}), want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := authorizer.Allows(tc.resp, connectArn); got != tc.want {
				t.Fatalf("Allows = %t, want %t (%+v)", got, tc.want, tc.resp.PolicyDocument)
			}
		})
	}
}

// TestAllowDeny: the answers Allow and Deny write, as API Gateway reads them.
func TestAllowDeny(t *testing.T) {
	ctx := map[string]any{"user_id": "alice", "topics": `["order:42"]`}
	allow := authorizer.Allow(connectArn, "alice", ctx)
	b, err := json.Marshal(allow)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	doc, _ := raw["policyDocument"].(map[string]any)
	if raw["principalId"] != "alice" || doc["Version"] != "2012-10-17" || len(doc["Statement"].([]any)) != 1 {
		t.Errorf("Allow = %s, want principalId alice and a policy of Version 2012-10-17 with one statement", b)
	}
	got, err := authorizer.DecodeResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !authorizer.Allows(got, connectArn) || authorizer.Allows(got, disconnectArn) {
		t.Errorf("Allow(%s) read back allows $connect %t, $disconnect %t; want true, false",
			connectArn, authorizer.Allows(got, connectArn), authorizer.Allows(got, disconnectArn))
	}
	if got.Context["user_id"] != "alice" || got.Context["topics"] != `["order:42"]` {
		t.Errorf("context %v, want %v", got.Context, ctx)
	}

	deny := authorizer.Deny(connectArn, "anonymous")
	if deny.PrincipalID != "anonymous" || deny.Context != nil || len(deny.PolicyDocument.Statement) != 1 ||
		deny.PolicyDocument.Statement[0].Effect != "Deny" || !slices.Equal(deny.PolicyDocument.Statement[0].Resource, []string{connectArn}) {
		t.Errorf("Deny = %+v, want one Deny statement of %s and no context", deny, connectArn)
	}
}

// TestDecodeResponse reads answers as an authorizer function may write them: Action and
// Resource each a string or a list.
func TestDecodeResponse(t *testing.T) {
	cases := []struct {
		name          string
		payload       string
		wantErr       bool
		wantPrincipal string
		wantAction    []string
		wantResource  []string
		wantAllows    bool
		wantContext   map[string]any
	}{
		{name: "strings, as AWS's example writes them",
			payload:       `{"principalId":"me","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + connectArn + `"}]},"context":{"stringKey":"stringval","numberKey":123,"booleanKey":true}}`,
			wantPrincipal: "me", wantAction: []string{"execute-api:Invoke"}, wantResource: []string{connectArn}, wantAllows: true,
			wantContext: map[string]any{"stringKey": "stringval", "numberKey": float64(123), "booleanKey": true}},
		{name: "lists",
			payload:       `{"principalId":"me","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + disconnectArn + `","` + connectArn + `"]}]}}`,
			wantPrincipal: "me", wantAction: []string{"execute-api:Invoke"}, wantResource: []string{disconnectArn, connectArn}, wantAllows: true},
		{name: "a Deny",
			payload:       `{"principalId":"me","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Deny","Resource":["` + connectArn + `"]}]}}`,
			wantPrincipal: "me", wantAction: []string{"execute-api:Invoke"}, wantResource: []string{connectArn}},
		{name: "not JSON", payload: `Unauthorized`, wantErr: true},
		{name: "a resource of the wrong type", payload: `{"principalId":"me","policyDocument":{"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":42}]}}`, wantErr: true},
		{name: "a list holding a number", payload: `{"principalId":"me","policyDocument":{"Statement":[{"Action":["execute-api:Invoke",1],"Effect":"Allow","Resource":"*"}]}}`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := authorizer.DecodeResponse([]byte(tc.payload))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("DecodeResponse = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.PrincipalID != tc.wantPrincipal || len(got.PolicyDocument.Statement) != 1 || got.PolicyDocument.Version != "2012-10-17" {
				t.Fatalf("DecodeResponse = %+v, want principal %s and one statement of version 2012-10-17", got, tc.wantPrincipal)
			}
			s := got.PolicyDocument.Statement[0]
			if !slices.Equal(s.Action, tc.wantAction) || !slices.Equal(s.Resource, tc.wantResource) {
				t.Errorf("Action %q Resource %q, want %q %q", s.Action, s.Resource, tc.wantAction, tc.wantResource)
			}
			if authorizer.Allows(got, connectArn) != tc.wantAllows {
				t.Errorf("Allows = %t, want %t", !tc.wantAllows, tc.wantAllows)
			}
			for k, v := range tc.wantContext {
				if got.Context[k] != v {
					t.Errorf("context %s = %#v, want %#v", k, got.Context[k], v)
				}
			}
		})
	}
}
