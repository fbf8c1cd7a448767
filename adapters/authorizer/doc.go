// Package authorizer is the $connect Lambda authorizer of a WebSocket API: who may
// connect, as whom, and to which topics.
//
// API Gateway's WebSocket APIs take only Lambda REQUEST authorizers, and only on
// $connect ("Control access to WebSocket APIs with AWS Lambda REQUEST authorizers",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html).
// Browsers cannot set headers on a WebSocket, so the client sends a JWT in a query
// parameter (wss://HOST/STAGE?token=JWT). Handler verifies it with auth.Connect and
// answers as API Gateway reads an authorizer's answer: an Allow policy for the route's
// methodArn with a context naming the user and the topic patterns the token grants,
// which API Gateway hands on to every route of the connection (the pusher's $connect
// stores the connection under that user, and its subscribe route reads the grants); a
// Deny policy (403) for a genuine token that shows no user; the error "Unauthorized"
// (401) for a missing or bad token; any other error (500) when the signing keys could
// not be fetched. Every refusal is logged with its reason, never the token.
//
// The same Handler runs in the Lambda function deployed as the authorizer
// (PUSHER_ROLE=authorizer) and in the local gateway (`pusher gateway`, `pusher dev`),
// which reads its answer with Allows as API Gateway does.
package authorizer
