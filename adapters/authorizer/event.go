package authorizer

import (
	"github.com/aws/aws-lambda-go/events"
)

// Event is the event API Gateway invokes a WebSocket API's REQUEST authorizer with, as
// the example of "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers"
// shows it: the $connect request's headers and query string, the route's methodArn
// (arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/$connect, without an HTTP method),
// and the request context of a WebSocket route (routeKey, eventType CONNECT,
// connectionId, ...). events.APIGatewayCustomAuthorizerRequestTypeRequest has the same
// fields but a REST API's request context, which would lose the connection id.
type Event struct {
	// Type is "REQUEST".
	Type string `json:"type"`
	// MethodArn is the ARN of the $connect route: what an Allow policy allows.
	MethodArn                       string                                        `json:"methodArn"`
	Headers                         map[string]string                             `json:"headers"`
	MultiValueHeaders               map[string][]string                           `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string                             `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string                           `json:"multiValueQueryStringParameters"`
	StageVariables                  map[string]string                             `json:"stageVariables"`
	RequestContext                  events.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
}

// Response is an authorizer's answer: a principal, an IAM policy that allows or denies
// the route, and the context API Gateway hands on to the routes.
type Response = events.APIGatewayCustomAuthorizerResponse
