// Package dynamodb keeps the pusher's connections in a DynamoDB table, keyed by user
// (hash key) and connection (range key), and optionally their topic subscriptions in a
// second one, with aws-sdk-go-v2. Its Store is the connection store of the resolve and
// prune stages (handlers.ConnectionLister, handlers.TopicLister,
// handlers.ConnectionDeleter) and of the $connect / $disconnect and subscribe /
// unsubscribe routes (localgateway.Registry, handlers.Subscriptions), as memory.Store
// is in tests and `pusher dev`.
//
// A connection without a user (ANONYMOUS_CONNECTIONS; its handlers.Connection.UserID
// is "") is stored under the hash key "$anonymous:" + its connection id, since DynamoDB
// refuses an empty key: one partition per connection, so that a storm of $connects
// makes no hot partition. Every read gives it back without a user, every delete
// computes its key from its id, and UserConnections of an id starting with
// handlers.ReservedUserPrefix returns nothing: no users request reaches it. Its record
// and subscriptions keep no user, as they keep none for a connection whose user is not
// known.
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
// A segment task of a split broadcast (handlers.SegmentScanner) reads one segment of a
// parallel Scan, Segment i of TotalSegments n, page by page, with a cursor that names
// its segment. Whether to split is decided on EstimateConnections
// (handlers.ConnectionCounter): a Select COUNT of segment 0 of a parallel Scan of 4096,
// 256, 16 or 1 segments, the first that holds 500 items, times the segments: a few
// thousand items read at most, and as fresh as the Scan it decides on, where
// DescribeTable's ItemCount lags up to six hours.
//
// # Prunes
//
// A connection is judged by the ConnectedAt its read saw, which no later write changes:
// $connect writes a row once, under an id API Gateway never gives again. One known to
// be older than the prune's cutoff is deleted in a BatchWriteItem merged with those of
// concurrent prunes; one known to be younger is kept without a call; one of unknown age
// is deleted alone, on the condition that its row has no connected-at attribute or an
// older one. With a subscriptions table, the connections a prune deletes (known old, or
// passing the condition, which an absent row does) lose their subscriptions too. One
// read from a subscription without a user is addressed as a connection without a user,
// which it is but for a subscription made before its connection's user was known: that
// user's row is then left to the TTL.
//
// # Subscriptions
//
// With Config.SubscriptionsTable set, the Store also keeps which connections follow
// which topics (handlers.TopicLister, handlers.Subscriptions), in a table of its own, so
// that the connections table stays as the Python original made it and a deployment
// without topics needs no new table. Without one, the topic calls answer
// handlers.ErrNoTopics, permanent, and nothing else changes.
//
// The table has one row per subscription: hash key "topic" (S), range key
// "connection_id" (S), and the attributes "user_id" (when known), "connected_at" (epoch
// seconds: the connection's time, or the subscription's when that is not known, so that
// a subscription made during $connect keeps the prune's grace) and the TTL attribute
// when Config.TTL is set (TTL from the subscription). Its global secondary index
// SubscriptionsIndex ("by-connection") has hash key "connection_id" and range key
// "topic", and projects the keys only. So:
//
//   - the subscribers of a topic are one Query of the topic's partition, in pages of
//     PageSize, with no Scan and no read of the connections table: the row carries
//     what a post and a prune need (user, connection, time);
//   - the subscriptions of a connection are one Query of the index, which removing or
//     pruning the connection deletes with BatchWriteItem, 25 at a time: no Scan, and no
//     list of topics kept on the connection's row (which would put an UpdateItem of the
//     connections table on every subscribe, and a 400 KB bound on the list);
//   - each connection has a record in the table, under the reserved topic
//     "$connection:" + its id: its user, time and the set of topics it follows. $connect
//     writes it (PutItem) before the connection's row; a message route and $disconnect,
//     which carry no user without an authorizer, read it by the connection id alone,
//     strongly consistent (GetItem); subscribe adds to its set with an UpdateItem whose
//     condition holds MAX_TOPICS under concurrent subscribes, then writes the rows with
//     the record's user; unsubscribe deletes the row, then takes the topic from the set.
//
// The index costs one more write per subscribe and unsubscribe, and its keys-only rows
// are small. A topic is one partition key: DynamoDB splits a hot partition by its range
// key, so a topic's readers scale, but more than about 1,000 subscribes a second to one
// topic would throttle (docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html).
//
// Every read of a global secondary index is eventually consistent
// (docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html):
// a write reaches the index within a second, AWS says, later under load
// (repost.aws/knowledge-center/dynamodb-missing-table-items-gsi). So $disconnect reads
// the connection's record, strongly consistent, and sees every subscribe that completed;
// the index is only a second source (rows written before records were kept) and the
// prune's. A subscribe may still race a $disconnect outright. Such a row is not left for
// good: the first
// request to its topic posts to the connection, the gateway answers 410, and the prune
// deletes the subscriptions of the connection, stored or not, once its time is older
// than the grace; and the TTL attribute, when set, expires it with its connection.
//
// # Retries
//
// A DynamoDB call is retried in one place only. For the calls the pipeline makes
// (Query, Scan, BatchWriteItem, the prune's DeleteItem, a topic's Query and a prune's
// forgetting of subscriptions) that place is the pipeline,
// which backs off with jitter, counts attempts, parks after the last and resumes a scan
// from its cursor: each is one attempt (oneAttempt), and what a batch leaves unprocessed
// fails only the prunes it holds. Retrying in the SDK too multiplied the attempts (a
// throttled Query went out up to 15 times, a batch delete 6 times more) and hid
// throttling from the pipeline's counts. AddConnection and RemoveConnection, which the
// $connect and $disconnect routes make with nothing above them to retry, and Subscribe,
// Unsubscribe and Topics, the subscribe and unsubscribe routes' calls, keep the
// client's retryer: the SDK's standard one, or what AWS_MAX_ATTEMPTS and AWS_RETRY_MODE
// make it. RemoveConnection also resends, after a backoff, the subscription deletes a
// BatchWriteItem leaves unprocessed.
//
// Errors are wrapped with what was being done; those no retry can pass (a
// ValidationException, a missing table, a denied access) are handlers.PermanentError.
package dynamodb
