// Package serve assembles `pusher serve`, the pusher as a long-running service: the
// pipeline of package onaws (DynamoDB store, Management API poster, SQS poison queue)
// fed by an SQS queue and an SNS topic, sharing split broadcasts with the fleet through
// the queue, with Prometheus metrics, /healthz and /readyz on an ops listener. Its
// wiring is BuildServe, in the repository's wire.go.
package serve
