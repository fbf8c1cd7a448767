// Package function runs the pusher as an AWS Lambda function: one handler,
// Function.Handle, serves the events a deployment wires to it, translated by
// adapters/lambda, which tells them apart by their shape:
//
//   - SQS (events.SQSEvent): each record is a request; the batch is worked on at once
//     and the response (events.SQSEventResponse) names the records not settled, for SQS
//     to redeliver (the event source mapping needs ReportBatchItemFailures);
//   - SNS (events.SNSEvent): each record is a request; an error asks Lambda to retry;
//   - API Gateway WebSocket routes (events.APIGatewayWebsocketProxyRequest): $connect
//     stores the connection of the user the authorizer or a query parameter names,
//     $disconnect deletes it (lambda.Routes).
//
// The package is the composition: the configuration (Config, from the environment), the
// wiring (Build, in wire.go), the pipeline started once per execution environment, and
// the work of each invocation through it, cut short near the deadline, with its one log
// line and its metrics written at its end.
//
// Deployed with PUSHER_ROLE=authorizer, the same binary is the WebSocket API's $connect
// authorizer instead (Authorizer.Handle, package authorizer): it reads only the
// CONNECT_TOKEN_ settings and answers API Gateway's REQUEST authorizer events.
//
// The pipeline is the one of `pusher serve`, built from the same providers and
// environment variables, and runs for the life of the execution environment: requests
// enter it through pipeline.Pipeline.Process, not through sources.
package function
