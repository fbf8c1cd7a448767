// Package dynamodb keeps the pusher's connections in a DynamoDB table, keyed by user
// (hash key) and connection (range key), with aws-sdk-go-v2. Its Store is the
// connection store of the resolve and prune stages (handlers.ConnectionLister,
// handlers.ConnectionDeleter) and of the $connect / $disconnect routes
// (localgateway.Registry), as memory.Store is in tests and `pusher dev`.
//
// # Reads
//
// A multicast queries each user's partition; a broadcast or an exclusion scans the
// table in ScanSegments parallel segments whose pages a funnel hands over one at a time,
// each segment holding at most the page it waits to hand over, so memory stays flat
// however large the table. The cursor of a scan records where each segment stands as of
// the pages handed over: a scan resumed from it may read a page again, never skip one.
// Like any Scan of a live table, it may miss a connection added during the scan, or
// return one removed during it. Reads are eventually consistent and project the keys and
// connected_at only.
//
// # Prunes
//
// A connection is judged by the ConnectedAt its read saw, which no later write changes:
// $connect writes a row once, under an id API Gateway never gives again. One known to
// be older than the prune's cutoff is deleted in a BatchWriteItem merged with those of
// concurrent prunes; one known to be younger is kept without a call; one of unknown age
// is deleted alone, on the condition that its row has no connected-at attribute or an
// older one.
//
// # Retries
//
// A DynamoDB call is retried in one place only. For the calls the pipeline makes
// (Query, Scan, BatchWriteItem, the prune's DeleteItem) that place is the pipeline,
// which backs off with jitter, counts attempts, parks after the last and resumes a scan
// from its cursor: each is one attempt (oneAttempt), and what a batch leaves unprocessed
// fails only the prunes it holds. Retrying in the SDK too multiplied the attempts (a
// throttled Query went out up to 15 times, a batch delete 6 times more) and hid
// throttling from the pipeline's counts. AddConnection and RemoveConnection, which the
// $connect and $disconnect routes make with nothing above them to retry, keep the
// client's retryer: the SDK's standard one, or what AWS_MAX_ATTEMPTS and AWS_RETRY_MODE
// make it.
//
// Errors are wrapped with what was being done; those no retry can pass (a
// ValidationException, a missing table, a denied access) are handlers.PermanentError.
package dynamodb
