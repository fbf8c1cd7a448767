// Package serve assembles `pusher serve`, the pusher as a long-running service: the
// pipeline of package onaws (DynamoDB store, Management API poster, SQS poison queue)
// fed by an SQS queue and an SNS topic, sharing split broadcasts with the fleet through
// the queue, with Prometheus metrics, /healthz and /readyz on an ops listener. Its
// wiring is BuildServe, in the repository's wire.go.
//
// Before it receives, Service.Run makes the start-up checks (onaws.Checks, with the
// service's queue and topic): a setting that cannot work stops it with one line naming
// the setting; a transient failure keeps /readyz 503 with the reason while the checks
// are retried with backoff (see Service.awaitChecks). STARTUP_CHECKS=false skips them.
package serve
