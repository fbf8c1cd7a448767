package authorizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// invoke is the action a policy allows or denies: calling the route.
const invoke = "execute-api:Invoke"

// Allow returns the answer that lets principal call methodArn, with the context API
// Gateway hands on to the connection's routes.
func Allow(methodArn, principal string, context map[string]any) Response {
	return Response{PrincipalID: principal, PolicyDocument: policy("Allow", methodArn), Context: context}
}

// Deny returns the answer that refuses principal methodArn: API Gateway answers the
// client 403.
func Deny(methodArn, principal string) Response {
	return Response{PrincipalID: principal, PolicyDocument: policy("Deny", methodArn)}
}

func policy(effect, resource string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version:   "2012-10-17",
		Statement: []events.IAMPolicyStatement{{Action: []string{invoke}, Effect: effect, Resource: []string{resource}}},
	}
}

// Allows reports whether resp lets its principal call methodArn, as IAM evaluates a
// policy ("Policy evaluation logic", IAM User Guide): some statement allows
// execute-api:Invoke on a resource matching methodArn, and none denies it; an action
// or resource may hold the wildcards '*' and '?'. A response without a principal
// allows nothing: API Gateway refuses it as malformed.
func Allows(resp Response, methodArn string) bool {
	if resp.PrincipalID == "" {
		return false
	}
	allowed := false
	for _, s := range resp.PolicyDocument.Statement {
		if !matchesAny(s.Action, invoke, true) || !matchesAny(s.Resource, methodArn, false) {
			continue
		}
		switch s.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

// matchesAny reports whether s matches one of patterns; fold for an action, which IAM
// matches case-insensitively ("*:invoke" is execute-api:Invoke), not for a resource:
// an ARN's case is exact.
func matchesAny(patterns []string, s string, fold bool) bool {
	if fold {
		s = strings.ToLower(s)
	}
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if wildcard(p, s) {
			return true
		}
	}
	return false
}

// wildcard reports whether s matches p, where '*' matches any run of characters and
// '?' any one, as in IAM's actions and resources.
func wildcard(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcard(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return s == ""
}

// DecodeResponse reads an authorizer function's answer as API Gateway does: a policy
// statement's Action and Resource may each be one string or a list of them.
func DecodeResponse(payload []byte) (Response, error) {
	var raw struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument struct {
			Version   string
			Statement []struct {
				Action, Resource stringOrList
				Effect           string
			}
		} `json:"policyDocument"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Response{}, fmt.Errorf("decode the authorizer's answer: %w", err)
	}
	resp := Response{PrincipalID: raw.PrincipalID, Context: raw.Context}
	resp.PolicyDocument.Version = raw.PolicyDocument.Version
	for _, s := range raw.PolicyDocument.Statement {
		resp.PolicyDocument.Statement = append(resp.PolicyDocument.Statement,
			events.IAMPolicyStatement{Action: s.Action, Effect: s.Effect, Resource: s.Resource})
	}
	return resp, nil
}

// stringOrList is a policy element that IAM takes as one string or a list of them.
type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}
